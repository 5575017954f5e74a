import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation

/// Idle transactional ids expire, durably, and a zombie of an expired id can never commit
/// (issue 10.7).
@Suite("Transactional id expiry")
struct TransactionalIDExpiryTests {
    static var config: TransactionCoordinatorConfig {
        var config = testCoordinatorConfig(defaultTimeoutMilliseconds: 60_000)
        config.transactionalIDExpirationMilliseconds = 10_000
        return config
    }

    @Test("an idle id expires with a tombstone; its zombie is refused and a new holder starts fresh")
    func idleIDsExpire() throws {
        let engine = try TestEngine(coordinatorConfig: Self.config)
        let topic = try engine.createTopic("out")
        let zombie = try engine.producer("idle")
        try zombie.beginTransaction()
        try zombie.send(topic: topic, key: nil, value: [UInt8]("first"), partition: PartitionID(0))
        try zombie.commitTransaction()
        let busy = try engine.producer("busy")
        try busy.beginTransaction()
        try busy.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(1)], group: "g")
        engine.clock.advance(byMilliseconds: 10_000)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("idle") != nil, "exactly the expiration is not past it")
        engine.clock.advance(byMilliseconds: 1)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("idle") == nil)
        #expect(engine.coordinator.metadata("busy")?.state == .ongoing, "an open transaction's id never expires")

        // The zombie of the expired id cannot write or commit.
        try zombie.beginTransaction()
        try zombie.send(topic: topic, key: nil, value: [UInt8]("zombie"), partition: PartitionID(0))
        let refused = #expect(throws: TransactionError.self) { try zombie.commitTransaction() }
        #expect(refused?.code == .unknownTransactionalID)
        try? zombie.abortTransaction()
        // The next holder starts fresh: a new producer id at epoch 0, which fences the zombie too.
        let fresh = try engine.producer("idle")
        #expect(fresh.producerID != zombie.producerID)
        #expect(fresh.producerEpoch == ProducerEpoch(0))
        let fenced = #expect(throws: TransactionError.self) {
            try zombie.beginTransaction()
            try zombie.send(topic: topic, key: nil, value: [UInt8]("zombie-2"), partition: PartitionID(0))
            try zombie.commitTransaction()
        }
        #expect(fenced?.code == .fenced)
        try fresh.beginTransaction()
        try fresh.send(topic: topic, key: nil, value: [UInt8]("second"), partition: PartitionID(0))
        try fresh.commitTransaction()
        try busy.abortTransaction()
        #expect(try engine.values(topic) == ["first", "second"])
        try engine.crashAndReopen()
        #expect(engine.coordinator.metadata("idle")?.producerID == fresh.producerID, "the fresh holder is what survives")
    }

    @Test("an expiry survives a crash")
    func expiryIsDurable() throws {
        let engine = try TestEngine(coordinatorConfig: Self.config)
        _ = try engine.producer("idle")
        engine.clock.advance(byMilliseconds: 10_001)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("idle") == nil)
        try engine.crashAndReopen()
        #expect(engine.coordinator.metadata("idle") == nil)
        #expect(engine.coordinator.list().isEmpty)
    }
}
