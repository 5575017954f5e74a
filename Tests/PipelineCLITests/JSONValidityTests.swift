import Foundation
import Testing
import StreamCore

/// Byte sequences that are not UTF-8, seeded into `OrderCreated` values.
enum InvalidUTF8 {
    /// Overlong forms, UTF-16 surrogates, values above U+10FFFF, truncated sequences, lone
    /// continuation bytes and bytes that never occur in UTF-8.
    static let sequences: [(name: String, bytes: [UInt8])] = [
        ("overlong '/' in 2 bytes", [0xC0, 0xAF]), ("overlong '/' in 3 bytes", [0xE0, 0x80, 0xAF]),
        ("overlong '/' in 4 bytes", [0xF0, 0x80, 0x80, 0xAF]), ("overlong NUL", [0xC1, 0x80]),
        ("high surrogate U+D800", [0xED, 0xA0, 0x80]), ("low surrogate U+DFFF", [0xED, 0xBF, 0xBF]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]), ("lead byte F5", [0xF5, 0x80, 0x80, 0x80]),
        ("truncated 3-byte sequence", [0xE2, 0x82]), ("truncated 4-byte sequence", [0xF0, 0x9F, 0x98]),
        ("lone continuation 0x80", [0x80]), ("lone continuation 0xBF", [0xBF]), ("0xFF 0xFE", [0xFF, 0xFE]),
    ]

    /// An order whose customer id has `sequence` at a seeded position, as bytes.
    static func order(index: Int, sequence: [UInt8], random: inout SeededRandom) -> [UInt8] {
        let id = Array("CUST-\(index % 4)".utf8)
        let at = Int(random.next() % UInt64(id.count + 1))
        let customer = Array(id[..<at]) + sequence + Array(id[at...])
        return Array(#"{"event_type":"OrderCreated","order_id":"ORD-BAD-\#(index)","customer_id":""#.utf8) + customer
            + Array(#"","amount":1.00,"timestamp":"2025-06-11T12:00:00Z"}"#.utf8)
    }
}

/// One definition of valid JSON: `produce` refuses invalid UTF-8, and `order-totals` (fast path)
/// and `payment-service` (Codable) both dead-letter the same records as `DecodingError`s.
@Suite("JSON validity everywhere", .serialized)
struct JSONValidityTests {
    @Test("produce rejects a line with invalid UTF-8 inside a string, naming the line")
    func produceRejectsInvalidUTF8() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders")
        var random = SeededRandom(seed: 18_6)
        for (name, sequence) in InvalidUTF8.sequences {
            var input = Array(OrderLedger.orderLine(orderID: "ORD-1", customer: "CUST-1", amount: "1.00").utf8) + [0x0A]
            input += InvalidUTF8.order(index: 2, sequence: sequence, random: &random) + [0x0A]
            let result = try scratch.run(["produce", "orders", "--key-field", "customer_id"], stdin: Data(input))
            expectOneLineError(result, containing: ["line 2", "malformed JSON"])
            #expect(result.exitCode != 0, "\(name) was accepted")
        }
    }

    @Test("order-totals and payment-service dead-letter the same invalid records; totals count only the valid ones")
    func pipelinesDeadLetterInvalidUTF8() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 18_6)
        try scratch.produceOrders(ledger.goodOrders(40, customers: 0..<4, using: &random))
        var raw = Data()
        for (index, (_, sequence)) in InvalidUTF8.sequences.enumerated() {
            raw.append(contentsOf: InvalidUTF8.order(index: index, sequence: sequence, random: &random))
            raw.append(0x0A)
        }
        let path = scratch.root.appendingPathComponent("invalid.jsonl")
        try raw.write(to: path)
        expectSuccess(try scratch.run(["produce", "orders", "--format", "raw", "--key", OrderLedger.customerID(1), "--file", path.path]))

        for pipeline in ["order-totals", "payment-service"] {
            expectRunSuccess(try scratch.run(["run", pipeline, "--until-idle"], timeout: 120), pipeline: pipeline)
            let letters = try scratch.envelopes("\(pipeline).dlq")
            #expect(letters.count == InvalidUTF8.sequences.count, "\(pipeline): \(letters.count) dead letters for \(InvalidUTF8.sequences.count) invalid records")
            #expect(letters.allSatisfy { $0.header("dlq.error.type") == "DecodingError" && $0.header("dlq.stage") == "decode" },
                    "\(pipeline): \(letters.map { $0.header("dlq.error.type") ?? "?" })")
        }
        let totals = try CustomerTotalRow.decodeAll(try scratch.values("customer-totals"))
        #expect(totals.count == ledger.goodCount, "\(totals.count) updates for \(ledger.goodCount) valid orders")
        #expect(totals.allSatisfy { !$0.customer_id.unicodeScalars.contains("\u{FFFD}") }, "a total under a replaced customer id")
    }
}
