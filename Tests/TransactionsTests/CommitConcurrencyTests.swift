import Foundation
import Logging
import Testing
import EngineTestSupport
import StreamCore
import LogStorage
import Transactions
import Simulation

@Suite("Commits of different transactions do not wait for each other's syncs")
struct CommitConcurrencyTests {
    /// The coordinator's lock is never held across an fsync: while one transaction's data sync
    /// is held at a gate, another transaction commits to the end; the held one then commits too.
    /// Before, the coordinator held its lock through the participants' sync, so the second commit
    /// waited for the first one's disk.
    @Test("a commit goes through while another commit's data sync is held")
    func commitWhileAnotherSyncs() throws {
        let storage = SyncGatedStorage(disk: SimulatedDisk(seed: 7))
        let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
        var options = LogOptions()
        options.offsetsTopicPartitions = 2
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = try LogManager.open(directory: "/data", storage: storage, clock: clock, options: options, logger: logger)
        let coordinator = try TransactionCoordinator(log: log, config: testCoordinatorConfig())
        let slowTopic = TopicName(rawValue: "slow")!
        let fastTopic = TopicName(rawValue: "fast")!
        _ = try log.createTopic(slowTopic, config: TopicConfig(partitionCount: 1))
        _ = try log.createTopic(fastTopic, config: TopicConfig(partitionCount: 1))

        let slow = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "slow")
        let fast = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "fast")
        try slow.initTransactions()
        try fast.initTransactions()
        try slow.beginTransaction()
        try slow.send(topic: slowTopic, key: nil, value: [UInt8]("slow"), partition: PartitionID(0))
        try fast.beginTransaction()
        try fast.send(topic: fastTopic, key: nil, value: [UInt8]("fast"), partition: PartitionID(0))

        storage.arm(pathFragment: "/topics/slow/0/")
        let slowDone = DispatchSemaphore(value: 0)
        let slowResult = LockedBox<Result<Void, any Error>?>(nil)
        let slowProducer = LockedBox(slow)  // used by that thread alone from here on
        Thread.detachNewThread {
            slowResult.set(Result { try slowProducer.get().commitTransaction() })
            slowDone.signal()
        }
        try #require(storage.waitUntilHeld(seconds: 10), "the slow commit reached its data sync")

        let fastDone = DispatchSemaphore(value: 0)
        let fastResult = LockedBox<Result<Void, any Error>?>(nil)
        let fastProducer = LockedBox(fast)
        Thread.detachNewThread {
            fastResult.set(Result { try fastProducer.get().commitTransaction() })
            fastDone.signal()
        }
        let fastFinished = fastDone.wait(timeout: .now() + 10) == .success
        storage.release()
        if !fastFinished { fastDone.wait() }
        slowDone.wait()

        #expect(fastFinished, "the fast commit finished while the slow one's sync was held")
        try fastResult.get()?.get()
        try slowResult.get()?.get()
        #expect(try visibleValues(in: fastTopic, of: log) == ["fast"])
        #expect(try visibleValues(in: slowTopic, of: log) == ["slow"])
        log.close()
    }
}

/// A value shared between a test and the thread it starts.
private final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
}
