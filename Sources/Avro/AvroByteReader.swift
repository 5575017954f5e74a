/// Reads Avro's binary primitives (spec, "Binary Encoding") from a byte buffer, checking
/// every length against the bytes left and the limits before allocating for it.
///
/// ```
/// int, long   zig-zag varint, 1-5 / 1-10 bytes, 7 bits each, low bits first
/// float       4 bytes, IEEE 754 little-endian      double  8 bytes, little-endian
/// boolean     1 byte, 0 or 1
/// bytes       long length, then that many bytes    string  same, UTF-8
/// ```
///
/// - Precondition: the buffer outlives the reader (it is used inside `withUnsafeBytes`).
/// - Thread-safety: a value used by one thread.
struct AvroByteReader {
    let buffer: UnsafeRawBufferPointer
    var position: Int
    let limits: AvroDecodingLimits

    init(_ buffer: UnsafeRawBufferPointer, limits: AvroDecodingLimits) {
        self.buffer = buffer
        self.position = 0
        self.limits = limits
    }

    var remaining: Int { buffer.count - position }

    func error(_ reason: AvroCodecError.Reason) -> AvroCodecError {
        AvroCodecError(reason, offset: position)
    }

    @inline(__always)
    mutating func readLong() throws(AvroCodecError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < buffer.count else { throw error(.truncated) }
            let byte = buffer[position]
            position += 1
            if shift == 63, byte > 1 { throw error(.invalidVarint) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 63 { throw error(.invalidVarint) }
        }
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }

    @inline(__always)
    mutating func readInt() throws(AvroCodecError) -> Int32 {
        let start = position
        let value = try readLong()
        guard let int = Int32(exactly: value), position - start <= 5 else {
            position = start
            throw error(.invalidVarint)
        }
        return int
    }

    mutating func readBoolean() throws(AvroCodecError) -> Bool {
        guard position < buffer.count else { throw error(.truncated) }
        let byte = buffer[position]
        guard byte <= 1 else { throw error(.mismatch("boolean byte \(byte) is neither 0 nor 1")) }
        position += 1
        return byte == 1
    }

    mutating func readFloat() throws(AvroCodecError) -> Float {
        guard remaining >= 4 else { throw error(.truncated) }
        let bits = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return Float(bitPattern: bits)
    }

    mutating func readDouble() throws(AvroCodecError) -> Double {
        guard remaining >= 8 else { throw error(.truncated) }
        let bits = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return Double(bitPattern: bits)
    }

    /// A bytes/string length: non-negative, within `bytesLengthMax` and the bytes left.
    @inline(__always)
    mutating func readLength() throws(AvroCodecError) -> Int {
        let start = position
        let length = try readLong()
        guard length >= 0 else {
            position = start
            throw error(.negativeLength(length))
        }
        guard length <= Int64(limits.bytesLengthMax) else {
            position = start
            throw error(.lengthOverLimit(length, limit: limits.bytesLengthMax))
        }
        guard length <= Int64(remaining) else { throw error(.truncated) }
        return Int(length)
    }

    /// `count` raw bytes (a fixed). - Precondition: `count >= 0`.
    mutating func readRaw(_ count: Int) throws(AvroCodecError) -> [UInt8] {
        guard count <= limits.bytesLengthMax else { throw error(.lengthOverLimit(Int64(count), limit: limits.bytesLengthMax)) }
        guard count <= remaining else { throw error(.truncated) }
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[position..<position + count]))
        position += count
        return bytes
    }

    mutating func readBytes() throws(AvroCodecError) -> [UInt8] {
        let length = try readLength()
        return try readRaw(length)
    }

    @inline(__always)
    mutating func readString() throws(AvroCodecError) -> String {
        let length = try readLength()
        let utf8 = UnsafeRawBufferPointer(rebasing: buffer[position..<position + length]).bindMemory(to: UInt8.self)
        let string: String
        if Self.isASCII(utf8) {
            // ASCII is valid UTF-8: no validation pass (the generic validating initializer costs
            // a metadata lookup per call).
            string = String(decoding: utf8, as: UTF8.self)
        } else {
            guard let validated = String(validating: utf8, as: UTF8.self) else { throw error(.invalidUTF8) }
            string = validated
        }
        position += length
        return string
    }

    /// Whether every byte is below 0x80, eight at a time.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        let count = bytes.count
        var high: UInt64 = 0
        while index + 8 <= count {
            high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Skips `count` bytes. - Precondition: `count >= 0`.
    mutating func skip(_ count: Int) throws(AvroCodecError) {
        guard count <= remaining else { throw error(.truncated) }
        position += count
    }

    /// The item count of the next array or map block (0 ends the collection), its byte size
    /// read and dropped when the writer gave one; `total` is the count so far, checked with it
    /// against `collectionCountMax`.
    mutating func readBlockCount(total: Int) throws(AvroCodecError) -> Int {
        let start = position
        var count = try readLong()
        if count < 0 {
            guard count != Int64.min else {
                position = start
                throw error(.negativeLength(count))
            }
            count = -count
            let size = try readLong()
            guard size >= 0 else { throw error(.negativeLength(size)) }
        }
        guard count <= Int64(limits.collectionCountMax - total) else {
            position = start
            throw error(.countOverLimit(Int64(total) + count, limit: limits.collectionCountMax))
        }
        return Int(count)
    }
}

/// Appends Avro's binary primitives to a byte array (the inverse of `AvroByteReader`).
/// A value used by one thread.
public struct AvroByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates a writer with `capacity` bytes reserved.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends a long as a zig-zag varint.
    @inline(__always)
    public mutating func writeLong(_ value: Int64) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(zigzag))
    }

    /// Appends an int as a zig-zag varint.
    @inline(__always)
    public mutating func writeInt(_ value: Int32) { writeLong(Int64(value)) }

    /// Appends a boolean as one byte.
    public mutating func writeBoolean(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Appends a float, little-endian.
    public mutating func writeFloat(_ value: Float) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a double, little-endian.
    public mutating func writeDouble(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a length-prefixed byte sequence.
    @inline(__always)
    public mutating func writeBytes<Bytes: Collection>(_ value: Bytes) where Bytes.Element == UInt8 {
        writeLong(Int64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends a length-prefixed UTF-8 string.
    @inline(__always)
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeLong(Int64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends an unscaled decimal as Avro `bytes`: its length, then the fewest big-endian
    /// two's-complement bytes that hold it (the bytes `AvroDecimal.unscaledBytes` holds),
    /// without making an array.
    @inline(__always)
    public mutating func writeUnscaledDecimal(_ unscaled: Int64) {
        let significantBits = 64 - (unscaled < 0 ? ~unscaled : unscaled).leadingZeroBitCount
        let count = significantBits / 8 + 1
        writeLong(Int64(count))
        var shift = (count - 1) * 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: unscaled >> Int64(shift)))
            shift -= 8
        }
    }

    /// Appends raw bytes (a fixed).
    public mutating func writeRaw<Bytes: Collection>(_ value: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: value)
    }
}
