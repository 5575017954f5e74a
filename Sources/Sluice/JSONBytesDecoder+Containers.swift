import Foundation

/// One object's fields, found when it was opened (`JSONFastDecoder.openObject`).
///
/// - Invariant: the object has no duplicate keys (those decline), so the entry that matches a
///   key is its only one, and checking the entry after the last one found first is exact.
struct JSONFastKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    /// Unretained: the decoder keeps this container for reuse (no cycle), and a `Decodable`
    /// init uses it only within the decode call, which holds the decoder.
    let unmanagedDecoder: Unmanaged<JSONFastDecoder>
    /// The object's index in the decoder's `objects`.
    let object: Int

    init(decoder: JSONFastDecoder, object: Int) {
        unmanagedDecoder = .passUnretained(decoder)
        self.object = object
    }

    var decoder: JSONFastDecoder { unmanagedDecoder.takeUnretainedValue() }

    /// Runs `body` with the decoder, borrowed without a retain.
    @inline(__always)
    func withDecoder<V>(_ body: (JSONFastDecoder) throws -> V) rethrows -> V { try unmanagedDecoder._withUnsafeGuaranteedRef(body) }
    var base: Int { decoder.objects[object].base }
    var count: Int { decoder.objects[object].count }

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] {
        (0..<count).compactMap { offset in
            let entry = decoder.entries[base + offset]
            return Key(stringValue: decoder.scanner.text(entry.keyStart + 1, entry.keyEnd - 1))
        }
    }

    /// Where the value of `key` starts, or nil when the object lacks it; with `advance`, the
    /// object's next guess moves past it.
    @inline(__always)
    func find(_ key: Key, advance: Bool) -> Int? {
        let name = key.stringValue
        return unmanagedDecoder._withUnsafeGuaranteedRef { decoder -> Int? in
            let open = decoder.objects[object]
            let scanner = decoder.scanner
            if open.nextGuess < open.count {
                let entry = decoder.entries[open.base + open.nextGuess]
                if scanner.key(entry.keyStart, entry.keyEnd, equals: name) {
                    if advance { decoder.objects[object].nextGuess = open.nextGuess + 1 }
                    return entry.valueStart
                }
            }
            for offset in 0..<open.count {
                let entry = decoder.entries[open.base + offset]
                if scanner.key(entry.keyStart, entry.keyEnd, equals: name) {
                    if advance { decoder.objects[object].nextGuess = offset + 1 }
                    return entry.valueStart
                }
            }
            return nil
        }
    }

    @inline(__always)
    func valueStart(_ key: Key) -> Int? { find(key, advance: false) }

    /// Where the value of `key` starts; the next guess moves past it.
    @inline(__always)
    func require(_ key: Key) throws -> Int {
        guard let start = find(key, advance: true) else { throw JSONFastPathDeclined() }
        return start
    }

    func contains(_ key: Key) -> Bool { valueStart(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let start = valueStart(key) else { throw JSONFastPathDeclined() }
        return decoder.isNull(start)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let start = try require(key)
        return try withDecoder { try $0.readBool(start) }
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let start = try require(key)
        return try withDecoder { try $0.readString(start) }
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        let start = try require(key)
        return try withDecoder { try $0.readDouble(start) }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw JSONFastPathDeclined() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, Int.self) }
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, Int8.self) }
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, Int16.self) }
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, Int32.self) }
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, Int64.self) }
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, UInt.self) }
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, UInt8.self) }
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, UInt16.self) }
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, UInt32.self) }
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        let start = try require(key)
        return try withDecoder { try $0.readInteger(start, UInt64.self) }
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let start = try require(key)
        return try withDecoder { try $0.decodeValue(T.self, at: start) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let start = try require(key)
        let saved = decoder.position
        decoder.position = start
        defer { decoder.position = saved }
        return try decoder.container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let start = try require(key)
        guard decoder.byte(start) == 0x5B else { throw JSONFastPathDeclined() }
        return JSONFastUnkeyedContainer(decoder: decoder, arrayStart: start)
    }

    func superDecoder() throws -> any Decoder { throw JSONFastPathDeclined() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw JSONFastPathDeclined() }
}

/// One array's items, read in order.
struct JSONFastUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: JSONFastDecoder
    /// Where the next item starts (or the closing bracket when at the end).
    private var next: Int
    private(set) var currentIndex = 0
    let count: Int?

    init(decoder: JSONFastDecoder, arrayStart: Int) {
        self.decoder = decoder
        let scanner = decoder.scanner
        next = scanner.skipWhitespace(arrayStart + 1)
        var items = 0
        var index = next
        while decoder.byte(index) != 0x5D, index < scanner.bytes.count {
            items += 1
            index = scanner.skipWhitespace(scanner.valueEnd(index))
            if decoder.byte(index) == 0x2C { index = scanner.skipWhitespace(index + 1) }
        }
        count = items
    }

    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= count ?? 0 }

    /// The start of the next item, moving past it.
    private mutating func take() throws -> Int {
        guard !isAtEnd else { throw JSONFastPathDeclined() }
        let start = next
        let scanner = decoder.scanner
        next = scanner.skipWhitespace(scanner.valueEnd(start))
        if decoder.byte(next) == 0x2C { next = scanner.skipWhitespace(next + 1) }
        currentIndex += 1
        return start
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw JSONFastPathDeclined() }
        guard decoder.isNull(next) else { return false }
        _ = try take()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decoder.readBool(try take()) }
    mutating func decode(_ type: String.Type) throws -> String { try decoder.readString(try take()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decoder.readDouble(try take()) }
    mutating func decode(_ type: Float.Type) throws -> Float { throw JSONFastPathDeclined() }
    mutating func decode(_ type: Int.Type) throws -> Int { try decoder.readInteger(try take(), Int.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decoder.readInteger(try take(), Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decoder.readInteger(try take(), Int64.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decoder.readInteger(try take(), Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decoder.readInteger(try take(), Int16.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decoder.readInteger(try take(), UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.readInteger(try take(), UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.readInteger(try take(), UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.readInteger(try take(), UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.readInteger(try take(), UInt64.self) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self, at: try take()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let start = try take()
        let saved = decoder.position
        decoder.position = start
        defer { decoder.position = saved }
        return try decoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let start = try take()
        guard decoder.byte(start) == 0x5B else { throw JSONFastPathDeclined() }
        return JSONFastUnkeyedContainer(decoder: decoder, arrayStart: start)
    }

    mutating func superDecoder() throws -> any Decoder { throw JSONFastPathDeclined() }
}

/// The value at one position (a primitive, or a wrapper's inner value).
struct JSONFastSingleValueContainer: SingleValueDecodingContainer {
    let decoder: JSONFastDecoder
    let start: Int
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { decoder.isNull(start) }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.readBool(start) }
    func decode(_ type: String.Type) throws -> String { try decoder.readString(start) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.readDouble(start) }
    func decode(_ type: Float.Type) throws -> Float { throw JSONFastPathDeclined() }
    func decode(_ type: Int.Type) throws -> Int { try decoder.readInteger(start, Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.readInteger(start, Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.readInteger(start, Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.readInteger(start, Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.readInteger(start, Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.readInteger(start, UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.readInteger(start, UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.readInteger(start, UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.readInteger(start, UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.readInteger(start, UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self, at: start) }
}
