package import StreamCore
import RecordFormat
package import LogStorage
import Foundation

/// How `copy` changes each value.
package enum CopyTransform: String, Sendable, CaseIterable {
    case identity
    /// ASCII letters upper-cased; every other byte kept.
    case uppercase

    func apply(_ value: [UInt8]?) -> [UInt8]? {
        switch self {
        case .identity: return value
        case .uppercase: return value.map { bytes in bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 } }
        }
    }
}

/// Processing guarantee of the copy loop.
package enum ProcessingGuarantee: String, Sendable, CaseIterable {
    /// Output and consumed offsets commit atomically in one transaction.
    case exactlyOnce = "exactly-once"
    /// Output is flushed, then offsets are committed: a crash in between repeats records.
    case atLeastOnce = "at-least-once"
}

/// Settings of a copy loop.
package struct CopyOptions: Sendable {
    package var source: TopicName
    package var target: TopicName
    package var group: String
    package var transactionalID: String
    package var commitIntervalMilliseconds: Int = 100
    package var transform: CopyTransform = .identity
    package var guarantee: ProcessingGuarantee = .exactlyOnce
    /// At most this many records per transaction (bounds memory and commit size).
    package var transactionRecordsMax: Int = 500_000

    package init(source: TopicName, target: TopicName, group: String, transactionalID: String? = nil) {
        self.source = source
        self.target = target
        self.group = group
        self.transactionalID = transactionalID ?? "copy-\(group)-\(source)-\(target)"
    }
}

/// What a copy loop has done so far.
package struct CopyProgress: Sendable, Equatable {
    package var recordsCopied = 0
    package var transactions = 0
    /// Records of the source not yet copied (read-committed lag).
    package var lag: Int64 = 0
    /// How long each commit took (output flush, offsets, the two-phase commit), in microseconds.
    package var commitMicroseconds: [Int64] = []

    /// The commit latency at `percentile` (0...100), in microseconds.
    package func commitLatency(percentile: Double) -> Int64? {
        guard !commitMicroseconds.isEmpty else { return nil }
        let sorted = commitMicroseconds.sorted()
        let rank = Int((percentile / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}

/// The consume-transform-produce loop: copies every record of a source topic into a target
/// topic (same key, value — transformed — headers and timestamp), committing the output and the
/// consumed offsets in one transaction per commit interval.
///
/// Killed at any instant and restarted with the same transactional id, it resumes from the last
/// committed offsets; the previous run's open transaction is aborted and fenced, so the
/// read-committed target holds every source record exactly once.
///
/// Thread-safety: one owner thread.
package final class TransactionalCopier {
    package let options: CopyOptions
    private let log: LogManager
    private let coordinator: TransactionCoordinator
    private let consumer: LogConsumer
    private let producer: TransactionalProducer?
    private let plainProducer: LogProducer?
    private let targetPartitions: Int
    package private(set) var progress = CopyProgress()

    /// Sets up the loop and, for exactly-once, takes over the transactional id (fencing any
    /// older holder).
    package init(log: LogManager, coordinator: TransactionCoordinator, options: CopyOptions) throws(TransactionError) {
        self.log = log
        self.coordinator = coordinator
        self.options = options
        let source = try logCall { () throws(LogError) in try log.topic(options.source) }
        targetPartitions = try logCall { () throws(LogError) in try log.topic(options.target) }.partitionCount
        var config = ConsumerConfig(groupID: options.group)
        config.autoOffsetReset = .earliest
        config.isolation = .readCommitted
        config.maxPollRecords = 5000
        let consumer = LogConsumer(log: log, config: config)
        try logCall { () throws(LogError) in try consumer.assign(source.topicPartitions) }
        self.consumer = consumer
        switch options.guarantee {
        case .exactlyOnce:
            let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: options.transactionalID)
            try producer.initTransactions()
            self.producer = producer
            plainProducer = nil
        case .atLeastOnce:
            var producerConfig = ProducerConfig()
            producerConfig.lingerMilliseconds = 0
            producerConfig.batchBytesMax = 256 << 10
            producer = nil
            plainProducer = LogProducer(log: log, config: producerConfig)
        }
    }

    /// Runs one transaction: polls for up to the commit interval, copies what it read, and
    /// commits output and offsets together.
    /// - Returns: how many records it copied (0 when the source had nothing new).
    /// - Throws: `.fenced` when a newer copy with the same transactional id took over.
    @discardableResult
    package func step() throws(TransactionError) -> Int {
        let interval = UInt64(max(0, min(options.commitIntervalMilliseconds, 86_400_000)))
        let deadline = log.clock.monotonicNanoseconds() + interval * 1_000_000
        var copied = 0
        var began = false
        do {
            repeat {
                let limit = min(5000, options.transactionRecordsMax - copied)
                let records = try logCall { () throws(LogError) in try consumer.poll(maxRecords: limit) }
                if records.isEmpty { break }
                if !began, let producer {
                    try producer.beginTransaction()
                    began = true
                }
                for record in records {
                    try emit(record)
                }
                copied += records.count
            } while log.clock.monotonicNanoseconds() < deadline && copied < options.transactionRecordsMax
            if copied == 0 { return 0 }
            let commitStarted = log.clock.monotonicNanoseconds()
            try commit()
            progress.commitMicroseconds.append(Int64((log.clock.monotonicNanoseconds() - commitStarted) / 1000))
        } catch {
            // The step's own error is what is thrown; a failed abort leaves the transaction to the
            // coordinator (recovery or its timeout aborts it), a failed rewind to the next step.
            if error.code != .fenced, began { try? producer?.abortTransaction() }
            try? rewindToCommitted()
            throw error
        }
        progress.recordsCopied += copied
        progress.transactions += 1
        return copied
    }

    /// Copies until the source is exhausted (when `untilIdle`) or `shouldStop` says so.
    package func run(untilIdle: Bool, shouldStop: () -> Bool = { false }, report: (CopyProgress) -> Void = { _ in }) throws(TransactionError) {
        var steps = 0
        while !shouldStop() {
            let copied = try step()
            steps += 1
            if steps % 50 == 0 { try coordinator.abortExpiredTransactions() }
            progress.lag = (try? logCall { () throws(LogError) in try consumer.lag() }.values.reduce(0, +)) ?? 0
            report(progress)
            if copied == 0 {
                if untilIdle && progress.lag == 0 { return }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }

    private func emit(_ record: ConsumerRecord) throws(TransactionError) {
        let partition: PartitionID? = record.key == nil
            ? PartitionID(Int32(Int(record.topicPartition.partition.rawValue) % targetPartitions)) : nil
        let value = options.transform.apply(record.value)
        if let producer {
            try producer.send(topic: options.target, key: record.key, value: value, headers: record.headers,
                              timestamp: record.timestamp, partition: partition)
        } else if let plainProducer {
            try logCall { () throws(LogError) in
                _ = try plainProducer.send(topic: options.target, key: record.key, value: value, headers: record.headers,
                                           timestamp: record.timestamp, partition: partition)
            }
        }
    }

    private func commit() throws(TransactionError) {
        var positions: [TopicPartition: Offset] = [:]
        for partition in consumer.assignment {
            positions[partition] = try logCall { () throws(LogError) in try consumer.position(partition) }
        }
        if let producer {
            try producer.sendOffsets(positions, group: options.group)
            try producer.commitTransaction()
        } else if let plainProducer {
            try logCall { () throws(LogError) in
                try plainProducer.flush()
                try consumer.commit(positions)
            }
        }
    }

    /// After a failed transaction, reads again from the committed offsets.
    private func rewindToCommitted() throws(TransactionError) {
        for partition in consumer.assignment {
            let target: SeekTarget = consumer.committed(partition).map { .offset($0) } ?? .earliest
            try logCall { () throws(LogError) in try consumer.seek(partition, to: target) }
        }
    }

    package var lag: Int64 { (try? consumer.lag().values.reduce(0, +)) ?? 0 }
}
