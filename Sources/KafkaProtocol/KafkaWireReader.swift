/// Reads Kafka's primitive wire types from a byte array: big-endian fixed-width integers,
/// unsigned varints, and length-checked byte runs.
///
/// Every read checks the bytes that remain before it reads or allocates, so a length that
/// claims more than the input holds fails with `invalidLength` or `truncated` at once.
/// - Invariant: `position <= end <= bytes.count`.
/// Not thread-safe (a mutable cursor); use one per decode.
struct KafkaWireReader {
    let bytes: [UInt8]
    private(set) var position: Int
    private(set) var end: Int

    init(_ bytes: [UInt8], from start: Int = 0) {
        precondition(start >= 0 && start <= bytes.count)
        self.bytes = bytes
        self.position = start
        self.end = bytes.count
    }

    var remaining: Int { end - position }

    /// Runs `body` with the reader limited to the next `count` bytes, then checks that it
    /// consumed them all (a tagged field's declared size).
    mutating func limited<T>(
        to count: Int, _ body: (inout KafkaWireReader) throws(KafkaProtocolError) -> T
    ) throws(KafkaProtocolError) -> T {
        guard count <= remaining else {
            throw KafkaProtocolError(.invalidLength, "size \(count) but \(remaining) bytes remain", byteOffset: position)
        }
        let outerEnd = end
        let limit = position + count
        end = limit
        let result = try body(&self)
        guard position == limit else {
            throw KafkaProtocolError(
                .taggedFieldSizeMismatch, "value used \(count - (limit - position)) of its \(count) bytes", byteOffset: position)
        }
        end = outerEnd
        return result
    }

    private mutating func take(_ count: Int) throws(KafkaProtocolError) -> Int {
        guard count <= remaining else {
            throw KafkaProtocolError(.truncated, "needs \(count) bytes, \(remaining) remain", byteOffset: position)
        }
        let start = position
        position += count
        return start
    }

    private mutating func bigEndian(_ count: Int) throws(KafkaProtocolError) -> UInt64 {
        let start = try take(count)
        var value: UInt64 = 0
        for index in start..<(start + count) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    mutating func readInt8() throws(KafkaProtocolError) -> Int8 { Int8(truncatingIfNeeded: try bigEndian(1)) }
    mutating func readInt16() throws(KafkaProtocolError) -> Int16 { Int16(truncatingIfNeeded: try bigEndian(2)) }
    mutating func readInt32() throws(KafkaProtocolError) -> Int32 { Int32(truncatingIfNeeded: try bigEndian(4)) }
    mutating func readInt64() throws(KafkaProtocolError) -> Int64 { Int64(bitPattern: try bigEndian(8)) }
    mutating func readUInt16() throws(KafkaProtocolError) -> UInt16 { UInt16(truncatingIfNeeded: try bigEndian(2)) }
    mutating func readUInt32() throws(KafkaProtocolError) -> UInt32 { UInt32(truncatingIfNeeded: try bigEndian(4)) }
    mutating func readFloat64() throws(KafkaProtocolError) -> Double { Double(bitPattern: try bigEndian(8)) }
    mutating func readUUID() throws(KafkaProtocolError) -> KafkaUUID {
        KafkaUUID(high: try bigEndian(8), low: try bigEndian(8))
    }

    /// Kafka's unsigned varint (`ByteUtils.readUnsignedVarint`): at most 5 bytes, 32 bits.
    mutating func readUnsignedVarint() throws(KafkaProtocolError) -> UInt32 {
        let start = position
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            guard position < end else {
                throw KafkaProtocolError(.truncated, "unsigned varint runs past the end", byteOffset: start)
            }
            let byte = bytes[position]
            position += 1
            if shift == 28, byte > 0x0F {
                throw KafkaProtocolError(.invalidVarint, "unsigned varint beyond 32 bits", byteOffset: start)
            }
            value |= UInt32(byte & 0x7F) << UInt32(shift)
            if byte < 0x80 { return value }
        }
        throw KafkaProtocolError(.invalidVarint, "unsigned varint longer than 5 bytes", byteOffset: start)
    }

    /// The next `count` bytes, after checking that they are there.
    mutating func readBytes(_ count: Int) throws(KafkaProtocolError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw KafkaProtocolError(.invalidLength, "length \(count) but \(remaining) bytes remain", byteOffset: position)
        }
        let start = try take(count)
        return Array(bytes[start..<(start + count)])
    }

    /// The next `count` bytes as UTF-8.
    mutating func readString(_ count: Int) throws(KafkaProtocolError) -> String {
        guard count >= 0, count <= remaining else {
            throw KafkaProtocolError(.invalidLength, "string length \(count) but \(remaining) bytes remain", byteOffset: position)
        }
        let start = try take(count)
        guard let text = String(validating: bytes[start..<(start + count)], as: UTF8.self) else {
            throw KafkaProtocolError(.invalidString, "\(count) bytes that are not UTF-8", byteOffset: start)
        }
        return text
    }
}
