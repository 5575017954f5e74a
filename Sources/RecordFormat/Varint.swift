/// Kafka's variable-length integers: zigzag encoding followed by unsigned LEB128 (7 bits
/// per byte, least significant group first, high bit set on every byte but the last).
///
/// ```
///  value:   0   -1    1   -2    2  …   63  -64   64  -65
///  zigzag:  0    1    2    3    4  …  126  127  128  129
///  bytes:  00   01   02   03   04  …   7E   7F 80 01 81 01
/// ```
///
/// Kafka's `varint` (i32) and `varlong` (i64) share this wire format; one function handles
/// both, and callers that need an Int32 range-check the result. At most 10 bytes.
/// Thread-safe (pure functions).
package enum Varint {
    /// The longest encoding of a 64-bit value, in bytes.
    package static let encodedSizeMax = 10

    /// Appends the zigzag varint encoding of `value` to `bytes`.
    package static func encode(_ value: Int64, into bytes: inout [UInt8]) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(zigzag))
    }

    /// The number of bytes `encode(value, into:)` appends, 1...10.
    package static func encodedSize(_ value: Int64) -> Int {
        let zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        let significantBits = 64 - zigzag.leadingZeroBitCount
        return significantBits == 0 ? 1 : (significantBits + 6) / 7
    }

    /// Decodes one zigzag varint starting at `index` and advances `index` past it.
    ///
    /// Throws `truncated` when the buffer ends mid-value, and `corruptRecords` for encodings
    /// longer than 10 bytes or whose 10th byte carries bits beyond 64.
    package static func decode(_ bytes: UnsafeRawBufferPointer, at index: inout Int) throws(RecordFormatError) -> Int64 {
        guard index >= 0, index < bytes.count else {
            throw RecordFormatError(.truncated, "varint at byte \(index) runs past the end (\(bytes.count) bytes)")
        }
        // Most lengths and deltas in a batch fit one byte.
        let first = bytes[index]
        if first < 0x80 {
            index += 1
            return Int64(first >> 1) ^ (0 &- Int64(first & 1))
        }
        return try decodeMultiByte(bytes, at: &index)
    }

    private static func decodeMultiByte(
        _ bytes: UnsafeRawBufferPointer, at index: inout Int
    ) throws(RecordFormatError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var position = index
        while true {
            guard position < bytes.count else {
                throw RecordFormatError(.truncated, "varint at byte \(index) runs past the end (\(bytes.count) bytes)")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw RecordFormatError(.corruptRecords, "varint at byte \(index) overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        index = position
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }
}
