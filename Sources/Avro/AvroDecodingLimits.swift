/// Bounds on what binary decoding accepts, so hostile bytes are an error and never an
/// allocation of what they claim.
///
/// A length or count is checked against its limit and against the bytes that remain before
/// anything is allocated for it; nesting (records, arrays, maps, unions inside one another)
/// is checked against `depthMax` before the decoder recurses.
public struct AvroDecodingLimits: Sendable, Hashable {
    /// The longest bytes, string or fixed value accepted, in bytes.
    public var bytesLengthMax: Int
    /// The most items an array or entries a map may hold, over all its blocks.
    public var collectionCountMax: Int
    /// The deepest nesting of records, arrays, maps and unions accepted.
    public var depthMax: Int

    /// Creates limits. - Precondition: every limit is positive.
    public init(bytesLengthMax: Int = 16 << 20, collectionCountMax: Int = 1 << 20, depthMax: Int = 64) {
        precondition(bytesLengthMax > 0 && collectionCountMax > 0 && depthMax > 0, "decoding limits must be positive")
        self.bytesLengthMax = bytesLengthMax
        self.collectionCountMax = collectionCountMax
        self.depthMax = depthMax
    }

    /// 16 MiB values, 1,048,576 items per collection, depth 64.
    public static let `default` = AvroDecodingLimits()
}

/// Why bytes could not be decoded (or a value encoded) with a schema, at which byte offset.
public struct AvroCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The bytes ended inside a value.
        case truncated
        /// A varint ran past 10 bytes or beyond 64 bits (or an int beyond 32).
        case invalidVarint
        /// A length or count was negative.
        case negativeLength(Int64)
        /// A length exceeded `AvroDecodingLimits.bytesLengthMax`.
        case lengthOverLimit(Int64, limit: Int)
        /// A collection exceeded `AvroDecodingLimits.collectionCountMax`.
        case countOverLimit(Int64, limit: Int)
        /// Nesting exceeded `AvroDecodingLimits.depthMax`.
        case depthOverLimit(limit: Int)
        /// A union branch index outside the union.
        case unionIndexOutOfRange(Int64, branches: Int)
        /// An enum index outside the symbols.
        case enumIndexOutOfRange(Int64, symbols: Int)
        /// A string that is not valid UTF-8.
        case invalidUTF8
        /// The writer's union branch, or enum symbol, that the reader cannot take.
        case unresolvable(String)
        /// Bytes left over after the value.
        case trailingBytes(Int)
        /// A value that does not fit the schema (encoding or JSON).
        case mismatch(String)
    }

    /// What went wrong.
    public let reason: Reason
    /// The byte offset in the input where it went wrong (0 when encoding).
    public let offset: Int
    /// The field path, when known (`amount`, `lines[].sku`).
    public let path: String

    /// Creates an error.
    public init(_ reason: Reason, offset: Int, path: String = "") {
        self.reason = reason
        self.offset = offset
        self.path = path
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated: what = "the bytes end inside a value"
        case .invalidVarint: what = "invalid varint"
        case .negativeLength(let length): what = "negative length \(length)"
        case .lengthOverLimit(let length, let limit): what = "length \(length) is over the limit of \(limit) bytes"
        case .countOverLimit(let count, let limit): what = "\(count) items are over the limit of \(limit)"
        case .depthOverLimit(let limit): what = "nesting is deeper than the limit of \(limit)"
        case .unionIndexOutOfRange(let index, let branches): what = "union branch \(index) of \(branches)"
        case .enumIndexOutOfRange(let index, let symbols): what = "enum index \(index) of \(symbols) symbols"
        case .invalidUTF8: what = "a string is not valid UTF-8"
        case .unresolvable(let detail): what = "the reader cannot take \(detail)"
        case .trailingBytes(let count): what = "\(count) bytes after the value"
        case .mismatch(let detail): what = detail
        }
        let place = path.isEmpty ? "" : "field '\(path)' "
        return "\(place)at byte \(offset): \(what)"
    }
}
