import Foundation
import Logging
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation

/// A data directory on a simulated disk with a coordinator, reopened after crashes.
final class TestEngine {
    let disk: SimulatedDisk
    let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
    var crashPoints: CrashPoints = .disabled
    private(set) var log: LogManager!
    private(set) var coordinator: TransactionCoordinator!

    init(seed: UInt64 = 1) throws {
        disk = SimulatedDisk(seed: seed)
        try open()
    }

    func open() throws {
        var options = LogOptions()
        options.offsetsTopicPartitions = 2
        options.crashPoints = crashPoints
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        log = try LogManager.open(directory: "/data", storage: disk, clock: clock, options: options, logger: logger)
        var config = TransactionCoordinatorConfig()
        config.transactionLogPartitions = 2
        config.defaultTimeoutMilliseconds = 10_000
        coordinator = try TransactionCoordinator(log: log, config: config)
    }

    /// Power loss, then a fresh open (recovery included).
    func crashAndReopen() throws {
        if !disk.isCrashed { disk.crash() }
        disk.restart()
        crashPoints = .disabled
        try open()
    }

    func reopenCleanly() throws {
        log.close()
        try open()
    }

    @discardableResult
    func createTopic(_ name: String, partitions: Int = 1) throws -> TopicName {
        let topic = TopicName(rawValue: name)!
        try log.createTopic(topic, config: TopicConfig(partitionCount: partitions))
        return topic
    }

    /// Values visible in a topic under an isolation level, in partition then offset order.
    func values(_ topic: TopicName, isolation: IsolationLevel = .readCommitted) throws -> [String] {
        try visibleValues(in: topic, of: log, isolation: isolation)
    }
}

/// Every value a reader with `isolation` sees in `topic`, as text, from the earliest offset.
func visibleValues(in topic: TopicName, of log: LogManager, isolation: IsolationLevel = .readCommitted) throws -> [String] {
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
    init(_ string: String) { self = Array(string.utf8) }
}
