/// A decimal as Avro's `decimal` logical type holds it: an unscaled integer and a scale, the
/// value being `unscaled × 10^-scale` (`AvroDecimal(unscaled: 12345, scale: 2)` is 123.45).
///
/// Up to 18 digits (the unscaled value is an `Int64`); a wider decimal is an error when
/// decoded into it, and stays readable as `AvroValue` bytes. Its binary form is the unscaled
/// value in big-endian two's complement, in the fewest bytes (as Java's
/// `BigInteger.toByteArray`). Outside Avro coders it encodes as its decimal text ("123.45").
public struct AvroDecimal: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The unscaled integer.
    public var unscaled: Int64
    /// Digits after the decimal point. - Invariant: `0...18`.
    public var scale: Int

    /// `unscaled × 10^-scale`. - Precondition: `0 <= scale <= 18`.
    public init(unscaled: Int64, scale: Int) {
        precondition((0...18).contains(scale), "an AvroDecimal's scale is 0...18")
        self.unscaled = unscaled
        self.scale = scale
    }

    /// Parses decimal text (`-12.5`, `3`) at `scale` digits, or nil when it is not a number,
    /// has more fraction digits than `scale`, or does not fit.
    public init?(_ text: String, scale: Int) {
        guard (0...18).contains(scale) else { return nil }
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty || parts.count == 2 else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= scale, (whole + fraction).allSatisfy(\.isASCII), (whole + fraction).allSatisfy(\.isNumber) else {
            return nil
        }
        let padded = String(whole + fraction) + String(repeating: "0", count: scale - fraction.count)
        guard let magnitude = Int64(padded.isEmpty ? "0" : padded) else { return nil }
        self.init(unscaled: negative ? -magnitude : magnitude, scale: scale)
    }

    public var description: String {
        let magnitude = unscaled.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return unscaled < 0 ? "-" + digits : digits
    }

    /// This decimal at `scale` digits, or nil when digits would be lost or it would overflow.
    public func rescaled(to scale: Int) -> AvroDecimal? {
        guard (0...18).contains(scale) else { return nil }
        if scale == self.scale { return self }
        if scale > self.scale {
            var value = unscaled
            for _ in 0..<(scale - self.scale) {
                let (product, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = product
            }
            return AvroDecimal(unscaled: value, scale: scale)
        }
        var value = unscaled
        for _ in 0..<(self.scale - scale) {
            guard value % 10 == 0 else { return nil }
            value /= 10
        }
        return AvroDecimal(unscaled: value, scale: scale)
    }

    /// The unscaled value in big-endian two's complement, fewest bytes (at least one).
    public var unscaledBytes: [UInt8] {
        var bytes = withUnsafeBytes(of: unscaled.bigEndian) { Array($0) }
        while bytes.count > 1, (bytes[0] == 0x00 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xFF && bytes[1] & 0x80 != 0) {
            bytes.removeFirst()
        }
        return bytes
    }

    /// A decimal from big-endian two's-complement bytes (any sign extension), or nil when the
    /// value needs more than 64 bits. Empty bytes are zero.
    public init?<Bytes: Collection>(unscaledBytes bytes: Bytes, scale: Int) where Bytes.Element == UInt8 {
        guard (0...18).contains(scale) else { return nil }
        guard let first = bytes.first else {
            self.init(unscaled: 0, scale: scale)
            return
        }
        let negative = first & 0x80 != 0
        let fill: UInt8 = negative ? 0xFF : 0x00
        var index = bytes.startIndex
        let count = bytes.count
        if count > 8 {
            // Longer than 8 bytes fits only as sign extension of the last 8.
            for _ in 0..<(count - 8) {
                guard bytes[index] == fill else { return nil }
                index = bytes.index(after: index)
            }
            guard (bytes[index] & 0x80 != 0) == negative else { return nil }
        }
        var value: UInt64 = negative ? UInt64.max : 0
        while index != bytes.endIndex {
            value = value << 8 | UInt64(bytes[index])
            index = bytes.index(after: index)
        }
        self.init(unscaled: Int64(bitPattern: value), scale: scale)
    }

    public init(from decoder: any Decoder) throws {
        if let avro = decoder as? AvroBinaryDecoder {
            self = try avro.decodeDecimal()
            return
        }
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        let fraction = text.split(separator: ".", maxSplits: 1).dropFirst().first?.count ?? 0
        guard let value = AvroDecimal(text, scale: fraction) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a decimal of up to 18 digits")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        if let avro = encoder as? AvroBinaryEncoder {
            try avro.encodeDecimal(self)
            return
        }
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
