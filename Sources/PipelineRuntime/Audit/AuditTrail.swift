package import StreamCore
package import LogStorage

/// The committed audit records of one `<pipeline>.audit` topic, read-committed (an aborted
/// transaction's audit record is never among them).
///
/// Thread-safety: a value; loading reads the log, which is thread-safe.
package struct AuditTrail: Sendable {
    /// One audit record and where it is.
    package struct Entry: Sendable {
        package var topicPartition: TopicPartition
        package var offset: Offset
        package var record: AuditRecord

        /// `order-totals-3 epoch 4 (order-totals.audit/3@17)`: the transaction, for messages.
        package var transaction: String {
            "\(record.transactionalID) epoch \(record.epoch) (\(topicPartition)@\(offset))"
        }
    }

    package var topic: TopicName
    package var entries: [Entry]
    /// Committed records of the topic that are not audit records (`topic/partition@offset`).
    package var undecodable: [String]
    /// Whether the trail holds every record it ever held: no partition's log start moved past 0
    /// (retention has not deleted any), so it reaches back to the pipeline's first transaction.
    package var isComplete: Bool

    /// Reads every committed record of `topic`.
    package static func load(topic: TopicName, log: LogManager) throws -> AuditTrail {
        let target = try log.topic(topic)
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        config.maxPollRecords = 5000
        let consumer = LogConsumer(log: log, config: config)
        defer { consumer.close() }
        try consumer.assign(target.topicPartitions)
        try consumer.seekAll(to: .earliest)
        var trail = AuditTrail(topic: topic, entries: [], undecodable: [], isComplete: true)
        for topicPartition in target.topicPartitions where try log.partition(topicPartition).logStartOffset > 0 {
            trail.isComplete = false
        }
        while true {
            let records = try consumer.poll()
            if records.isEmpty { break }
            for record in records {
                if let value = record.value, let decoded = AuditRecord(json: value) {
                    trail.entries.append(Entry(topicPartition: record.topicPartition, offset: record.offset, record: decoded))
                } else {
                    trail.undecodable.append("\(record.topicPartition)@\(record.offset)")
                }
            }
        }
        return trail
    }

    /// Every `*.audit` topic of the data directory, loaded.
    package static func loadAll(log: LogManager) throws -> [AuditTrail] {
        try log.topicNames(includeInternal: true).filter { $0.rawValue.hasSuffix(".audit") }.map { try load(topic: $0, log: log) }
    }
}
