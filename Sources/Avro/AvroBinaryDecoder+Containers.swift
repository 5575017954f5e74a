/// Converts a decoded integer to the width a Swift type asks for, or throws.
@inline(__always)
func avroExactInteger<T: FixedWidthInteger>(_ value: Int64, _ type: T.Type) throws -> T {
    guard let exact = T(exactly: value) else {
        throw DecodingError.typeMismatch(T.self, DecodingError.Context(codingPath: [], debugDescription: "\(value) does not fit \(T.self)"))
    }
    return exact
}

/// The fields of one record, read from the bytes as the struct asks for them.
///
/// Holds its decoder unmanaged and reads through it as a guaranteed reference, so that copying
/// the container (the standard library's box copies it for every field) and reading a field
/// cost no reference counting.
/// - Precondition: used only while its decoder is alive. A `Decodable` init uses its containers
///   within the decode call, which holds the decoder; the decoder also keeps the container it
///   hands out for each level (`recordContainers`), unretained by the container, so no cycle.
struct AvroRecordDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let unmanagedDecoder: Unmanaged<AvroBinaryDecoder>
    let level: Int

    init(decoder: AvroBinaryDecoder, level: Int) {
        unmanagedDecoder = .passUnretained(decoder)
        self.level = level
    }

    /// Runs `body` with the decoder, borrowed without a retain.
    @inline(__always)
    func withDecoder<V>(_ body: (AvroBinaryDecoder) throws -> V) rethrows -> V {
        try unmanagedDecoder._withUnsafeGuaranteedRef(body)
    }

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { withDecoder { $0.levels[level].plan.readerFieldNames.compactMap { Key(stringValue: $0) } } }

    func contains(_ key: Key) -> Bool { withDecoder { $0.levels[level].plan.slotByName[key.stringValue] != nil } }

    func decodeNil(forKey key: Key) throws -> Bool { try withDecoder { try $0.fieldIsNil(level, key.stringValue) } }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readBool($0) } }
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readString($0) } }
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readDouble($0) } }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readFloat($0) } }
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, Int.self)
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, Int8.self)
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, Int16.self)
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, Int32.self)
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, UInt.self)
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, UInt8.self)
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, UInt16.self)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, UInt32.self)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try avroExactInteger(try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.readInt64($0) } }, UInt64.self)
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try withDecoder { decoder in try decoder.field(level, key.stringValue) { try decoder.decodeValue(T.self, node: $0) } }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not supported by AvroBinaryDecoder; decode a nested type")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not supported by AvroBinaryDecoder; decode a nested type")
    }
    func superDecoder() throws -> any Decoder {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "superDecoder is not supported by AvroBinaryDecoder"))
    }
    func superDecoder(forKey key: Key) throws -> any Decoder { try superDecoder() }
}

/// The entries of one map, scanned once; each value is read where it lies when asked for.
struct AvroMapDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: AvroBinaryDecoder
    let values: AvroReadNode
    let keys: [String]
    let offsetByKey: [String: Int]

    init(decoder: AvroBinaryDecoder, values: AvroReadNode) throws {
        self.decoder = decoder
        self.values = values
        var keys: [String] = []
        var offsetByKey: [String: Int] = [:]
        while true {
            let count = try decoder.reader.readBlockCount(total: keys.count)
            if count == 0 { break }
            for _ in 0..<count {
                let key = try decoder.reader.readString()
                if offsetByKey.updateValue(decoder.reader.position, forKey: key) == nil { keys.append(key) }
                try decoder.reader.skip(values, depth: decoder.depth)
            }
        }
        self.keys = keys
        self.offsetByKey = offsetByKey
    }

    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { offsetByKey[key.stringValue] != nil }

    func at<V>(_ key: Key, _ read: (AvroReadNode) throws -> V) throws -> V {
        guard let offset = offsetByKey[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: [], debugDescription: "the map has no key '\(key.stringValue)'"))
        }
        let end = decoder.reader.position
        decoder.reader.position = offset
        defer { decoder.reader.position = end }
        return try read(values)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try at(key) { try decoder.peekNil($0) } }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try at(key) { try decoder.readBool($0) } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try at(key) { try decoder.readString($0) } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try at(key) { try decoder.readDouble($0) } }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try at(key) { try decoder.readFloat($0) } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try avroExactInteger(try at(key) { try decoder.readInt64($0) }, Int.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try avroExactInteger(try at(key) { try decoder.readInt64($0) }, Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try at(key) { try decoder.readInt64($0) } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try at(key) { try decoder.decodeValue(T.self, node: $0) } }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not supported by AvroBinaryDecoder")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not supported by AvroBinaryDecoder")
    }
    func superDecoder() throws -> any Decoder {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "superDecoder is not supported by AvroBinaryDecoder"))
    }
    func superDecoder(forKey key: Key) throws -> any Decoder { try superDecoder() }
}

/// The items of one array, read in order, block by block.
struct AvroArrayDecodingContainer: UnkeyedDecodingContainer {
    let decoder: AvroBinaryDecoder
    let items: AvroReadNode
    var remainingInBlock: Int
    var currentIndex = 0
    var isAtEnd: Bool
    var count: Int? { nil }
    var codingPath: [any CodingKey] { [] }

    init(decoder: AvroBinaryDecoder, items: AvroReadNode) throws {
        self.decoder = decoder
        self.items = items
        remainingInBlock = try decoder.reader.readBlockCount(total: 0)
        isAtEnd = remainingInBlock == 0
        if isAtEnd { decoder.valueEnd = decoder.reader.position }
    }

    mutating func advance() throws {
        currentIndex += 1
        remainingInBlock -= 1
        if remainingInBlock == 0 {
            remainingInBlock = try decoder.reader.readBlockCount(total: currentIndex)
            if remainingInBlock == 0 {
                isAtEnd = true
                decoder.valueEnd = decoder.reader.position
            }
        }
    }

    func checkNotAtEnd(_ type: Any.Type) throws {
        if isAtEnd {
            throw DecodingError.valueNotFound(type, DecodingError.Context(codingPath: [], debugDescription: "the array has no more items"))
        }
    }

    mutating func decodeNil() throws -> Bool {
        try checkNotAtEnd(Never.self)
        guard try decoder.peekNil(items) else { return false }
        _ = try decoder.unwrapUnion(items)
        try advance()
        return true
    }

    mutating func next<V>(_ read: (AvroBinaryDecoder, AvroReadNode) throws -> V) throws -> V {
        try checkNotAtEnd(V.self)
        let value = try read(decoder, items)
        try advance()
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.readBool($1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next { try $0.readString($1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { try $0.readDouble($1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next { try $0.readFloat($1) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try avroExactInteger(try next { try $0.readInt64($1) }, Int.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try avroExactInteger(try next { try $0.readInt64($1) }, Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.readInt64($1) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next { try $0.decodeValue(T.self, node: $1) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "nested containers are not supported by AvroBinaryDecoder"))
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "nested containers are not supported by AvroBinaryDecoder"))
    }
    mutating func superDecoder() throws -> any Decoder {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "superDecoder is not supported by AvroBinaryDecoder"))
    }
}

/// One value of the current node (a primitive, an enum symbol, or a wrapper's inner value).
struct AvroSingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoder: AvroBinaryDecoder
    let node: AvroReadNode
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { (try? decoder.peekNil(node)) ?? false }

    func read<V>(_ read: (AvroReadNode) throws -> V) throws -> V {
        let value = try read(node)
        decoder.valueEnd = decoder.reader.position
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool { try read { try decoder.readBool($0) } }
    func decode(_ type: String.Type) throws -> String { try read { try decoder.readString($0) } }
    func decode(_ type: Double.Type) throws -> Double { try read { try decoder.readDouble($0) } }
    func decode(_ type: Float.Type) throws -> Float { try read { try decoder.readFloat($0) } }
    func decode(_ type: Int.Type) throws -> Int { try avroExactInteger(try read { try decoder.readInt64($0) }, Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try avroExactInteger(try read { try decoder.readInt64($0) }, Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try avroExactInteger(try read { try decoder.readInt64($0) }, Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try avroExactInteger(try read { try decoder.readInt64($0) }, Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try read { try decoder.readInt64($0) } }
    func decode(_ type: UInt.Type) throws -> UInt { try avroExactInteger(try read { try decoder.readInt64($0) }, UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try avroExactInteger(try read { try decoder.readInt64($0) }, UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try avroExactInteger(try read { try decoder.readInt64($0) }, UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try avroExactInteger(try read { try decoder.readInt64($0) }, UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try avroExactInteger(try read { try decoder.readInt64($0) }, UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try decoder.decodeValue(T.self, node: node)
        decoder.valueEnd = decoder.reader.position
        return value
    }
}

/// The keyed container made for one record level, with the key type it was made for.
struct AvroRecordContainerEntry {
    let keyType: ObjectIdentifier
    /// An `AvroRecordContainerHolder<Key>` for the key type `keyType` names.
    let holder: AnyObject
}

/// Keeps one record level's `KeyedDecodingContainer` for reuse.
final class AvroRecordContainerHolder<Key: CodingKey> {
    let container: KeyedDecodingContainer<Key>

    init(_ container: KeyedDecodingContainer<Key>) { self.container = container }
}

extension AvroBinaryDecoder {
    /// The keyed container for record level `level`: the one made before for that level and key
    /// type (a record container holds only its decoder and level, so it serves every record
    /// decoded at that level), else a new one, kept for the next record.
    @inline(__always)
    func recordContainer<Key: CodingKey>(keyedBy type: Key.Type, level: Int) -> KeyedDecodingContainer<Key> {
        if level < recordContainers.count, let entry = recordContainers[level], entry.keyType == ObjectIdentifier(Key.self) {
            // The entry was made for this key type (checked above), so the cast holds.
            return unsafeDowncast(entry.holder, to: AvroRecordContainerHolder<Key>.self).container
        }
        let container = KeyedDecodingContainer(AvroRecordDecodingContainer<Key>(decoder: self, level: level))
        let entry = AvroRecordContainerEntry(keyType: ObjectIdentifier(Key.self), holder: AvroRecordContainerHolder(container))
        if level < recordContainers.count {
            recordContainers[level] = entry
        } else {
            // Levels below this one that records read by field code opened have no container.
            while recordContainers.count < level { recordContainers.append(nil) }
            recordContainers.append(entry)
        }
        return container
    }
}
