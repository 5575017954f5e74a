/// Writes big-endian fields, as Kafka's internal record formats use them (strings as an i16
/// length and UTF-8 bytes).
package struct BigEndianWriter {
    package private(set) var bytes: [UInt8] = []
    package init() {}
    package mutating func int8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    package mutating func int16(_ value: Int16) { append(value) }
    package mutating func int32(_ value: Int32) { append(value) }
    package mutating func int64(_ value: Int64) { append(value) }
    package mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        int16(Int16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        withUnsafeBytes(of: &bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads big-endian fields written by ``BigEndianWriter``; every read returns nil past the end.
package struct BigEndianReader {
    private let bytes: [UInt8]
    private var index = 0
    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    package var isAtEnd: Bool { index == bytes.count }
    package mutating func uint8() -> UInt8? { read(1).map { UInt8(truncatingIfNeeded: $0) } }
    package mutating func int8() -> Int8? { read(1).map { Int8(truncatingIfNeeded: $0) } }
    package mutating func int16() -> Int16? { read(2).map { Int16(truncatingIfNeeded: $0) } }
    package mutating func int32() -> Int32? { read(4).map { Int32(truncatingIfNeeded: $0) } }
    package mutating func int64() -> Int64? { read(8).map { Int64(bitPattern: $0) } }
    package mutating func string() -> String? {
        guard let length = int16(), length >= 0, index + Int(length) <= bytes.count else { return nil }
        defer { index += Int(length) }
        return String(decoding: bytes[index..<index + Int(length)], as: UTF8.self)
    }
    private mutating func read(_ count: Int) -> UInt64? {
        guard index + count <= bytes.count else { return nil }
        var value: UInt64 = 0
        for byte in bytes[index..<index + count] { value = value << 8 | UInt64(byte) }
        index += count
        return value
    }
}
