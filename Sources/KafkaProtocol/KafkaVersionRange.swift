/// A range of API versions in Kafka's message-definition syntax: `"none"`, `"3"`, `"3+"`,
/// `"0-7"`. An open range (`"3+"`) contains every later version, including versions newer
/// than any this codec knows (Kafka's rule for flexible versions and header versions).
///
/// - Invariant: `isEmpty` exactly when the range was written `"none"`.
/// Thread-safe (a value).
package struct KafkaVersionRange: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The lowest version in the range.
    package let lowest: Int16
    /// The highest version in the range; `Int16.max` for an open range.
    package let highest: Int16

    /// The empty range (`"none"`).
    package static let none = KafkaVersionRange(lowest: 1, highest: 0)

    /// A range from `lowest` to `highest`, both inclusive.
    package init(lowest: Int16, highest: Int16) {
        self.lowest = lowest
        self.highest = highest
    }

    /// Parses Kafka's syntax; the generated table only holds forms the generator checked.
    ///
    /// - Precondition: `text` is `none`, `N`, `N+` or `N-M` with `N <= M`.
    package init(stringLiteral text: String) {
        if text == "none" {
            self = .none
        } else if text.hasSuffix("+"), let low = Int16(text.dropLast()) {
            self.init(lowest: low, highest: .max)
        } else if let dash = text.firstIndex(of: "-"), let low = Int16(text[..<dash]),
                  let high = Int16(text[text.index(after: dash)...]), low <= high {
            self.init(lowest: low, highest: high)
        } else if let single = Int16(text) {
            self.init(lowest: single, highest: single)
        } else {
            preconditionFailure("not a Kafka version range: \(text)")
        }
    }

    /// Whether the range holds no version.
    package var isEmpty: Bool { lowest > highest }

    /// Whether `version` is in the range.
    package func contains(_ version: Int16) -> Bool { lowest <= version && version <= highest }

    /// Kafka's syntax for the range.
    package var description: String {
        if isEmpty { return "none" }
        if highest == .max { return "\(lowest)+" }
        return lowest == highest ? "\(lowest)" : "\(lowest)-\(highest)"
    }
}
