import Foundation

/// The fields of one object, written in the order given (sorted when the object closes).
struct JSONFastKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONFastEncoder
    /// The object's index among the encoder's open containers.
    let index: Int
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    func field(_ key: Key, _ write: (JSONFastEncoder) throws -> Void) throws {
        try encoder.beginField(index, key.stringValue)
        try write(encoder)
        encoder.endField(index)
    }

    mutating func encodeNil(forKey key: Key) throws { try field(key) { $0.writeNull() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try field(key) { $0.writeBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { try field(key) { $0.writeString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try field(key) { try $0.writeDouble(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { throw JSONFastPathDeclined() }
    mutating func encode(_ value: Int, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try field(key) { $0.writeInteger(value) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try field(key) { try $0.encodeValue(value) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder.declined = true
        return encoder.container(keyedBy: NestedKey.self)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder.declined = true
        return encoder.unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        encoder.declined = true
        return encoder
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder() }
}

/// The items of one array, in order.
struct JSONFastUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: JSONFastEncoder
    /// The array's index among the encoder's open containers.
    let index: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { encoder.open.indices.contains(index) ? encoder.open[index].items : 0 }

    @inline(__always)
    func item(_ write: (JSONFastEncoder) throws -> Void) throws {
        try encoder.beginItem(index)
        try write(encoder)
    }

    mutating func encodeNil() throws { try item { $0.writeNull() } }
    mutating func encode(_ value: Bool) throws { try item { $0.writeBool(value) } }
    mutating func encode(_ value: String) throws { try item { $0.writeString(value) } }
    mutating func encode(_ value: Double) throws { try item { try $0.writeDouble(value) } }
    mutating func encode(_ value: Float) throws { throw JSONFastPathDeclined() }
    mutating func encode(_ value: Int) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { try item { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { try item { $0.writeInteger(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { try item { try $0.encodeValue(value) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoder.declined = true
        return encoder.container(keyedBy: NestedKey.self)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        encoder.declined = true
        return encoder.unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        encoder.declined = true
        return encoder
    }
}

/// One value written in place (a primitive, or a wrapper's inner value); written once.
struct JSONFastSingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoder: JSONFastEncoder
    /// Where the value goes: anything already written there means it was written before.
    let start: Int
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    func value(_ write: (JSONFastEncoder) throws -> Void) throws {
        guard encoder.out.count == start, encoder.open.count == encoder.valueBase else { throw JSONFastPathDeclined() }
        try write(encoder)
    }

    mutating func encodeNil() throws { try value { $0.writeNull() } }
    mutating func encode(_ value: Bool) throws { try self.value { $0.writeBool(value) } }
    mutating func encode(_ value: String) throws { try self.value { $0.writeString(value) } }
    mutating func encode(_ value: Double) throws { try self.value { try $0.writeDouble(value) } }
    mutating func encode(_ value: Float) throws { throw JSONFastPathDeclined() }
    mutating func encode(_ value: Int) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { try self.value { $0.writeInteger(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { try self.value { try $0.encodeValue(value) } }
}
