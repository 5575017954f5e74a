import Foundation

/// Reads JSON values straight from bytes that ``JSONValidation`` has already accepted: it skips
/// values and reads strings and numbers without checking the grammar again.
///
/// - Precondition: `bytes` are one valid JSON value (validated); every position handed in is
///   the first byte of a value, after any whitespace. Reading invalid bytes gives wrong values
///   (never out-of-bounds access: every read checks `count`).
/// - Thread-safety: a value; one per decode.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>

    /// The position of the first byte at or after `position` that is not whitespace.
    @inline(__always)
    func skipWhitespace(_ position: Int) -> Int {
        var index = position
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { break }
            index += 1
        }
        return index
    }

    /// The position just after the value that starts at `position`.
    func valueEnd(_ position: Int) -> Int {
        guard position < bytes.count else { return position }
        switch bytes[position] {
        case 0x22: return stringEnd(position)
        case 0x7B, 0x5B: return containerEnd(position)
        case 0x74, 0x6E: return position + 4  // true, null
        case 0x66: return position + 5  // false
        default: return numberEnd(position)
        }
    }

    /// The position just after the string whose opening quote is at `position`.
    @inline(__always)
    func stringEnd(_ position: Int) -> Int {
        var index = position + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 { return index + 1 }
            index += byte == 0x5C ? 2 : 1
        }
        return index
    }

    /// The position just after the object or array that opens at `position`.
    func containerEnd(_ position: Int) -> Int {
        var depth = 0
        var index = position
        while index < bytes.count {
            switch bytes[index] {
            case 0x22:
                index = stringEnd(index)
                continue
            case 0x7B, 0x5B: depth += 1
            case 0x7D, 0x5D:
                depth -= 1
                if depth == 0 { return index + 1 }
            default: break
            }
            index += 1
        }
        return index
    }

    /// The position just after the number that starts at `position`.
    @inline(__always)
    func numberEnd(_ position: Int) -> Int {
        var index = position
        while index < bytes.count {
            switch bytes[index] {
            case 0x30...0x39, 0x2D, 0x2B, 0x2E, 0x65, 0x45: index += 1
            default: return index
            }
        }
        return index
    }

    /// Whether the bytes `start..<end` (a string's contents) hold an escape.
    @inline(__always)
    func stringHasEscape(from start: Int, to end: Int) -> Bool {
        var index = start
        while index < end {
            if bytes[index] == 0x5C { return true }
            index += 1
        }
        return false
    }

    /// The text of the string whose opening quote is at `position`, with its escapes applied,
    /// and the position after it.
    func string(at position: Int) -> (String, end: Int) {
        let end = stringEnd(position)
        let contentStart = position + 1
        let contentEnd = end - 1
        guard stringHasEscape(from: contentStart, to: contentEnd) else {
            return (String(decoding: UnsafeBufferPointer(rebasing: bytes[contentStart..<contentEnd]), as: UTF8.self), end)
        }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(contentEnd - contentStart)
        var index = contentStart
        while index < contentEnd {
            let byte = bytes[index]
            guard byte == 0x5C else {
                utf8.append(byte)
                index += 1
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case 0x62: utf8.append(0x08)
            case 0x66: utf8.append(0x0C)
            case 0x6E: utf8.append(0x0A)
            case 0x72: utf8.append(0x0D)
            case 0x74: utf8.append(0x09)
            case 0x75:
                var scalar = UInt32(hexUnit(at: index))
                index += 4
                // Validation accepted only paired surrogates, so a high one is followed by `\u` and a low one.
                if scalar >= 0xD800, scalar < 0xDC00, index + 6 <= contentEnd {
                    let low = UInt32(hexUnit(at: index + 2))
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: utf8.append(escaped)  // \" \\ \/
            }
        }
        return (String(decoding: utf8, as: UTF8.self), end)
    }

    /// The four hex digits at `position` as a UTF-16 code unit.
    func hexUnit(at position: Int) -> UInt16 {
        var unit: UInt16 = 0
        for offset in 0..<4 where position + offset < bytes.count {
            let byte = bytes[position + offset]
            let digit: UInt8 =
                switch byte {
                case 0x30...0x39: byte - 0x30
                case 0x41...0x46: byte - 0x41 + 10
                default: byte &- 0x61 &+ 10
                }
            unit = unit << 4 | UInt16(digit & 0x0F)
        }
        return unit
    }

    /// The integer a number of only digits (and a leading minus) spells, or nil when it has a
    /// fraction or an exponent or does not fit 64 bits (the caller then takes the slow path).
    @inline(__always)
    func plainInteger(_ start: Int, _ end: Int) -> Int64? {
        var index = start
        let negative = index < end && bytes[index] == 0x2D
        if negative { index += 1 }
        guard index < end, end - index <= 18 else { return nil }
        var magnitude: Int64 = 0
        while index < end {
            let digit = bytes[index] &- 0x30
            guard digit < 10 else { return nil }
            magnitude = magnitude * 10 + Int64(digit)
            index += 1
        }
        return negative ? -magnitude : magnitude
    }

    /// The decimal a plain number (digits with an optional minus and fraction, no exponent, at
    /// most 19 significant digits, not zero) spells, built as `Decimal(string:)` builds it
    /// (trailing zeros dropped into the exponent, so the two are the same bits); nil for any
    /// other number (the caller then parses the text).
    @inline(__always)
    func plainDecimal(_ start: Int, _ end: Int) -> Decimal? {
        var index = start
        let negative = index < end && bytes[index] == 0x2D
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var inFraction = false
        while index < end {
            let byte = bytes[index]
            if byte == 0x2E {
                inFraction = true
            } else {
                let digit = byte &- 0x30
                guard digit < 10 else { return nil }
                if mantissa != 0 || digit != 0 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(digit)
                if inFraction { fractionDigits += 1 }
            }
            index += 1
        }
        guard mantissa != 0, digits <= 19 else { return nil }
        var exponent = -fractionDigits
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa))
    }

    /// The number's text, for the parsers that take one (`Double`, `Decimal`).
    @inline(__always)
    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// Whether the object key (a string with its quotes) at `start..<end` is exactly `name`.
    @inline(__always)
    func key(_ start: Int, _ end: Int, equals name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            guard utf8.count == end - start - 2 else { return false }
            guard let base = bytes.baseAddress, let nameBase = utf8.baseAddress else { return utf8.isEmpty }
            return memcmp(base + start + 1, nameBase, utf8.count) == 0
        }
    }
}
