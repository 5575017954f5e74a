import Foundation
import Testing

/// `topics create|alter --value-subject`, `produce --avro-subject`, `consume --avro` and the
/// shipped `avro-order-totals`, against the real binary.
@Suite("Avro on the command line")
struct AvroCommandTests {
    private func shippedSchema(_ name: String, into scratch: Scratch) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Pipelines/schemas/\(name)")
        let target = scratch.root.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target.path
    }

    private static let orders = [
        #"{"order_id":"ORD-1","customer_id":"CUST-1","timestamp":"2025-06-11T12:00:00Z","amount":12.50}"#,
        #"{"order_id":"ORD-2","customer_id":"CUST-1","timestamp":"2025-06-11T12:00:01Z","amount":"3.25"}"#,
        #"{"order_id":"ORD-3","customer_id":"CUST-2","timestamp":"2025-06-11T12:00:02Z"}"#,
    ]

    @Test("produce --avro-subject encodes JSON lines with the latest schema, a line that does not fit names the line and the field; consume --avro prints them back")
    func produceAndConsumeAvro() throws {
        let scratch = try Scratch()
        expectSuccess(try scratch.run(["schemas", "register", "orders-avro-value", "--file", try shippedSchema("order-created-v1.avsc", into: scratch)]))
        expectSuccess(try scratch.run(["schemas", "register", "orders-avro-value", "--file", try shippedSchema("order-created-v2.avsc", into: scratch)]))
        expectSuccess(try scratch.run(["topics", "create", "orders-avro"]))
        let produced = try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value", "--key-field", "customer_id"],
                                       input: Self.orders.joined(separator: "\n") + "\n")
        expectSuccess(produced)
        #expect(produced.stdoutLines == ["produced 3 records to orders-avro (partition 0: 3)"])

        let consumed = try scratch.run(["consume", "orders-avro", "--avro"])
        expectSuccess(consumed)
        #expect(consumed.stdoutLines == [
            #"{"order_id":"ORD-1","customer_id":"CUST-1","timestamp":"2025-06-11T12:00:00Z","amount":"12.50"}"#,
            #"{"order_id":"ORD-2","customer_id":"CUST-1","timestamp":"2025-06-11T12:00:01Z","amount":"3.25"}"#,
            #"{"order_id":"ORD-3","customer_id":"CUST-2","timestamp":"2025-06-11T12:00:02Z","amount":"0.00"}"#,
        ])
        let raw = try scratch.run(["consume", "orders-avro", "--max", "1", "--format", "json"])
        #expect(raw.stdout.contains("\"value_encoding\":\"base64\""), "stored as the wire format, not JSON: \(raw)")

        let bad = try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value"], input: """
            \(Self.orders[0])
            {"order_id":"ORD-9","timestamp":"2025-06-11T12:00:00Z"}
            """)
        expectOneLineError(bad, containing: ["line 2", "customer_id", "orders-avro-value version 2", "1 record"])
        let wrongType = try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value"],
                                        input: #"{"order_id":1,"customer_id":"C","timestamp":"t"}"#)
        expectOneLineError(wrongType, containing: ["line 1", "order_id"])
        let unknownField = try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value"],
                                           input: #"{"event_type":"OrderCreated","order_id":"O","customer_id":"C","timestamp":"t"}"#)
        expectOneLineError(unknownField, containing: ["line 1", "field 'event_type' is not in record 'OrderCreated'"])
        expectOneLineError(try scratch.run(["produce", "orders-avro", "--avro-subject", "nope-value"], input: Self.orders[0]),
                           containing: ["nope-value", "not found"])
        expectUsageError(try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value", "--format", "raw"], input: "x"),
                         containing: ["--avro-subject needs --format json"])

        // A value that is not Avro, or names an unknown id, is reported on stderr and printed without a value.
        expectSuccess(try scratch.run(["produce", "orders-avro", "--format", "raw"], input: "plain\n"))
        expectSuccess(try scratch.run(["produce", "orders-avro", "--format", "raw"], input: "\u{0}\u{0}\u{0}\u{0}\u{9}xx\n"))
        let mixed = try scratch.run(["consume", "orders-avro", "--avro", "--format", "json"])
        #expect(mixed.exitCode == 0, "\(mixed)")
        #expect(mixed.stdoutLines.count == 6 && mixed.stdoutLines.suffix(2).allSatisfy { $0.contains(#""value":null"#) }, "\(mixed)")
        #expect(mixed.stderr.contains("orders-avro/0 offset 4: not Avro in Confluent's wire format (5 bytes)"), "\(mixed)")
        #expect(mixed.stderr.contains("orders-avro/0 offset 5: schema id 9 is not in the schema registry"), "\(mixed)")
    }

    @Test("a topic that requires a subject: describe shows it, produce refuses anything else naming the line, alter sets and removes it")
    func valueSubject() throws {
        let scratch = try Scratch()
        expectSuccess(try scratch.run(["schemas", "register", "orders-avro-value", "--file", try shippedSchema("order-created-v2.avsc", into: scratch)]))
        expectSuccess(try scratch.run(["schemas", "register", "other-value", "--file", try shippedSchema("customer-total-v1.avsc", into: scratch)]))
        let created = try scratch.run(["topics", "create", "orders-avro", "--value-subject", "orders-avro-value"])
        expectSuccess(created)
        #expect(created.stdout.contains("value subject orders-avro-value"))
        #expect(try scratch.run(["topics", "describe", "orders-avro"]).stdoutLines.contains("value.subject: orders-avro-value"))

        expectOneLineError(try scratch.run(["produce", "orders-avro"], input: Self.orders[0]),
                           containing: ["line 1", "value.subject", "not Avro in Confluent's wire format"])
        // Another subject's schema is not this subject's.
        let other = #"{"customer_id":"CUST-1","orders":1,"total_cents":5}"#
        expectOneLineError(try scratch.run(["produce", "orders-avro", "--avro-subject", "other-value"], input: other),
                           containing: ["line 1", "schema id 2 is not registered under subject 'orders-avro-value'"])
        #expect(try scratch.run(["consume", "orders-avro"]).stdoutLines.isEmpty, "nothing of a refused produce was appended")
        expectSuccess(try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value"], input: Self.orders[0]))

        let removed = try scratch.run(["topics", "alter", "orders-avro", "--no-value-subject"])
        expectSuccess(removed)
        #expect(try scratch.run(["topics", "describe", "orders-avro"]).stdoutLines.contains("value.subject: none"))
        expectSuccess(try scratch.run(["produce", "orders-avro"], input: Self.orders[0]))
        expectSuccess(try scratch.run(["topics", "alter", "orders-avro", "--value-subject", "orders-avro-value"]))
        expectOneLineError(try scratch.run(["produce", "orders-avro"], input: Self.orders[0]), containing: ["line 1", "value.subject"])
        expectUsageError(try scratch.run(["topics", "alter", "orders-avro"]), containing: ["--value-subject"])
        expectOneLineError(try scratch.run(["topics", "alter", "nope", "--value-subject", "x"]), containing: ["nope"])
    }

    @Test("pipeline run avro-order-totals sums v1 and v2 orders into Avro totals and dead-letters a record that is not Avro")
    func avroOrderTotals() throws {
        let scratch = try Scratch()
        expectSuccess(try scratch.run(["schemas", "register", "orders-avro-value", "--file", try shippedSchema("order-created-v1.avsc", into: scratch)]))
        expectSuccess(try scratch.run(["topics", "create", "orders-avro", "--partitions", "2"]))
        let v1Order = #"{"order_id":"ORD-0","customer_id":"CUST-2","timestamp":"2025-06-11T12:00:00Z"}"#
        expectSuccess(try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value", "--key-field", "customer_id"], input: v1Order))
        expectSuccess(try scratch.run(["schemas", "register", "orders-avro-value", "--file", try shippedSchema("order-created-v2.avsc", into: scratch)]))
        expectSuccess(try scratch.run(["produce", "orders-avro", "--avro-subject", "orders-avro-value", "--key-field", "customer_id"],
                                      input: Self.orders.joined(separator: "\n")))
        expectSuccess(try scratch.run(["produce", "orders-avro", "--key", "CUST-1"], input: #"{"not":"avro"}"#))
        expectSuccess(try scratch.run(["run", "avro-order-totals", "--until-idle"]))

        let totals = try scratch.run(["consume", "customer-totals-avro", "--avro"]).stdoutLines
        #expect(totals.last { $0.contains("CUST-1") } == #"{"customer_id":"CUST-1","orders":2,"total_cents":1575}"#)
        #expect(totals.last { $0.contains("CUST-2") } == #"{"customer_id":"CUST-2","orders":2,"total_cents":0}"#)
        let letters = try scratch.run(["dlq", "list", "avro-order-totals"])
        #expect(letters.stdout.contains("NotAvro") && letters.stdout.contains("decode"), "\(letters)")
        let shown = try scratch.run(["dlq", "show", "avro-order-totals"])
        #expect(shown.stdout.contains("dlq.schema.id: none"), "\(shown)")
        #expect(try scratch.run(["schemas", "show", "customer-totals-avro-value"]).stdoutLines.contains("version: 1"))
    }
}
