import Foundation
import StreamCore
import Testing

@testable import Sluice
@testable import pipeline

/// `JSONBytesEncoder` writes byte for byte what `JSONEncoder` with sorted keys and unescaped
/// slashes writes (what `Serde.json` always wrote), on a seeded corpus of values: strings with
/// every kind of character, integers, doubles and decimals at their edges, optionals, nested
/// records, arrays and maps with keys in every order.
@Suite("the byte-level JSON encoder")
struct JSONBytesEncoderTests {
    static func sample(_ random: inout SeededRandom) -> JSONSample {
        func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        func string() -> String {
            (0..<Int(random.next() % 10)).map { _ in
                pick(["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{01}", "\u{1F}", "\u{7F}", "é", "日本", "😀", "\u{2028}", "\u{00}", "e\u{301}"])
            }.joined()
        }
        func double() -> Double {
            if chance(50) { return Double(Int64(bitPattern: random.next()) % 10_000_000) / 1000 }
            if chance(30) {
                let value = Double(bitPattern: random.next())
                return value.isFinite ? value : 1.5
            }
            return pick([0, -0.0, 0.1, 1e20, 1e-7, 1e15, 1e16, 1e21, 5e-324, .greatestFiniteMagnitude, 123456789.123, 2.5e-5, 3, -1e-300, .infinity])
        }
        func decimal() -> Decimal {
            let text = chance(70) ? "\(Int64(bitPattern: random.next()) % 1_000_000).\(random.next() % 1000)" : pick(["0", "-0", "-0.5", "12.30", "100", "123456789012345678901234567890", "0.000001", "-99.999", "1E20", "-1.5e-10", "18446744073709551615", "18446744073709551616", "0.1e-30", "7e40"])
            return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))!
        }
        func key() -> String {
            chance(95)
                ? (0..<Int(1 + random.next() % 5)).map { _ in pick(["a", "b", "B", "_", "-", "1", "10", "z", "Z", "aa"]) }.joined()
                : pick(["é", "ключ", "a\"b", "tab\t"])
        }
        return JSONSample(
            name: string(), count: chance(90) ? Int(Int64(bitPattern: random.next()) % 1_000_000) : pick([Int.max, Int.min, 0]),
            small: Int8(truncatingIfNeeded: random.next()), large: chance(90) ? random.next() % 1000 : pick([UInt64.max, 0]), ratio: double(),
            flag: chance(50), amount: decimal(), note: chance(70) ? string() : nil, kind: pick([.created, .paid, .refunded]),
            lines: (0..<Int(random.next() % 3)).map { _ in JSONSample.Line(sku: string(), quantity: Int32(truncatingIfNeeded: random.next()), price: decimal()) },
            scores: Dictionary((0..<Int(random.next() % 4)).map { _ in (key(), double()) }, uniquingKeysWith: { first, _ in first }),
            tags: chance(50) ? (0..<Int(random.next() % 3)).map { _ in string() } : nil,
            when: chance(5) ? Date(timeIntervalSince1970: 1_700_000_000.5) : nil, weight: chance(5) ? 0.1 : nil
        )
    }

    @Test("writes exactly JSONEncoder's bytes, on 20,000 seeded values", arguments: [UInt64(1), 2])
    func agreesWithJSONEncoder(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoder = JSONBytesEncoder()
        var disagreements: [String] = []
        var refusedAlike = 0
        for _ in 0..<10_000 {
            let value = Self.sample(&random)
            let theirs = try? Array(foundation.encode(value))
            let ours = try? encoder.encode(value)
            if theirs != ours { disagreements.append("\(value): JSONEncoder \(theirs.map { String(decoding: $0, as: UTF8.self) } ?? "refused"), ours \(ours.map { String(decoding: $0, as: UTF8.self) } ?? "refused")") }
            if theirs == nil && ours == nil { refusedAlike += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) values encode differently, e.g. \(disagreements.prefix(2))")
        #expect(refusedAlike > 0, "non-finite doubles are refused by both")
        print("JSONBytesEncoder corpus seed \(seed): \(encoder.fallbackCount) of 10,000 values left to JSONEncoder, \(refusedAlike) refused by both")
        #expect(encoder.fallbackCount < 3_000)
    }

    @Test("what it writes, JSONBytesDecoder and JSONDecoder read back")
    func roundTrips() throws {
        var random = SeededRandom(seed: 9)
        let encoder = JSONBytesEncoder()
        let decoder = JSONBytesDecoder()
        #expect(DecimalParts.layoutHolds, "decimals are written from their mantissa, not through description")
        for _ in 0..<2_000 {
            var value = Self.sample(&random)
            value.when = nil
            value.weight = nil
            guard value.ratio.isFinite, value.scores.values.allSatisfy(\.isFinite) else { continue }
            let bytes = try encoder.encode(value)
            #expect(try decoder.decode(JSONSample.self, from: bytes) == value)
            #expect(try JSONDecoder().decode(JSONSample.self, from: Data(bytes)) == value)
        }
    }

    @Test("the bytes it returns hold no spare capacity (a store keeping them kept the encoder's buffer)")
    func encodedBytesHoldNoSpareCapacity() throws {
        var random = SeededRandom(seed: 5)
        let encoder = JSONBytesEncoder()
        for _ in 0..<200 {
            let bytes = try encoder.encode(CustomerTotal(customerID: "CUST-\(random.next() % 1000)", orders: Int64(random.next() % 100), totalCents: 1))
            #expect(bytes.capacity <= bytes.count + 16, "\(bytes.count) bytes in a buffer of \(bytes.capacity)")
        }
    }

    enum FieldKey: String, CodingKey { case a, b, c }

    // A value asking for a second container traps inside `JSONEncoder` itself, so the fast
    // path's refusal of it (it declines, then `JSONEncoder` traps) is not tested here.
    @Test("nested containers leave the value to JSONEncoder")
    func unusualEncodersFallBack() throws {
        struct Nested: Encodable {
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: FieldKey.self)
                var inner = outer.nestedContainer(keyedBy: FieldKey.self, forKey: .b)
                try inner.encode("x", forKey: .a)
                try outer.encode(1, forKey: .c)
            }
        }
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoder = JSONBytesEncoder()
        #expect(try encoder.encode(Nested()) == Array(foundation.encode(Nested())))
        #expect(encoder.fallbackCount == 1)
        #expect(try encoder.encode(["b": 1, "a": 2]) == Array(#"{"a":2,"b":1}"#.utf8))
        #expect(encoder.fallbackCount == 1, "a plain map is written by the fast path")
    }
}
