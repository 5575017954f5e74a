import StreamCore
import PipelineRuntime
import Sluice
import Foundation

/// How `dlq show` renders one dead letter.
///
/// Text, a block per record:
/// ```
/// order-totals.dlq 0:3  timestamp 1749643200000 (2025-06-11T12:00:00.000Z)  redriven: no
///   key:   CUST-1
///   value: not json at all BAD-3
///   dlq.pipeline: order-totals
///   … every header, in record order
/// ```
/// Keys, values and headers are shown as text when they are UTF-8 (newlines and tabs escaped as
/// `\n`, `\t`), otherwise as `0x` and hex; an absent one as `(null)`. The value of a damaged
/// batch dead-lettered by `pipeline recover` (stage `read`) is shown as its byte count.
///
/// JSON, one object per line, keys in this order: `topic`, `partition`, `offset`, `timestamp`,
/// `key`, `value` (strings when UTF-8, else base64 with `key_encoding`/`value_encoding`
/// `"base64"`, as `consume --format json`), `redriven` (bool), `headers` (an object of header
/// name → text; a non-UTF-8 header value as base64 under `"<name>.base64"`).
enum DeadLetterText {
    static func block(_ letter: DeadLetter, topic: String, redriven: Bool) -> String {
        let time = Date(timeIntervalSince1970: Double(letter.timestamp.milliseconds) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var text = "\(topic) \(letter.partition.rawValue):\(letter.offset.rawValue)  timestamp \(letter.timestamp.milliseconds) (\(formatter.string(from: time)))  redriven: \(redriven ? "yes" : "no")\n"
        text += "  key:   \(readable(letter.key))\n"
        if letter.headers.contains(where: { $0.key == "dlq.stage" && $0.value == Array("read".utf8) }), let value = letter.value {
            // A damaged batch's raw bytes (`pipeline recover`): too long to read as hex.
            text += "  value: (\(value.count) bytes: the damaged batch as it was on disk; --format json has them in base64)\n"
        } else {
            text += "  value: \(readable(letter.value))\n"
        }
        for header in letter.headers { text += "  \(header.key): \(readable(header.value))\n" }
        return text
    }

    static func json(_ letter: DeadLetter, topic: String, redriven: Bool) -> String {
        var text = "{\"topic\":\(JSONText.quote(topic)),\"partition\":\(letter.partition.rawValue),\"offset\":\(letter.offset.rawValue)"
        text += ",\"timestamp\":\(letter.timestamp.milliseconds)"
        text += ",\"key\":" + jsonBytes(letter.key, field: "key")
        text += ",\"value\":" + jsonBytes(letter.value, field: "value")
        text += ",\"redriven\":\(redriven),\"headers\":{"
        text += letter.headers.map { header -> String in
            guard let value = header.value else { return "\(JSONText.quote(header.key)):null" }
            if let string = String(validating: value, as: UTF8.self) { return "\(JSONText.quote(header.key)):\(JSONText.quote(string))" }
            return "\(JSONText.quote(header.key + ".base64")):\(JSONText.quote(Data(value).base64EncodedString()))"
        }.joined(separator: ",")
        return text + "}}"
    }

    /// UTF-8 text with newlines and tabs escaped; other bytes as `0x` and hex.
    static func readable(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "(null)" }
        if let string = String(validating: bytes, as: UTF8.self), !string.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
            return string.replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\r", with: "\\r")
        }
        return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func jsonBytes(_ value: [UInt8]?, field: String) -> String {
        guard let value else { return "null" }
        if let string = String(validating: value, as: UTF8.self) { return JSONText.quote(string) }
        return "\(JSONText.quote(Data(value).base64EncodedString())),\"\(field)_encoding\":\"base64\""
    }
}
