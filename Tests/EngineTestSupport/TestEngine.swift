import Foundation
import Logging
package import StreamCore
package import LogStorage
package import Transactions
package import Simulation

/// Opens a data directory on a simulated disk the way every engine test does: two
/// `__consumer_offsets` partitions, small internal segments when asked (so compaction runs),
/// the given crash-point hook, and a logger that stays quiet.
package func openSimulatedLog(
    disk: SimulatedDisk, clock: SimulatedClock, crashPoints: CrashPoints = .disabled,
    internalSegmentBytesMax: Int = 16 << 20, directory: String = "/data", producerIDExpirationMilliseconds: Int64? = nil
) throws -> LogManager {
    var options = LogOptions()
    if let producerIDExpirationMilliseconds { options.producerIDExpirationMilliseconds = producerIDExpirationMilliseconds }
    options.offsetsTopicPartitions = 2
    options.internalSegmentBytesMax = internalSegmentBytesMax
    options.crashPoints = crashPoints
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try LogManager.open(directory: directory, storage: disk, clock: clock, options: options, logger: logger)
}

/// The coordinator settings of engine tests: two `__transaction_state` partitions.
package func testCoordinatorConfig(defaultTimeoutMilliseconds: Int32 = 60_000) -> TransactionCoordinatorConfig {
    var config = TransactionCoordinatorConfig()
    config.transactionLogPartitions = 2
    config.defaultTimeoutMilliseconds = defaultTimeoutMilliseconds
    return config
}

/// A data directory on a simulated disk with a coordinator, reopened after crashes.
package final class TestEngine {
    package let disk: SimulatedDisk
    package let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
    package var crashPoints: CrashPoints = .disabled
    package let coordinatorConfig: TransactionCoordinatorConfig
    package let producerIDExpirationMilliseconds: Int64?
    package private(set) var log: LogManager!
    package private(set) var coordinator: TransactionCoordinator!

    package init(
        seed: UInt64 = 1, coordinatorConfig: TransactionCoordinatorConfig = testCoordinatorConfig(defaultTimeoutMilliseconds: 10_000),
        producerIDExpirationMilliseconds: Int64? = nil
    ) throws {
        disk = SimulatedDisk(seed: seed)
        self.coordinatorConfig = coordinatorConfig
        self.producerIDExpirationMilliseconds = producerIDExpirationMilliseconds
        try open()
    }

    package func open() throws {
        log = try openSimulatedLog(disk: disk, clock: clock, crashPoints: crashPoints,
                                   producerIDExpirationMilliseconds: producerIDExpirationMilliseconds)
        coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
    }

    /// Power loss, then a fresh open (recovery included).
    package func crashAndReopen() throws {
        if !disk.isCrashed { disk.crash() }
        disk.restart()
        crashPoints = .disabled
        try open()
    }

    package func reopenCleanly() throws {
        log.close()
        try open()
    }

    @discardableResult
    package func createTopic(_ name: String, partitions: Int = 1) throws -> TopicName {
        let topic = TopicName(rawValue: name)!
        try log.createTopic(topic, config: TopicConfig(partitionCount: partitions))
        return topic
    }

    /// A transactional producer with `id`, initialised.
    package func producer(_ id: String = "test", batchBytesMax: Int = 256 << 10) throws -> TransactionalProducer {
        let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: id, batchBytesMax: batchBytesMax)
        try producer.initTransactions()
        return producer
    }

    /// Values visible in a topic under an isolation level, in partition then offset order.
    package func values(_ topic: TopicName, isolation: IsolationLevel = .readCommitted) throws -> [String] {
        try visibleValues(in: topic, of: log, isolation: isolation)
    }
}

/// Every value a reader with `isolation` sees in `topic`, as text, from the earliest offset.
package func visibleValues(in topic: TopicName, of log: LogManager, isolation: IsolationLevel = .readCommitted) throws -> [String] {
    var config = ConsumerConfig()
    config.isolation = isolation
    config.autoOffsetReset = .earliest
    let consumer = LogConsumer(log: log, config: config)
    try consumer.assign(try log.topic(topic).partitions.map(\.topicPartition))
    var values: [String] = []
    while true {
        let records = try consumer.poll(maxRecords: 10_000)
        if records.isEmpty { break }
        values += records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }
    return values
}

extension Array where Element == UInt8 {
    package init(_ string: String) { self = Array(string.utf8) }
}
