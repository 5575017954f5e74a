import Foundation
import Testing
import Avro
import Sluice
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import SchemaRegistry
import EngineTestSupport
import Simulation
@testable import pipeline

/// The seed's v1 order (no `amount`), as a v1 producer writes it.
private struct OrderV1: Codable {
    var order_id: String
    var customer_id: String
    var timestamp: String
}

private let schemasDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Pipelines/schemas").standardized

private func shippedSchema(_ name: String) throws -> String {
    try String(contentsOf: schemasDirectory.appendingPathComponent(name), encoding: .utf8)
}

/// Confluent's wire format: magic 0, the id big-endian, the body.
private func wireFormat(id: Int32, _ body: [UInt8]) -> [UInt8] {
    let raw = UInt32(bitPattern: id)
    return [0, UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)] + body
}

private func v1Record(_ order: OrderV1, id: Int32) throws -> [UInt8] {
    wireFormat(id: id, try AvroBinaryEncoder(schema: try AvroSchema(parsing: try shippedSchema("order-created-v1.avsc"))).encode(order))
}

private func order(_ number: Int, customer: String = "CUST-1", cents: Int64) -> AvroOrderCreated {
    AvroOrderCreated(orderID: "ORD-\(number)", customerID: customer, timestamp: "2025-06-11T12:00:00Z",
                     amount: AvroDecimal(unscaled: cents, scale: 2))
}

@Suite("Avro in pipelines: the .avro serde, its dead letters, avro-order-totals")
struct AvroPipelineTests {
    @Test("the shipped schemas are the ones the pipeline declares, and v2 is BACKWARD compatible with v1")
    func shippedSchemas() throws {
        let v1 = try AvroSchema(parsing: try shippedSchema("order-created-v1.avsc"))
        let v2 = try AvroSchema(parsing: try shippedSchema("order-created-v2.avsc"))
        #expect(try AvroSchema(parsing: AvroOrderCreated.avroSchema).normalizedJSON == v2.normalizedJSON)
        #expect(try AvroSchema(parsing: AvroCustomerTotal.avroSchema).normalizedJSON
                == AvroSchema(parsing: try shippedSchema("customer-total-v1.avsc")).normalizedJSON)
        #expect(AvroCompatibility.incompatibilities(of: v2, against: [v1], level: .backward).isEmpty)
    }

    @Test("round trip: the serde writes the wire format with the subject's id and reads it back; avro-order-totals sums exact cents")
    func roundTrip() throws {
        let catalog = AvroSchemaCatalog()
        catalog.register(json: try shippedSchema("order-created-v1.avsc"), subject: "orders-avro-value")
        let serde = Serde.avro(AvroOrderCreated.self, subject: "orders-avro-value").bound(to: catalog)
        let bytes = try serde.encode(order(1, cents: 1250))
        // v2 is registered by the first write: id 2 after v1's 1.
        #expect(Array(bytes.prefix(5)) == [0, 0, 0, 0, 2])
        #expect(try serde.decode(bytes) == order(1, cents: 1250))

        let driver = PipelineTestDriver(AvroOrderTotals(), partitions: 2, schemas: catalog)
        driver.sendRaw(to: "orders-avro", key: Array("CUST-1".utf8), bytes: bytes)
        driver.sendRaw(to: "orders-avro", key: Array("CUST-1".utf8), bytes: try serde.encode(order(2, cents: 99)))
        driver.sendRaw(to: "orders-avro", key: Array("CUST-2".utf8), bytes: try serde.encode(order(3, customer: "CUST-2", cents: 5)))
        #expect(driver.failures.isEmpty)
        let totals = Serde.avro(AvroCustomerTotal.self, subject: "customer-totals-avro-value").bound(to: catalog)
        let out = try driver.records(in: "customer-totals-avro").map { try totals.decode($0.value ?? []) }
        #expect(out.filter { $0.customerID == "CUST-1" }.last == AvroCustomerTotal(customerID: "CUST-1", orders: 2, totalCents: 1349))
        #expect(out.filter { $0.customerID == "CUST-2" } == [AvroCustomerTotal(customerID: "CUST-2", orders: 1, totalCents: 5)])
    }

    @Test("a v1 record (no amount) reads as the v2 reader with the default 0.00")
    func writerV1ReaderV2() throws {
        let catalog = AvroSchemaCatalog()
        let v1 = catalog.register(json: try shippedSchema("order-created-v1.avsc"), subject: "orders-avro-value")
        let bytes = try v1Record(OrderV1(order_id: "ORD-1", customer_id: "CUST-1", timestamp: "2025-06-11T12:00:00Z"), id: v1)
        let serde = Serde.avro(AvroOrderCreated.self, subject: "orders-avro-value").bound(to: catalog)
        #expect(try serde.decode(bytes) == order(1, cents: 0))

        let driver = PipelineTestDriver(AvroOrderTotals(), schemas: catalog)
        driver.sendRaw(to: "orders-avro", key: Array("CUST-1".utf8), bytes: bytes)
        let totals = Serde.avro(AvroCustomerTotal.self, subject: "customer-totals-avro-value").bound(to: catalog)
        #expect(try driver.records(in: "customer-totals-avro").map { try totals.decode($0.value ?? []) }
                == [AvroCustomerTotal(customerID: "CUST-1", orders: 1, totalCents: 0)])
    }

    @Test("NotAvro, UnknownSchemaId and SchemaMismatch fail at stage decode with dlq.schema.id, and the pipeline goes on")
    func wireFormatFailuresInTheDriver() throws {
        let catalog = AvroSchemaCatalog()
        let v1 = catalog.register(json: try shippedSchema("order-created-v1.avsc"), subject: "orders-avro-value")
        let incompatible = catalog.register(json: try shippedSchema("order-created-incompatible.avsc"), subject: "other")
        let serde = Serde.avro(AvroOrderCreated.self, subject: "orders-avro-value").bound(to: catalog)
        let driver = PipelineTestDriver(AvroOrderTotals(), schemas: catalog)
        let key = Array("CUST-1".utf8)
        driver.sendRaw(to: "orders-avro", key: key, bytes: Array(#"{"order_id":"ORD-1"}"#.utf8))          // magic byte '{'
        driver.sendRaw(to: "orders-avro", key: key, bytes: [0, 0, 0])                                       // shorter than the header
        driver.sendRaw(to: "orders-avro", key: key, bytes: wireFormat(id: 99, [2, 0x41]))                  // no schema 99
        driver.sendRaw(to: "orders-avro", key: key, bytes: wireFormat(id: v1, [0x0A, 0x41]))               // truncated body
        driver.sendRaw(to: "orders-avro", key: key, bytes: wireFormat(id: incompatible, [2, 0x41, 2, 0x42, 2, 0x43, 2, 0x44]))
        driver.sendRaw(to: "orders-avro", key: key, bytes: try serde.encode(order(7, cents: 700)))
        #expect(driver.failures.map(\.stage) == [.decode, .decode, .decode, .decode, .decode])
        #expect(driver.failures.map(\.errorType) == ["NotAvro", "NotAvro", "UnknownSchemaId", "SchemaMismatch", "SchemaMismatch"])
        #expect(driver.failures.map { $0.deadLetterHeaders.map(\.name) } == Array(repeating: ["dlq.schema.id"], count: 5))
        #expect(driver.failures.map { $0.deadLetterHeaders.first?.value } == ["none", "none", "99", String(v1), String(incompatible)])
        #expect(driver.failures[4].message.contains("customer_id"))
        // The good record after them was counted.
        #expect(driver.records(in: "customer-totals-avro").count == 1)
    }

    @Test("re-keying an Avro stream repartitions through JSON: nothing is registered under the source's subject")
    func repartitionOfAnAvroStream() throws {
        let catalog = AvroSchemaCatalog()
        let v1 = catalog.register(json: try shippedSchema("order-created-v1.avsc"), subject: "orders-avro-value")
        let driver = PipelineTestDriver(OrdersPerTimestamp(), partitions: 2, schemas: catalog)
        for n in 0..<4 {
            driver.sendRaw(to: "orders-avro", key: nil,
                           bytes: try v1Record(OrderV1(order_id: "ORD-\(n)", customer_id: "CUST-\(n)", timestamp: "T\(n % 2)"), id: v1))
        }
        #expect(driver.failures.isEmpty)
        #expect(catalog.schema(id: v1 + 1) == nil, "the reader's schema was not registered")
        let topic = try #require(driver.topology.internalTopics.first)
        let repartitioned = driver.records(in: topic).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(repartitioned.count == 4 && repartitioned.allSatisfy { $0.hasPrefix("{") })
        #expect(driver.store("per-timestamp").count == 2)
    }

    @Test("avroBinary: the type's schema without header or registry, the same bytes bound to a worker or not")
    func avroBinary() throws {
        let total = AvroCustomerTotal(customerID: "CUST-1", orders: 3, totalCents: 1349)
        let unbound = Serde.avroBinary(AvroCustomerTotal.self)
        let bound = unbound.bound(to: AvroSchemaCatalog())
        let expected = try AvroBinaryEncoder(schema: try AvroSchema(parsing: AvroCustomerTotal.avroSchema)).encode(total)
        #expect(try unbound.encode(total) == expected && bound.encode(total) == expected)
        #expect(try unbound.decode(expected) == total && bound.decode(bound.encode(total)) == total)
        #expect(throws: (any Error).self) { try bound.decode(Array(expected.dropLast())) }
    }

    @Test("a replay from earliest rebuilds avro-order-totals' store exactly as the first run left it, and appends the same totals again")
    func replayFromEarliest() throws {
        let engine = try TestEngine()
        let registry = try SchemaRegistry(log: engine.log, rules: .avro)
        let v1 = try registry.register(subject: "orders-avro-value", schema: try shippedSchema("order-created-v1.avsc")).id
        let topic = try engine.createTopic("orders-avro", partitions: 3)
        let producer = try engine.producer("input")
        try producer.beginTransaction()
        for n in 0..<60 {
            let customer = "CUST-\(n % 7)"
            let order = OrderV1(order_id: "ORD-\(n)", customer_id: customer, timestamp: "2025-06-11T12:00:00Z")
            try producer.send(topic: topic, key: Array(customer.utf8), value: try v1Record(order, id: v1))
        }
        try producer.commitTransaction()
        let schemas = RegistrySchemaSource(registry: registry)
        func run() throws -> [String] {
            let runner = try PipelineRunner(pipeline: AvroOrderTotals(), log: engine.log, coordinator: engine.coordinator,
                                            pollRecordsMax: 7, schemas: schemas)
            try runner.run(untilIdle: true)
            return runner.committedEntries(of: "customer-totals").map { "\($0.key)=\($0.value)" }.sorted()
        }
        let first = try run()
        #expect(first.count == 7)
        let plan = try PipelineReplay.plan(pipeline: AvroOrderTotals(), start: .earliest, log: engine.log, coordinator: engine.coordinator)
        _ = try PipelineReplay.execute(plan, log: engine.log, coordinator: engine.coordinator)
        #expect(try run() == first)
        let output = try records(in: "customer-totals-avro", of: engine.log)
        #expect(output.count == 120, "the first run's 60 totals and the rerun's 60")
        #expect(Set(output.map { AvroWireCodecHeader.id(of: $0.value ?? []) }).count == 1, "one schema id for every total")
    }

    @Test("a registry that cannot answer stops the pipeline instead of dead-lettering the record, and a rerun reads it again")
    func registryDown() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("orders-avro")
        let producer = try engine.producer("input")
        try producer.beginTransaction()
        try producer.send(topic: topic, key: Array("CUST-1".utf8), value: wireFormat(id: 1, [2, 0x41]))
        try producer.commitTransaction()
        // The registry opens at the first lookup and must create __schemas: on a full disk it cannot.
        let runner = try PipelineRunner(pipeline: AvroOrderTotals(), log: engine.log, coordinator: engine.coordinator)
        engine.disk.faults = .init(capacityBytes: engine.disk.storedBytes)
        #expect(throws: SchemaSourceFailure.self) { for _ in 0..<10 { try runner.step() } }
        engine.disk.faults = .none
        try engine.crashAndReopen()
        #expect(try records(in: "avro-order-totals.dlq", of: engine.log).isEmpty, "nothing was dead-lettered")

        let rerun = try PipelineRunner(pipeline: AvroOrderTotals(), log: engine.log, coordinator: engine.coordinator)
        for _ in 0..<20 where !rerun.isIdle { try rerun.step() }
        let letters = try records(in: "avro-order-totals.dlq", of: engine.log)
        #expect(letters.map { $0.headers.first { $0.key == "dlq.error.type" }.map { String(decoding: $0.value ?? [], as: UTF8.self) } }
                == ["UnknownSchemaId"], "read again once the registry answers: no schema 1")
    }

    @Test("an unbound .avro serde says so instead of guessing")
    func unboundSerde() {
        #expect(throws: AvroSerdeUnbound.self) { try Serde.avro(AvroOrderCreated.self, subject: "s").decode([0, 0, 0, 0, 1]) }
    }

    @Test("in the runtime over the data directory's registry: v1 and v2 orders summed, the three failures dead-lettered with their headers in the DLQ")
    func runtimeWithTheRegistry() throws {
        let engine = try TestEngine()
        let registry = try SchemaRegistry(log: engine.log, rules: .avro)
        let v1 = try registry.register(subject: "orders-avro-value", schema: try shippedSchema("order-created-v1.avsc")).id
        let v2 = try registry.register(subject: "orders-avro-value", schema: try shippedSchema("order-created-v2.avsc")).id
        let topic = try engine.createTopic("orders-avro", partitions: 2)
        let producer = try engine.producer("input")
        let v2Body = try AvroBinaryEncoder(schema: try AvroSchema(parsing: AvroOrderCreated.avroSchema)).encode(order(2, cents: 1250))
        let values: [[UInt8]] = [
            try v1Record(OrderV1(order_id: "ORD-1", customer_id: "CUST-1", timestamp: "2025-06-11T12:00:00Z"), id: v1),
            wireFormat(id: v2, v2Body),
            Array("not avro".utf8),
            wireFormat(id: 4242, v2Body),
            wireFormat(id: v2, [0x7F]),
            wireFormat(id: v2, v2Body),
        ]
        try producer.beginTransaction()
        for value in values { try producer.send(topic: topic, key: Array("CUST-1".utf8), value: value) }
        try producer.commitTransaction()

        let runner = try PipelineRunner(pipeline: AvroOrderTotals(), log: engine.log, coordinator: engine.coordinator,
                                        schemas: RegistrySchemaSource(registry: registry))
        for _ in 0..<50 where !runner.isIdle { try runner.step() }
        #expect(runner.isIdle)

        let source = RegistrySchemaSource(registry: registry)
        let totals = Serde.avro(AvroCustomerTotal.self, subject: "customer-totals-avro-value").bound(to: source)
        let out = try records(in: "customer-totals-avro", of: engine.log).map { try totals.decode($0.value ?? []) }
        #expect(out.last == AvroCustomerTotal(customerID: "CUST-1", orders: 3, totalCents: 2500))
        #expect(try registry.version(.latest, of: "customer-totals-avro-value").version == 1)

        let letters = try records(in: "avro-order-totals.dlq", of: engine.log)
        func header(_ name: String) -> [String] {
            letters.map { letter in letter.headers.first { $0.key == name }.map { String(decoding: $0.value ?? [], as: UTF8.self) } ?? "-" }
        }
        #expect(header("dlq.stage") == ["decode", "decode", "decode"])
        #expect(header("dlq.error.type") == ["NotAvro", "UnknownSchemaId", "SchemaMismatch"])
        #expect(header("dlq.schema.id") == ["none", "4242", String(v2)])
        #expect(letters.map(\.value) == [values[2], values[3], values[4]])
    }
}

/// Counts Avro orders per timestamp: a `key(by:)` and a count, so through a repartition topic.
private struct OrdersPerTimestamp: PipelineDefinition {
    let name = "per-timestamp"
    let summary = "orders per timestamp"
    var body: Topology {
        Source("orders-avro", value: .avro(AvroOrderCreated.self, subject: "orders-avro-value"))
            .key(by: \.timestamp)
            .groupByKey()
            .count(store: "per-timestamp")
            .sink("counts", value: .int64)
    }
}

/// The schema id of a wire-format value (-1 without a header).
private enum AvroWireCodecHeader {
    static func id(of value: [UInt8]) -> Int32 {
        guard value.count >= 5, value[0] == 0 else { return -1 }
        return Int32(bitPattern: UInt32(value[1]) << 24 | UInt32(value[2]) << 16 | UInt32(value[3]) << 8 | UInt32(value[4]))
    }
}

/// Every committed record of `topic`, partition by partition.
private func records(in name: String, of log: LogManager) throws -> [ConsumerRecord] {
    var config = ConsumerConfig()
    config.isolation = .readCommitted
    config.autoOffsetReset = .earliest
    let consumer = LogConsumer(log: log, config: config)
    try consumer.assign(try log.topic(TopicName(rawValue: name)!).partitions.map(\.topicPartition))
    var all: [ConsumerRecord] = []
    while true {
        let batch = try consumer.poll(maxRecords: 10_000)
        if batch.isEmpty { break }
        all += batch
    }
    return all
}
