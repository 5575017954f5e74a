import Foundation
import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation

/// Transaction timeouts run on the monotonic clock and are swept by the log's maintenance in
/// every process that holds the data directory (issue 10.5).
@Suite("Transaction timeouts on the monotonic clock")
struct TimeoutTests {
    /// A producer of `id` with `timeout`, inside a transaction that already wrote to `out`/0 and
    /// to `__consumer_offsets`.
    func openTransaction(_ engine: TestEngine, _ topic: TopicName, id: String, timeout: Int32) throws -> TransactionalProducer {
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: id)
        try producer.initTransactions(timeoutMilliseconds: timeout)
        try producer.beginTransaction()
        try producer.send(topic: topic, key: nil, value: [UInt8]("\(id)-value"), partition: PartitionID(0))
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(1)], group: "g-\(id)")
        return producer
    }

    @Test("a forward wall-clock jump of ten timeouts aborts nothing in flight")
    func forwardWallJumpAbortsNothing() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let producer = try openTransaction(engine, topic, id: "jumped", timeout: 1000)
        engine.clock.jumpWall(byMilliseconds: 10 * 1000)
        #expect(try engine.coordinator.abortExpiredTransactions().isEmpty)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("jumped")?.state == .ongoing)
        try producer.commitTransaction()
        #expect(try engine.values(topic) == ["jumped-value"])
        #expect(engine.coordinator.metadata("jumped")?.state == .completeCommit)
    }

    @Test("monotonic time past the timeout aborts, even after the wall clock went back")
    func monotonicAgeAborts() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let producer = try openTransaction(engine, topic, id: "stale", timeout: 1000)
        engine.clock.jumpWall(byMilliseconds: -3_600_000)
        engine.clock.advance(byMilliseconds: 999)
        #expect(try engine.coordinator.abortExpiredTransactions().isEmpty, "not yet past the timeout")
        engine.clock.advance(byMilliseconds: 2)
        #expect(try engine.coordinator.abortExpiredTransactions() == ["stale"])
        let error = #expect(throws: TransactionError.self) { try producer.commitTransaction() }
        #expect(error?.code == .fenced)
        #expect(try engine.values(topic).isEmpty)
        for partition in try engine.log.topic(topic).partitions { #expect(partition.lastStableOffset == partition.logEndOffset) }
    }

    @Test("the log's maintenance sweeps timed-out transactions, without anyone asking the coordinator")
    func maintenanceSweeps() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        _ = try openTransaction(engine, topic, id: "abandoned", timeout: 1000)
        engine.clock.advance(byMilliseconds: 1001)
        try engine.log.maintain()
        #expect(engine.coordinator.metadata("abandoned")?.state == .completeAbort)
    }

    @Test("the background maintenance thread sweeps timed-out transactions")
    func backgroundMaintenanceSweeps() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        _ = try openTransaction(engine, topic, id: "abandoned", timeout: 1000)
        engine.clock.advance(byMilliseconds: 1001)
        engine.log.startBackgroundMaintenance(intervalMilliseconds: 10)
        // Polled: the sweep runs on its own thread; the bound only ends a stuck test.
        let deadline = Date().addingTimeInterval(30)
        while engine.coordinator.metadata("abandoned")?.state != .completeAbort && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(engine.coordinator.metadata("abandoned")?.state == .completeAbort)
        engine.log.close()
    }

    @Test("a transaction found open on restart is aborted by recovery, whatever the clocks say")
    func openAtRestartIsAborted() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        _ = try openTransaction(engine, topic, id: "crashed", timeout: 60_000)
        try engine.crashAndReopen()
        #expect(engine.coordinator.metadata("crashed")?.state == .completeAbort)
    }
}
