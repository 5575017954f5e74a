/// The fields of one record, written in schema order.
struct AvroRecordEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: AvroBinaryEncoder
    let level: Int
    var codingPath: [any CodingKey] { [] }

    static func field(_ encoder: AvroBinaryEncoder, _ level: Int, _ key: Key, _ write: (AvroBinaryEncoder, AvroReadNode) throws -> Void) throws {
        try encoder.field(level, key.stringValue) { try write(encoder, $0) }
    }

    mutating func encodeNil(forKey key: Key) throws { try Self.field(encoder, level, key) { try $0.writeNull($1) } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try Self.field(encoder, level, key) { try $0.writeBool(value, $1) } }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.writeString(value, $1) }
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.writeDouble(value, $1) }
    }
    mutating func encode(_ value: Float, forKey key: Key) throws { try Self.field(encoder, level, key) { try $0.writeFloat(value, $1) } }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.writeInteger(Int64(value), $1) }
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.writeInteger(Int64(value), $1) }
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.writeInteger(value, $1) }
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try Self.field(encoder, level, key) { try $0.encodeValue(value, node: $1) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<NestedKey>(error: AvroFailingEncodingContainer<NestedKey>.unsupported))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        AvroFailingEncodingContainer<Key>(error: AvroFailingEncodingContainer<Key>.unsupported)
    }
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

/// The entries of one map: each key, then its value; the count is written when it is done.
struct AvroMapEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: AvroBinaryEncoder
    let level: Int
    let values: AvroReadNode
    var codingPath: [any CodingKey] { [] }

    mutating func entry(_ key: Key, _ write: (AvroBinaryEncoder, AvroReadNode) throws -> Void) throws {
        encoder.writer.writeString(key.stringValue)
        try write(encoder, values)
        encoder.countItem(level)
    }

    mutating func encodeNil(forKey key: Key) throws { try entry(key) { try $0.writeNull($1) } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try entry(key) { try $0.writeBool(value, $1) } }
    mutating func encode(_ value: String, forKey key: Key) throws { try entry(key) { try $0.writeString(value, $1) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try entry(key) { try $0.writeDouble(value, $1) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { try entry(key) { try $0.writeInteger(Int64(value), $1) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try entry(key) { try $0.writeInteger(value, $1) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try entry(key) { try $0.encodeValue(value, node: $1) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<NestedKey>(error: AvroFailingEncodingContainer<NestedKey>.unsupported))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        AvroFailingEncodingContainer<Key>(error: AvroFailingEncodingContainer<Key>.unsupported)
    }
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

/// The items of one array; the count is written when it is done.
struct AvroArrayEncodingContainer: UnkeyedEncodingContainer {
    let encoder: AvroBinaryEncoder
    let level: Int
    let items: AvroReadNode
    var count = 0
    var codingPath: [any CodingKey] { [] }

    mutating func item(_ write: (AvroBinaryEncoder, AvroReadNode) throws -> Void) throws {
        try write(encoder, items)
        count += 1
        encoder.countItem(level)
    }

    mutating func encodeNil() throws { try item { try $0.writeNull($1) } }
    mutating func encode(_ value: Bool) throws { try item { try $0.writeBool(value, $1) } }
    mutating func encode(_ value: String) throws { try item { try $0.writeString(value, $1) } }
    mutating func encode(_ value: Double) throws { try item { try $0.writeDouble(value, $1) } }
    mutating func encode(_ value: Float) throws { try item { try $0.writeFloat(value, $1) } }
    mutating func encode(_ value: Int) throws { try item { try $0.writeInteger(Int64(value), $1) } }
    mutating func encode(_ value: Int32) throws { try item { try $0.writeInteger(Int64(value), $1) } }
    mutating func encode(_ value: Int64) throws { try item { try $0.writeInteger(value, $1) } }
    mutating func encode<T: Encodable>(_ value: T) throws { try item { try $0.encodeValue(value, node: $1) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<NestedKey>(error: AvroFailingEncodingContainer<NestedKey>.unsupported))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        AvroFailingEncodingContainer<AvroFieldKey>(error: AvroFailingEncodingContainer<AvroFieldKey>.unsupported)
    }
    mutating func superEncoder() -> any Encoder { encoder }
}

/// One value of the current node.
struct AvroSingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoder: AvroBinaryEncoder
    let node: AvroReadNode
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { try encoder.writeNull(node) }
    mutating func encode(_ value: Bool) throws { try encoder.writeBool(value, node) }
    mutating func encode(_ value: String) throws { try encoder.writeString(value, node) }
    mutating func encode(_ value: Double) throws { try encoder.writeDouble(value, node) }
    mutating func encode(_ value: Float) throws { try encoder.writeFloat(value, node) }
    mutating func encode(_ value: Int) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: Int8) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: Int16) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: Int32) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: Int64) throws { try encoder.writeInteger(value, node) }
    mutating func encode(_ value: UInt8) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: UInt16) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode(_ value: UInt32) throws { try encoder.writeInteger(Int64(value), node) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value, node: node) }
}

/// A container that fails on first use: what the encoder hands out where the schema has no
/// place for a keyed or unkeyed value (the protocol lets these not throw when created).
struct AvroFailingEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol, UnkeyedEncodingContainer {
    static var unsupported: EncodingError {
        EncodingError.invalidValue("a nested container", EncodingError.Context(codingPath: [], debugDescription: "nested containers are not supported by AvroBinaryEncoder; encode a nested type"))
    }

    let error: EncodingError
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    mutating func encodeNil(forKey key: Key) throws { throw error }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw error }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<NestedKey>(error: error))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { AvroFailingEncoder(error: error) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { AvroFailingEncoder(error: error) }
    mutating func encodeNil() throws { throw error }
    mutating func encode<T: Encodable>(_ value: T) throws { throw error }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<NestedKey>(error: error))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
}

/// An encoder whose containers all fail with `error`.
struct AvroFailingEncoder: Encoder {
    let error: EncodingError
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(AvroFailingEncodingContainer<Key>(error: error))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { AvroFailingEncodingContainer<AvroFieldKey>(error: error) }
    func singleValueContainer() -> any SingleValueEncodingContainer { AvroFailingSingleValue(error: error) }
}

struct AvroFailingSingleValue: SingleValueEncodingContainer {
    let error: EncodingError
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws { throw error }
    mutating func encode<T: Encodable>(_ value: T) throws { throw error }
}
