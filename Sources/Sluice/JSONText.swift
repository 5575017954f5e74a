/// JSON text helpers for serdes that write JSON directly (on hot paths, without `Codable`).
///
/// One escaping rule for every writer (``JSONBytesEncoder``, the hand-written serdes, the audit
/// records): quote, backslash and the control characters are escaped (`\b \f \n \r \t`, the rest
/// as `\u00xx`), everything else — slashes and non-ASCII included — is written as it is, exactly
/// as `JSONEncoder` with `.withoutEscapingSlashes` writes it.
public enum JSONText {
    /// A JSON string literal for `text`.
    public static func quote(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the JSON string literal for `text` to `out`, copying unescaped runs whole.
    @inlinable
    public static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscape(byte, to: &out)
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(0x22)
    }

    /// The escape of one byte that must not appear raw in a JSON string.
    @usableFromInline
    static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(0x5C)
        switch byte {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x08: out.append(0x62)
        case 0x0C: out.append(0x66)
        case 0x0A: out.append(0x6E)
        case 0x0D: out.append(0x72)
        case 0x09: out.append(0x74)
        default:
            func hex(_ digit: UInt8) -> UInt8 { digit < 10 ? 0x30 + digit : 0x61 + digit - 10 }
            out.append(0x75); out.append(0x30); out.append(0x30)
            out.append(hex(byte >> 4)); out.append(hex(byte & 0x0F))
        }
    }

    /// Appends `value` in decimal, as `String(value)` spells it, without making a string.
    @inlinable
    public static func appendInteger<I: FixedWidthInteger>(_ value: I, to out: inout [UInt8]) {
        guard I.bitWidth <= 64 else {
            out.append(contentsOf: String(value).utf8)
            return
        }
        var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
        if value < 0 { out.append(0x2D) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits, filled from the end
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = 20
            repeat {
                position -= 1
                buffer[position] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position..<20]))
        }
    }
}
