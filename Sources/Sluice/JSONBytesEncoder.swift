import Foundation

/// Encodes `Encodable` values straight into JSON bytes, byte for byte what `JSONEncoder` with
/// `[.sortedKeys, .withoutEscapingSlashes]` writes (what ``Serde/json(_:)`` always wrote), with
/// no Foundation round trip.
///
/// The fast path writes each value as its `encode(to:)` gives it and sorts an object's fields
/// when it closes (only when they came unsorted). Whatever it would not write exactly as
/// `JSONEncoder` does — a key that is not plain ASCII, a field given twice, a non-finite
/// double, a `Float`, `Date`, `Data` or `URL` (written by `JSONEncoder`'s strategies), a
/// nested or super encoder, containers used out of turn, a value that writes nothing, a root
/// that is not an object or an array, or any error — is encoded again by `JSONEncoder`.
///
/// - Invariant: when the fast path returns bytes, they are `JSONEncoder`'s
///   (`JSONBytesEncoderTests` check it on a seeded corpus).
/// - Thread-safety: not thread-safe; one encoder per thread (it reuses its buffers).
public final class JSONBytesEncoder {
    /// How many values fell back to `JSONEncoder` (for tests and diagnosis).
    public private(set) var fallbackCount = 0
    private let state = JSONFastEncoder()
    private lazy var foundation: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init() {}

    /// The JSON text of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let bytes = try? state.encodeRoot(value) { return bytes }
        fallbackCount += 1
        return Array(try foundation.encode(value))
    }
}

/// One field written into an open object: its key (the bytes between the quotes) and where
/// the field (from its opening quote) ends.
struct JSONFieldSpan {
    let fieldStart: Int
    let keyEnd: Int
    var fieldEnd: Int
}

/// An open container: an object (its fields are `fields[fieldBase...]`) or an array.
struct JSONOpenContainer {
    let isObject: Bool
    /// Where the container's opening bracket is in the output.
    let start: Int
    let fieldBase: Int
    var items = 0
}

/// The `Encoder` of the fast path: containers are open from their first use to the end of the
/// value that opened them, innermost last; only the innermost may be written to.
final class JSONFastEncoder: Encoder {
    @exclusivity(unchecked) var out: [UInt8] = []
    @exclusivity(unchecked) var open: [JSONOpenContainer] = []
    @exclusivity(unchecked) var fields: [JSONFieldSpan] = []
    /// Buffers `sortFields` reuses: the fields' order, and a copy of the object's bytes.
    @exclusivity(unchecked) var order: [Int] = []
    @exclusivity(unchecked) var scratch: [UInt8] = []
    /// How many containers were open when the current value began: a value may open one.
    @exclusivity(unchecked) var valueBase = 0
    /// Set by what cannot throw (a container asked for twice, a nested or super encoder): the
    /// fast path then declines at the end.
    @exclusivity(unchecked) var declined = false
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func encodeRoot<T: Encodable>(_ value: T) throws -> [UInt8] {
        out.removeAll(keepingCapacity: true)
        open.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        declined = false
        valueBase = 0
        try encodeValue(value)
        guard !declined, let first = out.first, first == 0x7B || first == 0x5B else { throw JSONFastPathDeclined() }
        // A copy of exactly the bytes: `out` keeps its buffer for the next value, and the
        // caller's array holds no spare capacity however long it is kept.
        return out.withUnsafeBufferPointer { written in
            [UInt8](unsafeUninitializedCapacity: written.count) { copy, count in
                count = copy.initialize(fromContentsOf: written)
            }
        }
    }

    /// Writes `value` at the output's end, then closes the containers it opened.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == String.self { return writeString(unsafeBitCast(value, to: String.self)) }
        if T.self == Decimal.self { return writeDecimal(unsafeBitCast(value, to: Decimal.self)) }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Float.self { throw JSONFastPathDeclined() }
        let (savedOpen, start, savedBase) = (open.count, out.count, valueBase)
        valueBase = open.count
        defer { valueBase = savedBase }
        try value.encode(to: self)
        while open.count > savedOpen { try close() }
        guard out.count > start, !declined else { throw JSONFastPathDeclined() }
    }

    /// Closes the innermost container, sorting an object's fields by key when they came unsorted.
    func close() throws {
        let container = open.removeLast()
        if container.isObject {
            let spans = fields[container.fieldBase...]
            var sorted = true
            var previous: JSONFieldSpan?
            for span in spans {
                if let previous {
                    let order = compareKeys(previous, span)
                    if order == 0 { throw JSONFastPathDeclined() }
                    if order > 0 { sorted = false }
                }
                previous = span
            }
            if !sorted { try sortFields(of: container) }
            fields.removeSubrange(container.fieldBase...)
            out.append(0x7D)
        } else {
            out.append(0x5D)
        }
    }

    /// -1, 0 or 1 as `a`'s key is below, equal to or above `b`'s, by bytes (ASCII keys only).
    func compareKeys(_ a: JSONFieldSpan, _ b: JSONFieldSpan) -> Int {
        let aStart = a.fieldStart + 1, bStart = b.fieldStart + 1
        let aCount = a.keyEnd - aStart, bCount = b.keyEnd - bStart
        let common = min(aCount, bCount)
        let order = out.withUnsafeBufferPointer { memcmp($0.baseAddress! + aStart, $0.baseAddress! + bStart, common) }
        if order != 0 { return order < 0 ? -1 : 1 }
        return aCount == bCount ? 0 : (aCount < bCount ? -1 : 1)
    }

    /// Rewrites the object's fields in key order (an insertion sort: objects are small), through
    /// buffers kept for the next object.
    func sortFields(of container: JSONOpenContainer) throws {
        let base = container.fieldBase
        order.removeAll(keepingCapacity: true)
        for index in base..<fields.count {
            var at = order.count
            order.append(index)
            while at > 0, compareKeys(fields[order[at - 1]], fields[index]) > 0 {
                order[at] = order[at - 1]
                at -= 1
            }
            order[at] = index
        }
        let regionStart = container.start + 1
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: out[regionStart...])
        out.removeSubrange(regionStart...)
        for (position, index) in order.enumerated() {
            if position > 0 { out.append(0x2C) }
            let span = fields[index]
            out.append(contentsOf: scratch[(span.fieldStart - regionStart)..<(span.fieldEnd - regionStart)])
        }
    }

    /// Checks that the container at `index` is the innermost open one (else declines).
    @inline(__always)
    func requireInnermost(_ index: Int) throws {
        guard index == open.count - 1 else { throw JSONFastPathDeclined() }
    }

    /// Starts field `key` of the object at `index`: a comma after its first field, the key
    /// and the colon. Keys must be plain ASCII (no quote, backslash or control character).
    func beginField(_ index: Int, _ key: String) throws {
        try requireInnermost(index)
        if open[index].items > 0 { out.append(0x2C) }
        let fieldStart = out.count
        out.append(0x22)
        var key = key
        try key.withUTF8 { utf8 in
            for byte in utf8 where byte >= 0x80 || byte < 0x20 || byte == 0x22 || byte == 0x5C { throw JSONFastPathDeclined() }
            out.append(contentsOf: utf8)
        }
        let keyEnd = out.count
        out.append(0x22)
        out.append(0x3A)
        fields.append(JSONFieldSpan(fieldStart: fieldStart, keyEnd: keyEnd, fieldEnd: fieldStart))
        open[index].items += 1
    }

    /// Ends the field begun last in the object at `index`.
    @inline(__always)
    func endField(_ index: Int) { fields[fields.count - 1].fieldEnd = out.count }

    /// Starts the next item of the array at `index`.
    func beginItem(_ index: Int) throws {
        try requireInnermost(index)
        if open[index].items > 0 { out.append(0x2C) }
        open[index].items += 1
    }

    func writeASCII(_ text: String) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// A JSON string as `JSONEncoder` escapes it (``JSONText/appendQuoted(_:to:)``).
    func writeString(_ text: String) { JSONText.appendQuoted(text, to: &out) }

    func writeBool(_ value: Bool) { writeASCII(value ? "true" : "false") }

    func writeInteger<I: FixedWidthInteger>(_ value: I) { JSONText.appendInteger(value, to: &out) }

    /// A double as `JSONEncoder` writes it: Swift's shortest description, without a trailing
    /// `.0`; a non-finite one declines (`JSONEncoder` refuses it by default).
    func writeDouble(_ value: Double) throws {
        guard value.isFinite else { throw JSONFastPathDeclined() }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        writeASCII(text)
    }

    func writeNull() { writeASCII("null") }

    /// A decimal as `JSONEncoder` writes it (its `description`: plain digits, a point where
    /// the exponent puts it, never an exponent), from its mantissa when that fits 64 bits.
    func writeDecimal(_ value: Decimal) {
        guard let (negative, mantissa, exponent) = DecimalParts.of(value) else { return writeASCII(value.description) }
        if mantissa == 0 { return out.append(0x30) }
        if negative { out.append(0x2D) }
        let digits = String(mantissa)
        if exponent >= 0 {
            writeASCII(digits)
            out.append(contentsOf: repeatElement(0x30, count: exponent))
            return
        }
        let point = digits.utf8.count + exponent
        if point > 0 {
            out.append(contentsOf: digits.utf8.prefix(point))
            out.append(0x2E)
            out.append(contentsOf: digits.utf8.dropFirst(point))
        } else {
            out.append(contentsOf: [0x30, 0x2E])
            out.append(contentsOf: repeatElement(0x30, count: -point))
            writeASCII(digits)
        }
    }

    /// Notes the opening of a container: a value that already opened one declines.
    func opening() {
        if open.count > valueBase { declined = true }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        opening()
        open.append(JSONOpenContainer(isObject: true, start: out.count, fieldBase: fields.count))
        out.append(0x7B)
        return KeyedEncodingContainer(JSONFastKeyedEncodingContainer<Key>(encoder: self, index: open.count - 1))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        opening()
        open.append(JSONOpenContainer(isObject: false, start: out.count, fieldBase: fields.count))
        out.append(0x5B)
        return JSONFastUnkeyedEncodingContainer(encoder: self, index: open.count - 1)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONFastSingleValueEncodingContainer(encoder: self, start: out.count)
    }
}

/// A `Decimal`'s sign, mantissa and exponent when the mantissa fits 64 bits, read from its
/// storage: Foundation keeps no public accessor for the mantissa, so the layout (an `Int8`
/// exponent, a byte of length (high 4 bits), sign (0x08) and compact (0x04) flags, two reserved
/// bytes, then eight little-endian 16-bit mantissa words) is checked once against known values
/// and, when it does not hold, nothing is read from it.
enum DecimalParts {
    static let layoutHolds: Bool = {
        func parts(_ text: String) -> (Bool, UInt64, Int)? {
            read(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))!)
        }
        guard MemoryLayout<Decimal>.size == 20 else { return false }
        return parts("-3.10").map { $0 == (true, 31, -1) } == true && parts("9999999999999999999").map { $0 == (false, 9_999_999_999_999_999_999, 0) } == true
            && parts("100").map { $0 == (false, 1, 2) } == true && parts("0.05").map { $0 == (false, 5, -2) } == true
    }()

    static func of(_ value: Decimal) -> (negative: Bool, mantissa: UInt64, exponent: Int)? {
        layoutHolds ? read(value) : nil
    }

    private static func read(_ value: Decimal) -> (Bool, UInt64, Int)? {
        withUnsafeBytes(of: value) { raw -> (Bool, UInt64, Int)? in
            guard raw.count == 20 else { return nil }
            let exponent = Int(Int8(bitPattern: raw[0]))
            let length = Int(raw[1] >> 4)
            let negative = raw[1] & 0x08 != 0
            guard length <= 4 else { return nil }
            for word in length..<8 where raw.load(fromByteOffset: 4 + word * 2, as: UInt16.self) != 0 { return nil }
            var mantissa: UInt64 = 0
            for word in 0..<length { mantissa |= UInt64(UInt16(littleEndian: raw.load(fromByteOffset: 4 + word * 2, as: UInt16.self))) << (16 * word) }
            return (negative, mantissa, exponent)
        }
    }
}
