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

    @Test("a zombie whose transaction timed out cannot write, even into a partition that forgot its producer id")
    func zombieCannotWriteWhereItsProducerExpired() throws {
        let engine = try TestEngine(coordinatorConfig: Self.config, producerIDExpirationMilliseconds: 5_000)
        let topic = try engine.createTopic("out")
        let partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        let zombie = try engine.producer("slow", batchBytesMax: 256)
        try zombie.initTransactions(timeoutMilliseconds: 1000)
        try zombie.beginTransaction()
        let value = [UInt8](repeating: 0x61, count: 200)
        try zombie.send(topic: topic, key: nil, value: value, partition: PartitionID(0))
        try zombie.send(topic: topic, key: nil, value: value, partition: PartitionID(0))  // writes the first
        #expect(partition.logEndOffset == Offset(1), "the transaction wrote to out/0")
        engine.clock.advance(byMilliseconds: 1001)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("slow")?.state == .completeAbort, "timed out and aborted")
        engine.clock.advance(byMilliseconds: 5001)
        try engine.log.maintain()
        #expect(partition.producerEpochAndSequence(zombie.producerID) == nil, "out/0 forgot the producer")
        let refused = #expect(throws: TransactionError.self) {
            try zombie.send(topic: topic, key: nil, value: value, partition: PartitionID(0))  // would write the second
        }
        #expect(refused?.code == .fenced)
        #expect(partition.lastStableOffset == partition.logEndOffset, "no transaction hangs in out/0")
        #expect(try engine.values(topic).isEmpty)
    }
}
