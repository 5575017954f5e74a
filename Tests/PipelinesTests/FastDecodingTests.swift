import Foundation
import Testing
import Sluice
import StreamCore
@testable import pipeline

@Suite("the fast OrderCreated and CustomerTotal serdes agree with Codable")
struct FastDecodingTests {
    /// Orders of the plain shape and of every shape the fast path must leave to Codable.
    static func corpus(seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        var lines: [String] = []
        for index in 0..<400 {
            let cents = Int(random.next() % 300_000)
            let amount = ["\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)", "\(cents / 100)", "\(cents / 100).5", "1e2", "-3.25", "0.001", "\"12\""][Int(random.next() % 7)]
            let customer = ["CUST-\(index)", "CUST-\\\"q\\\"", "CUST-\\u00e9", "", "CUST-ü"][Int(random.next() % 5)]
            var line = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
            switch random.next() % 8 {
            case 0: line = line.replacingOccurrences(of: ",", with: " , ")
            case 1: line = line.replacingOccurrences(of: #""timestamp""#, with: #""extra":[1,2],"timestamp""#)
            case 2: line = String(line.dropLast())
            case 3: line = line.replacingOccurrences(of: #""order_id":"ORD-\#(index)","#, with: "")
            default: break
            }
            lines.append(line)
        }
        return lines
    }

    @Test("the fast decoder decodes exactly what JSONDecoder decodes, and fails where it fails", arguments: [UInt64(1), 2, 3])
    func agreesWithCodable(seed: UInt64) {
        for line in Self.corpus(seed: seed) {
            let bytes = Array(line.utf8)
            let reference = try? JSONDecoder().decode(OrderCreated.self, from: Data(bytes))
            let fast = try? OrderCreatedFastDecoding.decode(bytes)
            #expect(fast == reference, "seed \(seed): \(line)")
            // The cents it read directly equal the Decimal path's (or both refuse), and the
            // amount re-encodes to the same JSON.
            #expect((try? fast?.amountInCents()) == (try? reference?.amountInCents()), "seed \(seed): \(line)")
            let encoder = JSONEncoder()
            #expect((try? fast.map { try encoder.encode($0.amount) }) == (try? reference.map { try encoder.encode($0.amount) }), "seed \(seed): \(line)")
        }
    }

    @Test("the totals serde writes the contract's JSON and reads it back",
          arguments: ["CUST-4567", "CUST-\"q\"", "CUST-ü", "", "a/b\\c", "tab\there\u{01}\u{1F}\n\r\u{08}\u{0C}", "🎉 CUST-\u{7F}"],
          [(Int64(3), Int64(3750)), (0, 0), (1, -1), (Int64.max, Int64.min), (9, 10), (99, 100), (1_000_000_007, 999_999_999_999)])
    func totalsRoundTrip(customer: String, numbers: (Int64, Int64)) throws {
        let total = CustomerTotal(customerID: customer, orders: numbers.0, totalCents: numbers.1)
        let bytes = try CustomerTotal.outputSerde.encode(total)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(bytes == Array(try encoder.encode(total)), "the same bytes as JSONEncoder")
        #expect(try CustomerTotal.storeSerde.decode(bytes) == total)
    }
}
