package import StreamCore
import Sluice
import Foundation

/// Where `pipeline replay --from` rewinds every source partition to.
///
/// | text | meaning |
/// |---|---|
/// | `earliest` | each partition's log start offset |
/// | `42` (digits) | offset 42 in every partition, clamped to the partition's `earliest...latest` |
/// | `2025-06-11T12:00:00Z` (ISO 8601, optional fraction and zone offset; the day must exist) | the first offset whose record timestamp is at or after it (the end when none is) |
/// | `1749643200000ms` (digits + `ms`) | the same, as milliseconds since the Unix epoch |
package enum ReplayStart: Sendable, Equatable, CustomStringConvertible {
    /// Each partition's log start offset.
    case earliest
    /// This offset in every partition, clamped to the partition's range.
    case offset(Offset)
    /// The first offset whose record timestamp is at or after this one.
    case timestamp(Timestamp)

    /// Parses the `--from` text; nil when it is none of the forms above.
    package init?(parsing text: String) {
        if text == "earliest" {
            self = .earliest
        } else if !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let offset = Int64(text) {
            self = .offset(Offset(offset))
        } else if text.hasSuffix("ms"), let milliseconds = Int64(text.dropLast(2)), text.dropLast(2).allSatisfy(\.isASCIIDigit) {
            self = .timestamp(Timestamp(milliseconds: milliseconds))
        } else if let milliseconds = ReplayStart.milliseconds(iso8601: text) {
            self = .timestamp(Timestamp(milliseconds: milliseconds))
        } else {
            return nil
        }
    }

    package var description: String {
        switch self {
        case .earliest: return "earliest"
        case .offset(let offset): return "offset \(offset)"
        case .timestamp(let timestamp):
            let date = Date(timeIntervalSince1970: Double(timestamp.milliseconds) / 1000)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return "timestamp \(formatter.string(from: date)) (\(timestamp.milliseconds) ms)"
        }
    }

    /// Through ``ISO8601Time``, so an impossible date (`2025-02-30`) is refused, not rolled over.
    private static func milliseconds(iso8601 text: String) -> Int64? { ISO8601Time.milliseconds(text) }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
