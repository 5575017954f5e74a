import Testing
import Simulation
import StreamCore
import RecordFormat
import LogStorage
import SchemaRegistry
import PipelineRuntime
import EngineTestSupport
@testable import KafkaBroker

/// Produce to a topic that requires a subject (`value.subject`), checked by the data directory's
/// real schema registry as `pipeline serve` wires it.
@Suite struct ValueSubjectProduceTests {
    static let orderV1 = #"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"}]}"#
    static let other = #"{"type":"record","name":"Other","fields":[{"name":"x","type":"long"}]}"#

    /// A broker whose Produce checks subjects with `schemas`, and the topic `orders` requiring `orders-value`.
    static func broker(_ fixture: BrokerFixture, schemas: RegistrySchemaSource?) throws -> KafkaBroker {
        var config = KafkaBrokerConfig()
        if let schemas { config.valueSubjectCheck = { value, subject in schemas.valueSubjectRefusal(value, subject: subject) } }
        fixture.createTopic("orders")
        try fixture.log.setValueSubject("orders-value", of: TopicName(rawValue: "orders")!)
        return try KafkaBroker(log: fixture.log, coordinator: fixture.engine.coordinator, config: config)
    }

    static func wire(_ id: Int32, _ body: [UInt8] = [2, 0x41]) -> [UInt8] { [0, 0, 0, 0, UInt8(id)] + body }

    static func batch(_ values: [[UInt8]]) -> [UInt8] {
        var builder = RecordBatchBuilder()
        for value in values { builder.append(key: nil, value: value, headers: [], timestamp: Timestamp(milliseconds: 1_750_000_000_000)) }
        return try! builder.build()
    }

    static func produce(_ broker: KafkaBroker, _ batch: [UInt8]) -> ProducePartitionResult {
        broker.produce(ProduceRequest(apiVersion: 9, acks: -1, topicData: [
            ProduceTopicRequest(name: "orders", partitionData: [ProducePartitionRequest(index: 0, records: batch)]),
        ])).responses[0].partitionResponses[0]
    }

    @Test func valuesWithAnIDOfTheSubjectAreAppendedAndAnyOtherRefusesItsWholeBatch() throws {
        let fixture = try BrokerFixture()
        let registry = try SchemaRegistry(log: fixture.log, rules: .avro)
        let v1 = try registry.register(subject: "orders-value", schema: Self.orderV1).id
        let elsewhere = try registry.register(subject: "other-value", schema: Self.other).id
        let broker = try Self.broker(fixture, schemas: RegistrySchemaSource(registry: registry))

        let cases: [(values: [[UInt8]], reason: String)] = [
            ([Self.wire(v1), Self.wire(v1), Array(#"{"order_id":"x"}"#.utf8)], "record 2 of the batch (offset delta 2)"),
            ([Self.wire(v1), [0, 0]], "shorter than Confluent's wire-format header"),
            ([Self.wire(elsewhere)], "schema id \(elsewhere) is not registered under subject 'orders-value'"),
            ([Self.wire(v1), Self.wire(77)], "record 1 of the batch (offset delta 1)"),
            ([Self.wire(77)], "schema id 77 is not in the schema registry"),
        ]
        for (values, reason) in cases {
            let result = Self.produce(broker, Self.batch(values))
            #expect(result.errorCode == .invalidRecord)
            #expect(result.errorMessage?.contains(reason) == true, "\(result.errorMessage ?? "no message")")
            #expect(result.errorMessage?.contains("nothing of the batch was appended") == true)
        }
        #expect(fixture.consume("orders", isolation: .readUncommitted).isEmpty, "no refused batch left a record")
        let accepted = Self.produce(broker, Self.batch([Self.wire(v1), Self.wire(v1, [2, 0x42])]))
        #expect(accepted.errorCode == .none && accepted.baseOffset == 0)
        #expect(fixture.consume("orders", isolation: .readUncommitted).count == 2)
    }

    @Test func aSoftDeletedVersionNoLongerCounts() throws {
        let fixture = try BrokerFixture()
        let registry = try SchemaRegistry(log: fixture.log, rules: .avro)
        let v1 = try registry.register(subject: "orders-value", schema: Self.orderV1).id
        let broker = try Self.broker(fixture, schemas: RegistrySchemaSource(registry: registry))
        #expect(Self.produce(broker, Self.batch([Self.wire(v1)])).errorCode == .none)
        _ = try registry.deleteSubject("orders-value", permanent: false)
        #expect(Self.produce(broker, Self.batch([Self.wire(v1)])).errorCode == .invalidRecord)
    }

    @Test func withoutARegistryATopicThatRequiresASubjectRefusesEverything() throws {
        let fixture = try BrokerFixture()
        let broker = try Self.broker(fixture, schemas: nil)
        let result = Self.produce(broker, Self.batch([Self.wire(1)]))
        #expect(result.errorCode == .invalidRecord)
        #expect(result.errorMessage?.contains("no schema registry") == true)
    }

    /// A power loss at any step of setting the subject leaves the topic with the old setting or
    /// the new one, its data intact; an acknowledged one survives the next power loss.
    @Test(arguments: [UInt64(1), 2, 3])
    func settingTheSubjectIsCrashAtomic(seed: UInt64) throws {
        let name = TopicName(rawValue: "orders")!
        func prepared() throws -> BrokerFixture {
            let fixture = try BrokerFixture(seed: seed)
            fixture.disk.faults = .init(tornWrites: true, unsyncedEntryLoss: true)
            fixture.createTopic("orders")
            #expect(fixture.produce("orders", clientBatch(["before"]), acks: -1).errorCode == .none)
            return fixture
        }
        let steps: Int
        do {
            let fixture = try prepared()
            let before = fixture.disk.mutatingOperationCount
            try fixture.log.setValueSubject("orders-value", of: name)
            steps = fixture.disk.mutatingOperationCount - before
            try fixture.crashAndReopen()
            #expect(try fixture.log.topic(name).config.valueSubject == "orders-value", "acknowledged, then a power loss")
        }
        #expect(steps >= 3, "several steps (\(steps))")
        var outcomes: [String: Int] = [:]
        for step in 0..<steps {
            let fixture = try prepared()
            fixture.disk.crash(afterOperations: step)
            #expect(throws: (any Error).self, "step \(step): a change cut short is not acknowledged") {
                try fixture.log.setValueSubject("orders-value", of: name)
            }
            try fixture.crashAndReopen()
            let subject = try fixture.log.topic(name).config.valueSubject
            outcomes[subject ?? "none", default: 0] += 1
            #expect(subject == nil || subject == "orders-value", "step \(step)")
            #expect(fixture.consume("orders", isolation: .readUncommitted) == ["before"], "step \(step)")
        }
        #expect(outcomes["none", default: 0] > 0, "crashes landed before the publishing rename: \(outcomes)")
    }

    @Test func theSubjectIsKeptInTopicJSONAndCanBeRemoved() throws {
        let fixture = try BrokerFixture()
        _ = try Self.broker(fixture, schemas: nil)
        let name = TopicName(rawValue: "orders")!
        try fixture.reopenCleanly()
        #expect(try fixture.log.topic(name).config.valueSubject == "orders-value")
        try fixture.log.setValueSubject(nil, of: name)
        try fixture.crashAndReopen()
        #expect(try fixture.log.topic(name).config.valueSubject == nil)
        #expect(throws: LogError.self) { try fixture.log.setValueSubject("x", of: TopicName(rawValue: "__consumer_offsets")!) }
    }
}
