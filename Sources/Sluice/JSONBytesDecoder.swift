import Foundation

/// Decodes `Decodable` values straight from JSON bytes, with no Foundation round trip and no
/// intermediate object tree, to exactly what `JSONDecoder` (default strategies) decodes.
///
/// The bytes are validated first (``JSONValidation``, one pass). The fast path then reads
/// objects field by field where they lie: an object's keys are found once, a field asked for
/// in the order the object holds them costs one comparison. Whatever the fast path does not
/// decide exactly as `JSONDecoder` would — duplicate or escaped keys, an integer written with a
/// fraction or an exponent or out of range, a non-finite double, a `Float`, `Date`, `Data` or
/// `URL` (which `JSONDecoder` decodes by its strategies), `superDecoder`, or any error at all
/// — is decoded again by `JSONDecoder`, so values and errors are `JSONDecoder`'s.
///
/// - Invariant: when the fast path returns a value, `JSONDecoder` returns an equal one
///   (`JSONBytesDecoderTests` check it on a seeded corpus); when it does not, the result is
///   `JSONDecoder`'s.
/// - Thread-safety: not thread-safe; one decoder per thread (it reuses its buffers).
public final class JSONBytesDecoder {
    /// How many values fell back to `JSONDecoder` (for tests and diagnosis).
    public private(set) var fallbackCount = 0
    private let state = JSONFastDecoder()

    public init() {}

    /// Decodes one `T` from `bytes`, a JSON text.
    /// - Throws: `DecodingError.dataCorrupted` naming the first problem when the bytes are not
    ///   valid JSON (``InvalidJSON``'s text), else whatever `JSONDecoder` throws for them.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let fast: T? = try bytes.withUnsafeBufferPointer { buffer in
            do {
                try JSONValidation.validate(buffer)
            } catch let invalid as InvalidJSON {
                throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: invalid.description, underlyingError: invalid))
            }
            return try? state.decodeRoot(T.self, from: buffer)
        }
        if let fast { return fast }
        fallbackCount += 1
        return try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// Thrown inside the fast path for what it leaves to `JSONDecoder`.
struct JSONFastPathDeclined: Error {}

/// One object's field, found when its object is opened: the key's bytes (with quotes), a
/// hash of them, and where its value starts.
struct JSONObjectEntry {
    let keyStart: Int
    let keyEnd: Int
    let keyHash: UInt64
    let valueStart: Int
}

/// An open object: its entries are `entries[base..<base + count]`; `nextGuess` is the entry
/// after the last one found in it, where a field asked for in the object's order is.
struct JSONOpenObject {
    let base: Int
    var count: Int
    var nextGuess = 0

    init(base: Int, count: Int) {
        self.base = base
        self.count = count
    }
}

/// The keyed container made for one object index, with the key type it was made for.
struct JSONKeyedContainerEntry {
    let keyType: ObjectIdentifier
    /// A `JSONKeyedContainerHolder<Key>` for the key type `keyType` names.
    let holder: AnyObject
}

/// Keeps one object index's `KeyedDecodingContainer` for reuse.
final class JSONKeyedContainerHolder<Key: CodingKey> {
    let container: KeyedDecodingContainer<Key>

    init(_ container: KeyedDecodingContainer<Key>) { self.container = container }
}

/// The `Decoder` of the fast path. `position` is where the value being decoded starts; the
/// open objects' entries live in `entries`, innermost last, dropped when their value is done.
final class JSONFastDecoder: Decoder {
    @exclusivity(unchecked) var scanner = JSONScanner(bytes: UnsafeBufferPointer(start: nil, count: 0))
    @exclusivity(unchecked) var position = 0
    @exclusivity(unchecked) var entries: [JSONObjectEntry] = []
    /// The open objects, innermost last.
    @exclusivity(unchecked) var objects: [JSONOpenObject] = []
    /// The keyed container made for each object index, by index: a container holds only its
    /// decoder and index, so one serves every object opened at that index with that key type
    /// (making one costs an allocation for the standard library's box).
    @exclusivity(unchecked) var containers: [JSONKeyedContainerEntry?] = []
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func decodeRoot<T: Decodable>(_ type: T.Type, from bytes: UnsafeBufferPointer<UInt8>) throws -> T {
        scanner = JSONScanner(bytes: bytes)
        entries.removeAll(keepingCapacity: true)
        objects.removeAll(keepingCapacity: true)
        return try decodeValue(T.self, at: scanner.skipWhitespace(0))
    }

    /// Decodes a `T` from the value at `start`.
    func decodeValue<T: Decodable>(_ type: T.Type, at start: Int) throws -> T {
        if T.self == String.self { return unsafeBitCast(try readString(start), to: T.self) }
        if T.self == Decimal.self { return unsafeBitCast(try readDecimal(start), to: T.self) }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Float.self { throw JSONFastPathDeclined() }
        let (savedPosition, savedEntries, savedObjects) = (position, entries.count, objects.count)
        position = start
        defer {
            position = savedPosition
            entries.removeSubrange(savedEntries...)
            objects.removeSubrange(savedObjects...)
        }
        return try T(from: self)
    }

    @inline(__always)
    func byte(_ index: Int) -> UInt8 { index < scanner.bytes.count ? scanner.bytes[index] : 0 }

    func readString(_ start: Int) throws -> String {
        guard byte(start) == 0x22 else { throw JSONFastPathDeclined() }
        return scanner.string(at: start).0
    }

    func readBool(_ start: Int) throws -> Bool {
        switch byte(start) {
        case 0x74: return true
        case 0x66: return false
        default: throw JSONFastPathDeclined()
        }
    }

    func readInteger<I: FixedWidthInteger>(_ start: Int, _ type: I.Type) throws -> I {
        let end = scanner.numberEnd(start)
        guard end > start, let value = scanner.plainInteger(start, end), let exact = I(exactly: value) else { throw JSONFastPathDeclined() }
        return exact
    }

    func readDouble(_ start: Int) throws -> Double {
        let end = scanner.numberEnd(start)
        guard end > start, let value = Double(scanner.text(start, end)), value.isFinite else { throw JSONFastPathDeclined() }
        return value
    }

    func readDecimal(_ start: Int) throws -> Decimal {
        let end = scanner.numberEnd(start)
        guard end > start else { throw JSONFastPathDeclined() }
        if let plain = scanner.plainDecimal(start, end) { return plain }
        guard let value = Decimal(string: scanner.text(start, end), locale: Self.posix) else { throw JSONFastPathDeclined() }
        return value
    }

    static let posix = Locale(identifier: "en_US_POSIX")

    func isNull(_ start: Int) -> Bool { byte(start) == 0x6E }

    /// Opens the object at `position`: finds its entries, declining one with an escaped or a
    /// duplicate key (whose lookup `JSONDecoder` decides).
    func openObject() throws -> Int {
        guard byte(position) == 0x7B else { throw JSONFastPathDeclined() }
        let base = entries.count
        objects.append(JSONOpenObject(base: base, count: 0))
        let object = objects.count - 1
        var index = scanner.skipWhitespace(position + 1)
        if byte(index) == 0x7D { return object }
        while true {
            let keyStart = index
            let keyEnd = scanner.stringEnd(keyStart)
            if scanner.stringHasEscape(from: keyStart + 1, to: keyEnd - 1) { throw JSONFastPathDeclined() }
            let keyHash = hash(keyStart, keyEnd)
            for earlier in entries[base...] where earlier.keyHash == keyHash {
                if earlier.keyEnd - earlier.keyStart == keyEnd - keyStart,
                    memcmp(scanner.bytes.baseAddress! + earlier.keyStart, scanner.bytes.baseAddress! + keyStart, keyEnd - keyStart) == 0
                {
                    throw JSONFastPathDeclined()
                }
            }
            let colon = scanner.skipWhitespace(keyEnd)
            let valueStart = scanner.skipWhitespace(colon + 1)
            entries.append(JSONObjectEntry(keyStart: keyStart, keyEnd: keyEnd, keyHash: keyHash, valueStart: valueStart))
            index = scanner.skipWhitespace(scanner.valueEnd(valueStart))
            guard byte(index) == 0x2C else { break }
            index = scanner.skipWhitespace(index + 1)
        }
        objects[object].count = entries.count - base
        return object
    }

    /// A cheap fingerprint of a key's bytes (with its quotes, so at least 2): its length and
    /// its first and last eight bytes. Equal keys have equal fingerprints; the rare unequal
    /// keys with equal ones cost a comparison.
    @inline(__always)
    func hash(_ start: Int, _ end: Int) -> UInt64 {
        let raw = UnsafeRawPointer(scanner.bytes.baseAddress!)
        let length = end - start
        if length >= 8 {
            let first = raw.loadUnaligned(fromByteOffset: start, as: UInt64.self)
            let last = raw.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self)
            return first ^ (last &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(length)
        }
        var hash = UInt64(length)
        for index in start..<end { hash = hash << 8 | UInt64(scanner.bytes[index]) }
        return hash
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let object = try openObject()
        if object < containers.count, let entry = containers[object], entry.keyType == ObjectIdentifier(Key.self) {
            // Made for this key type (checked above), so the cast holds.
            return unsafeDowncast(entry.holder, to: JSONKeyedContainerHolder<Key>.self).container
        }
        let container = KeyedDecodingContainer(JSONFastKeyedContainer<Key>(decoder: self, object: object))
        while containers.count <= object { containers.append(nil) }
        containers[object] = JSONKeyedContainerEntry(keyType: ObjectIdentifier(Key.self), holder: JSONKeyedContainerHolder(container))
        return container
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard byte(position) == 0x5B else { throw JSONFastPathDeclined() }
        return JSONFastUnkeyedContainer(decoder: self, arrayStart: position)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        JSONFastSingleValueContainer(decoder: self, start: position)
    }
}
