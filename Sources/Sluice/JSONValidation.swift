import Foundation

/// The one definition of valid JSON in Sluice: RFC 8259's grammar over UTF-8 that is valid per
/// RFC 3629 — no overlong forms, no UTF-16 surrogates (`ED A0…ED BF`), nothing above U+10FFFF, no
/// truncated sequences or lone continuation bytes — and, as I-JSON (RFC 7493) asks, no `\u`
/// escape of an unpaired surrogate. `pipeline produce`, ``Serde/json(_:)`` and the hot paths'
/// hand-written serdes all check it, so a record is JSON for one of them exactly when it is for
/// all; a record that is not is dead-lettered as a `DecodingError` at stage decode.
///
/// Any JSON value is accepted at the top (a string or number too, as `produce` always allowed),
/// with whitespace around it; containers nest at most ``nestingDepthMax`` deep.
///
/// - Complexity: one pass, O(n) in the bytes, no allocation but the error.
/// Thread-safety: stateless.
public enum JSONValidation {
    /// The deepest nesting of arrays and objects accepted (the validator recurses per level).
    public static let nestingDepthMax = 512

    /// Checks that `bytes` are one JSON value (see above).
    /// - Throws: ``InvalidJSON`` with the byte position of the first problem.
    public static func validate(_ bytes: [UInt8]) throws(InvalidJSON) {
        try bytes.withUnsafeBufferPointer { buffer throws(InvalidJSON) in try validate(buffer) }
    }

    /// Checks that `bytes` are one JSON value (see above).
    /// - Throws: ``InvalidJSON`` with the byte position of the first problem.
    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(InvalidJSON) {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.index != bytes.count { throw InvalidJSON(position: parser.index, reason: "unexpected bytes after the value") }
    }

    /// Decodes `type` from `bytes` with `JSONDecoder` once they are valid JSON.
    /// - Throws: `DecodingError.dataCorrupted` naming the first problem when they are not
    ///   (``InvalidJSON``'s text), else whatever `JSONDecoder` throws.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            try validate(bytes)
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: error.description, underlyingError: error))
        }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// The length of the well-formed UTF-8 sequence that starts at `index` (1 for ASCII), or nil
    /// when the bytes there are not one (RFC 3629's table: overlong forms, surrogates, values
    /// above U+10FFFF, truncated sequences and lone continuation bytes are not).
    /// - Precondition: `index < bytes.count`.
    @inline(__always)
    public static func utf8SequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let lead = bytes[index]
        if lead < 0x80 { return 1 }
        let remaining = bytes.count - index
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            offset < remaining && bytes[index + offset] >= low && bytes[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF: return continuation(1) ? 2 : nil
        case 0xE0: return continuation(1, 0xA0) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : nil
        case 0xED: return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xF0: return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4: return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default: return nil
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        }

        func fail(_ reason: String) -> InvalidJSON { InvalidJSON(position: index, reason: reason) }

        mutating func value(depth: Int) throws(InvalidJSON) {
            guard index < bytes.count else { throw fail("the text ends where a value should start") }
            switch bytes[index] {
            case 0x7B: try object(depth: depth + 1)
            case 0x5B: try array(depth: depth + 1)
            case 0x22: try string()
            case 0x74: try literal("true")
            case 0x66: try literal("false")
            case 0x6E: try literal("null")
            case 0x2D, 0x30...0x39: try number()
            default: throw fail("no JSON value starts with byte 0x\(String(bytes[index], radix: 16))")
            }
        }

        mutating func object(depth: Int) throws(InvalidJSON) {
            guard depth <= JSONValidation.nestingDepthMax else { throw fail("nested deeper than \(JSONValidation.nestingDepthMax)") }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x7D { index += 1; return }
            while true {
                guard index < bytes.count, bytes[index] == 0x22 else { throw fail("an object member must start with a string") }
                try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == 0x3A else { throw fail("expected ':' after an object member's name") }
                index += 1
                skipWhitespace()
                try value(depth: depth)
                skipWhitespace()
                guard index < bytes.count else { throw fail("the text ends inside an object") }
                if bytes[index] == 0x2C { index += 1; skipWhitespace(); continue }
                guard bytes[index] == 0x7D else { throw fail("expected ',' or '}' in an object") }
                index += 1
                return
            }
        }

        mutating func array(depth: Int) throws(InvalidJSON) {
            guard depth <= JSONValidation.nestingDepthMax else { throw fail("nested deeper than \(JSONValidation.nestingDepthMax)") }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0x5D { index += 1; return }
            while true {
                try value(depth: depth)
                skipWhitespace()
                guard index < bytes.count else { throw fail("the text ends inside an array") }
                if bytes[index] == 0x2C { index += 1; skipWhitespace(); continue }
                guard bytes[index] == 0x5D else { throw fail("expected ',' or ']' in an array") }
                index += 1
                return
            }
        }

        mutating func literal(_ word: StaticString) throws(InvalidJSON) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw fail("expected \(word)") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw fail("expected \(word)") }
            index += count
        }

        mutating func number() throws(InvalidJSON) {
            if bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 else { throw fail("a number needs a digit") }
            if bytes[index] == 0x30 {
                index += 1
            } else {
                while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            }
            if index < bytes.count, bytes[index] == 0x2E {
                index += 1
                try digits("a fraction needs a digit")
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
                index += 1
                if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
                try digits("an exponent needs a digit")
            }
        }

        mutating func digits(_ reason: String) throws(InvalidJSON) {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            if index == start { throw fail(reason) }
        }

        mutating func string() throws(InvalidJSON) {
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case 0x22:
                    index += 1
                    return
                case 0x5C:
                    try escape()
                case 0x00..<0x20:
                    throw fail("a control character (0x\(String(byte, radix: 16))) inside a string")
                case 0x20..<0x80:
                    index += 1
                default:
                    guard let length = JSONValidation.utf8SequenceLength(bytes, at: index) else { throw fail("invalid UTF-8 inside a string") }
                    index += length
                }
            }
            throw fail("the text ends inside a string")
        }

        mutating func escape() throws(InvalidJSON) {
            index += 1
            guard index < bytes.count else { throw fail("the text ends inside an escape") }
            switch bytes[index] {
            case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                index += 1
            case 0x75:
                let unit = try hexUnit()
                if unit >= 0xD800 && unit <= 0xDBFF {
                    guard bytes.count - index >= 2, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                        throw fail("a \\u escape of a high surrogate without its low surrogate")
                    }
                    index += 1
                    let low = try hexUnit()
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("a \\u escape of a high surrogate without its low surrogate") }
                } else if unit >= 0xDC00 && unit <= 0xDFFF {
                    throw fail("a \\u escape of a lone low surrogate")
                }
            default:
                throw fail("an unknown escape")
            }
        }

        /// Reads `uXXXX` (index at the `u`) and returns the code unit.
        mutating func hexUnit() throws(InvalidJSON) -> UInt16 {
            guard bytes.count - index >= 5 else { throw fail("a \\u escape needs four hex digits") }
            var unit: UInt16 = 0
            for offset in 1...4 {
                let byte = bytes[index + offset]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw fail("a \\u escape needs four hex digits")
                }
                unit = unit << 4 | UInt16(digit)
            }
            index += 5
            return unit
        }
    }
}

/// Why bytes are not valid JSON (``JSONValidation``): the first problem and where it is.
public struct InvalidJSON: Error, CustomStringConvertible, Sendable, Equatable {
    /// The byte position of the first problem.
    public var position: Int
    /// What is wrong there.
    public var reason: String

    public var description: String { "invalid JSON at byte \(position): \(reason)" }
}
