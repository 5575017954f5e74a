/// One field's value in the dynamic value model the codec decodes into and encodes from.
///
/// Each case is one wire type; the optional cases are null where the field's version allows
/// it. `records` holds a record-batch blob as raw bytes, never parsed here.
/// Thread-safe (a value).
package indirect enum KafkaValue: Sendable, Equatable, CustomStringConvertible {
    case int8(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case uint16(UInt16)
    case uint32(UInt32)
    case float64(Double)
    case bool(Bool)
    case uuid(KafkaUUID)
    case string(String?)
    case bytes([UInt8]?)
    case records([UInt8]?)
    case array([KafkaValue]?)
    case structure(KafkaStruct?)

    /// Whether this is a null string, byte string, records, array or struct.
    package var isNull: Bool {
        switch self {
        case .string(nil), .bytes(nil), .records(nil), .array(nil), .structure(nil): true
        default: false
        }
    }

    /// A short rendering for error messages and test failures.
    package var description: String {
        switch self {
        case .int8(let value): "\(value)"
        case .int16(let value): "\(value)"
        case .int32(let value): "\(value)"
        case .int64(let value): "\(value)"
        case .uint16(let value): "\(value)"
        case .uint32(let value): "\(value)"
        case .float64(let value): "\(value)"
        case .bool(let value): "\(value)"
        case .uuid(let value): value.description
        case .string(let value): value.map { "\"\($0)\"" } ?? "null"
        case .bytes(let value), .records(let value): value.map { "<\($0.count) bytes>" } ?? "null"
        case .array(let value): value.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "null"
        case .structure(let value): value?.description ?? "null"
        }
    }
}

/// Kafka's 128-bit UUID (topic ids, directory ids), as two big-endian halves on the wire.
/// Thread-safe (a value).
package struct KafkaUUID: Sendable, Hashable, CustomStringConvertible {
    /// The most significant 64 bits.
    package var high: UInt64
    /// The least significant 64 bits.
    package var low: UInt64

    /// The all-zero UUID, Kafka's "no id" (`Uuid.ZERO_UUID`).
    package static let zero = KafkaUUID(high: 0, low: 0)

    /// A UUID from its two halves.
    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Kafka's rendering: the 16 bytes in URL-safe base64 without padding (`Uuid.toString`).
    package var description: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        var text = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var group: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { group |= UInt32(byte) << UInt32(16 - 8 * offset) }
            for position in 0...chunk.count { text.append(alphabet[Int((group >> UInt32(18 - 6 * position)) & 0x3F)]) }
            index += 3
        }
        return text
    }
}
