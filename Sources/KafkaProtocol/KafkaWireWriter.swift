/// Appends Kafka's primitive wire types to a byte array: big-endian fixed-width integers and
/// unsigned varints. Not thread-safe (a mutable buffer).
struct KafkaWireWriter {
    var bytes: [UInt8] = []

    private mutating func bigEndian(_ value: UInt64, _ count: Int) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    mutating func writeInt16(_ value: Int16) { bigEndian(UInt64(UInt16(bitPattern: value)), 2) }
    mutating func writeInt32(_ value: Int32) { bigEndian(UInt64(UInt32(bitPattern: value)), 4) }
    mutating func writeInt64(_ value: Int64) { bigEndian(UInt64(bitPattern: value), 8) }
    mutating func writeUInt16(_ value: UInt16) { bigEndian(UInt64(value), 2) }
    mutating func writeUInt32(_ value: UInt32) { bigEndian(UInt64(value), 4) }
    mutating func writeFloat64(_ value: Double) { bigEndian(value.bitPattern, 8) }
    mutating func writeUUID(_ value: KafkaUUID) {
        bigEndian(value.high, 8)
        bigEndian(value.low, 8)
    }

    /// Kafka's unsigned varint: 7 bits a byte, least significant first.
    mutating func writeUnsignedVarint(_ value: UInt32) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func writeBytes(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }
}
