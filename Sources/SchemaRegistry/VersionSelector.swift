/// A version in a request path: a number, or `latest` (also spelled `-1`, as Confluent accepts).
package enum VersionSelector: Sendable, Equatable, CustomStringConvertible {
    case latest
    case number(Int32)

    /// Parses `latest`, `-1` or a version from 1 to 2^31-1.
    /// - Throws: `.invalidVersion` (42202).
    package init(parsing text: String) throws(SchemaRegistryError) {
        if text == "latest" || text == "-1" {
            self = .latest
        } else if let number = Int32(text), number >= 1 {
            self = .number(number)
        } else {
            throw .invalidVersion(text)
        }
    }

    package var description: String {
        switch self {
        case .latest: return "latest"
        case .number(let number): return String(number)
        }
    }
}
