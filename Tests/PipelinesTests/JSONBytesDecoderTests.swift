import Foundation
import Sluice
import StreamCore
import Testing

@testable import pipeline

/// A value with every kind of field `JSONBytesDecoder` reads itself, and some it leaves to
/// `JSONDecoder` (a `Date`, a `Float`).
struct JSONSample: Codable, Equatable {
    enum Kind: String, Codable { case created, paid = "PAID", refunded }
    struct Line: Codable, Equatable {
        var sku: String
        var quantity: Int32
        var price: Decimal
    }

    var name: String
    var count: Int
    var small: Int8
    var large: UInt64
    var ratio: Double
    var flag: Bool
    var amount: Decimal
    var note: String?
    var kind: Kind
    var lines: [Line]
    var scores: [String: Double]
    var tags: [String]?
    var when: Date?
    var weight: Float?
}

/// `JSONBytesDecoder` decodes what `JSONDecoder` decodes (after ``JSONValidation``, as
/// `Serde.json` always did), and refuses what it refuses, on a
/// seeded corpus of texts written every way JSON allows (whitespace, key order, escapes,
/// unicode, numbers at the edges, missing and null fields, unknown, duplicate and escaped
/// keys) and of malformed ones.
@Suite("the byte-level JSON decoder")
struct JSONBytesDecoderTests {
    /// A JSON text for a seeded sample, and whether it is meant to be valid.
    static func text(_ random: inout SeededRandom) -> String {
        func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        let space = { (random: inout SeededRandom) -> String in
            ["", "", "", " ", "\n  ", "\t", "\r\n"][Int(random.next() % 7)]
        }
        func string() -> String {
            var text = "\""
            for _ in 0..<Int(random.next() % 12) {
                text += pick([
                    "a", "Z", "0", "-", " ", "é", "日本", "😀", "\\n", "\\t", "\\\"", "\\\\", "\\/", "\\u00e9", "\\u0041", "\\ud83d\\ude00",
                    "\\u0000", "\\b", "\\f", "\\r", "\\u2028", "/",
                ])
            }
            return text + "\""
        }
        func integer(_ bounds: [String]) -> String {
            chance(96) ? String(Int64(bitPattern: random.next()) % 1_000_000) : pick(bounds)
        }
        let intEdges = ["0", "-0", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1.0", "1e2", "1E0", "1.5", "-1", "12345678901234567890"]
        let int8Edges = ["127", "-128", "128", "-129", "0", "1.0"]
        let uint64Edges = ["18446744073709551615", "18446744073709551616", "-1", "0", "9223372036854775808"]
        func double() -> String {
            chance(90)
                ? String(Double(Int64(bitPattern: random.next()) % 10_000_000) / 1000)
                : pick([
                    "0", "-0", "-0.0", "0.1", "1e400", "-1e400", "5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1E-7", "123456789012345678901234567890",
                    "0.30000000000000004", "1e+2", "3", "-2.5E+3",
                ])
        }
        func decimal() -> String {
            chance(90)
                ? String(Int64(bitPattern: random.next()) % 100_000) + "." + String(format: "%02d", Int(random.next() % 100))
                : pick(["0", "-0", "12.30", "0.1", "1e-2", "123456789012345678901234567890", "-99.999", "1E3", "0.000001", "1e400", "12.5", "1000", "0.10", "1.000", "-0.001", "9999999999999999999", "99999999999999999999", "0.0000000000000000001", "18446744073709551615"])
        }
        let line = { (random: inout SeededRandom) -> String in
            #"{"sku":"s-\#(random.next() % 100)","quantity":\#(Int32(truncatingIfNeeded: random.next()) % 1000),"price":\#(random.next() % 10000).\#(random.next() % 10)}"#
        }
        var fields: [(String, String)] = [
            ("name", string()), ("count", integer(intEdges)), ("small", chance(96) ? String(Int8(truncatingIfNeeded: random.next())) : pick(int8Edges)), ("large", chance(96) ? String(random.next() % 1_000_000) : pick(uint64Edges)),
            ("ratio", double()), ("flag", pick(["true", "false"])), ("amount", decimal()), ("kind", chance(97) ? pick(["\"created\"", "\"PAID\"", "\"refunded\""]) : "\"paid\""),
            ("lines", "[" + (0..<Int(random.next() % 4)).map { _ in line(&random) }.joined(separator: ",") + "]"),
            ("scores", "{" + (0..<Int(random.next() % 3)).map { index in "\"k\(index)\":\(double())" }.joined(separator: ",") + "}"),
        ]
        if chance(70) { fields.append(("note", chance(20) ? "null" : string())) }
        if chance(50) { fields.append(("tags", chance(20) ? "null" : "[" + (0..<Int(random.next() % 3)).map { _ in string() }.joined(separator: ",") + "]")) }
        if chance(5) { fields.append(("when", pick(["0", "1700000000.5", "null"]))) }
        if chance(5) { fields.append(("weight", pick(["0.1", "3.4028235e38", "null", "16777217"]))) }
        if chance(20) { fields.append(("unknown", pick(["{\"a\":[1,{\"b\":\"}\"}]}", "[]", "null", string()]))) }
        if chance(5) { fields.append(("name", string())) }  // a duplicate key
        if chance(5) { fields[0].0 = "n\\u0061me" }  // an escaped key
        if chance(40) { fields.shuffle(using: &random) }
        var text = space(&random) + "{"
        text += fields.map { key, value in space(&random) + "\"\(key)\"" + space(&random) + ":" + space(&random) + value + space(&random) }.joined(separator: ",")
        return text + "}" + space(&random)
    }

    /// `text` damaged at a seeded byte: cut, a byte changed, or one inserted.
    static func damage(_ text: String, _ random: inout SeededRandom) -> [UInt8] {
        var bytes = Array(text.utf8)
        let at = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 3 {
        case 0: bytes.removeSubrange(at...)
        case 1: bytes[at] = [0x22, 0x2C, 0x7D, 0x5D, 0x5C, 0x30, 0x20, 0xFF, 0x00][Int(random.next() % 9)]
        default: bytes.insert([0x22, 0x2C, 0x7B, 0x5B, 0x31, 0x2E][Int(random.next() % 6)], at: at)
        }
        return bytes
    }

    static func compare(_ bytes: [UInt8], _ decoder: JSONBytesDecoder) -> (agreed: Bool, decoded: Bool) {
        // The reference: what `Serde.json` decoded before, `JSONValidation` then `JSONDecoder`.
        let theirs = try? JSONValidation.decode(JSONSample.self, from: bytes)
        let ours = try? decoder.decode(JSONSample.self, from: bytes)
        guard let theirs, let ours else { return (theirs == nil && ours == nil, false) }
        // `==` takes -0.0 for 0.0: the sign must match too.
        // And a decimal is the same bits, not only the same number.
        let sameDecimals = zip([ours.amount] + ours.lines.map(\.price), [theirs.amount] + theirs.lines.map(\.price)).allSatisfy { pair in
            withUnsafeBytes(of: pair.0) { Array($0) } == withUnsafeBytes(of: pair.1) { Array($0) }
        }
        return (ours == theirs && ours.ratio.sign == theirs.ratio.sign && sameDecimals, true)
    }

    @Test("decodes exactly what JSONDecoder decodes, on 20,000 seeded texts", arguments: [UInt64(1), 2])
    func agreesWithJSONDecoder(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let decoder = JSONBytesDecoder()
        var decoded = 0
        var disagreements: [String] = []
        for _ in 0..<10_000 {
            let text = Self.text(&random)
            let result = Self.compare(Array(text.utf8), decoder)
            if !result.agreed { disagreements.append(text) }
            if result.decoded { decoded += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) texts decode differently, e.g. \(disagreements.prefix(3))")
        // Both outcomes are well represented, and the fast path decides most texts itself.
        #expect(decoded > 5000 && decoded < 9500, "\(decoded)")
        print("JSONBytesDecoder corpus seed \(seed): \(decoded) of 10,000 texts decoded, \(decoder.fallbackCount) left to JSONDecoder")
        #expect(decoder.fallbackCount < 10_000 - decoded / 2, "\(decoder.fallbackCount) fallbacks")
    }

    @Test("refuses what JSONDecoder refuses, and the same way, on 20,000 damaged texts", arguments: [UInt64(3), 4])
    func damagedTextsAreRefusedAlike(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let decoder = JSONBytesDecoder()
        var disagreements: [String] = []
        for _ in 0..<10_000 {
            let bytes = Self.damage(Self.text(&random), &random)
            if !Self.compare(bytes, decoder).agreed { disagreements.append(String(decoding: bytes, as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) damaged texts decode differently, e.g. \(disagreements.prefix(3))")
    }

    @Test("the fast path decides the plain shapes itself, and invalid JSON is a DecodingError naming the position")
    func plainShapesTakeTheFastPath() throws {
        let decoder = JSONBytesDecoder()
        let order = try decoder.decode(
            OrderCreated.self,
            from: Array(#"{"event_type":"OrderCreated","order_id":"ORD-1","customer_id":"CUST-4567","amount":12.50,"timestamp":"2025-06-11T12:00:00Z"}"#.utf8)
        )
        #expect(order == OrderCreated(eventType: "OrderCreated", orderID: "ORD-1", customerID: "CUST-4567", amount: Decimal(string: "12.5")!, timestamp: "2025-06-11T12:00:00Z"))
        #expect(try decoder.decode([Int].self, from: Array("[1, 2 ,3]".utf8)) == [1, 2, 3])
        #expect(try decoder.decode([String: [String?]].self, from: Array(#"{"a":["x",null],"b":[]}"#.utf8)) == ["a": ["x", nil], "b": []])
        #expect(try decoder.decode(String.self, from: Array(#""top \u00e9""#.utf8)) == "top é")
        #expect(decoder.fallbackCount == 0)
        #expect {
            try decoder.decode(OrderCreated.self, from: Array(#"{"order_id":"ORD-1",}"#.utf8))
        } throws: { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return false }
            return context.debugDescription.contains("invalid JSON at byte 2")
        }
        #expect(decoder.fallbackCount == 0, "invalid JSON is refused before either path")
    }

    @Test("Serde.json decodes with it, bound or not")
    func theJSONSerdeUsesIt() throws {
        let bytes = Array(#"{"event_type":"OrderCreated","order_id":"ORD-2","customer_id":"C","amount":1,"timestamp":"t"}"#.utf8)
        let serde = Serde<OrderCreated>.json(OrderCreated.self)
        #expect(try serde.decode(bytes).orderID == "ORD-2")
        #expect(try serde.decode(serde.encode(serde.decode(bytes))) == serde.decode(bytes))
    }
}
