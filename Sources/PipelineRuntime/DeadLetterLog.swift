package import StreamCore
package import LogStorage

/// One record of a pipeline's dead-letter topic as the operator tools see it: where it sits in
/// the DLQ, its original key and bytes, and its headers (the `dlq.*` context of ``DeadLetters``
/// and whatever headers the source record carried).
package struct DeadLetter: Sendable, Equatable {
    /// Its dead-letter topic: `<pipeline>.dlq`, or one an operator chose with `deadLetters(to:)`.
    package var topic: String = ""
    /// Whether ``topic`` is the pipeline's default `<pipeline>.dlq`.
    package var isDefaultTopic = true
    /// Its partition in its dead-letter topic.
    package var partition: PartitionID
    /// Its offset in that partition.
    package var offset: Offset
    /// The source record's timestamp (a dead letter keeps it).
    package var timestamp: Timestamp
    /// The source record's key, as it was.
    package var key: [UInt8]?
    /// The source record's value bytes, as they were.
    package var value: [UInt8]?
    /// Every header, in record order.
    package var headers: [RecordHeader]

    /// `"<partition>:<offset>"` in `<pipeline>.dlq`, `"<topic>:<partition>:<offset>"` in another
    /// dead-letter topic (topic names have no `:`): the record's position, the key of its
    /// redrive marker.
    package var position: String { Self.position(topic: isDefaultTopic ? nil : topic, partition: partition.rawValue, offset: offset.rawValue) }

    /// The position of the record at `partition`:`offset` of `topic` (nil: `<pipeline>.dlq`).
    package static func position(topic: String?, partition: Int32, offset: Int64) -> String {
        topic.map { "\($0):\(partition):\(offset)" } ?? "\(partition):\(offset)"
    }

    /// The text of the first header called `name` (nil when absent or not UTF-8).
    package func header(_ name: String) -> String? {
        guard let bytes = headers.first(where: { $0.key == name })?.value else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `dlq.error.type`, or `-` when the header is missing.
    package var errorType: String { header("dlq.error.type") ?? "-" }
    /// `dlq.stage`, or `-` when the header is missing.
    package var stage: String { header("dlq.stage") ?? "-" }
    /// The headers the source record carried: every header not named `dlq.*`.
    package var sourceHeaders: [RecordHeader] { headers.filter { !$0.key.hasPrefix("dlq.") } }
}

/// The topics and ids around a pipeline's dead letters, and read-committed scans of them.
///
/// | name | what |
/// |---|---|
/// | `<pipeline>.dlq` | the dead letters (``DeadLetters``) |
/// | `<pipeline>.dlq.redriven` | redrive markers: key `"<dlq partition>:<dlq offset>"`, value the target topic (compacted, 1 partition) |
/// | `<pipeline>.dlq-redrive` | the transactional id of ``DeadLetterRedrive`` |
///
/// Thread-safety: stateless; scans use their own consumer on the caller's thread.
package enum DeadLetterTopics {
    /// `<pipeline>.dlq`.
    package static func deadLetters(of pipeline: String) -> String { DeadLetters.topic(for: pipeline) }
    /// `<pipeline>.dlq.redriven`.
    package static func redriveMarkers(of pipeline: String) -> String { "\(pipeline).dlq.redriven" }
    /// `<pipeline>.dlq-redrive`.
    package static func redriveTransactionalID(of pipeline: String) -> String { "\(pipeline).dlq-redrive" }

    /// Reads every committed record of `topic`, partition by partition from the earliest offset,
    /// handing each to `body` (markers and aborted transactions skipped).
    ///
    /// Read-committed: it stops at each partition's last stable offset (an open transaction's
    /// records are neither returned nor waited for).
    /// - Throws: `LogError`; `PipelineRunError` when a read makes no progress below the stable
    ///   offset (a damaged partition), rather than stopping short silently.
    package static func scanCommitted(log: LogManager, topic: TopicName, _ body: (ConsumerRecord) throws -> Void) throws {
        let partitions = try log.topic(topic).partitions
        for partition in partitions {
            var config = ConsumerConfig()
            config.isolation = .readCommitted
            config.autoOffsetReset = .earliest
            config.maxPollRecords = 5000
            let consumer = LogConsumer(log: log, config: config)
            try consumer.assign([partition.topicPartition])
            try consumer.seek(partition.topicPartition, to: .earliest)
            let stable = partition.lastStableOffset
            // An empty poll may only have skipped markers or aborted batches: stop at the
            // stable end, not at the first empty poll.
            while try consumer.position(partition.topicPartition) < stable {
                let before = try consumer.position(partition.topicPartition)
                let records = try consumer.poll()
                for record in records { try body(record) }
                let after = try consumer.position(partition.topicPartition)
                if records.isEmpty && after == before {
                    throw PipelineRunError("reading \(partition.topicPartition) made no progress at offset \(after) (last stable offset \(stable))")
                }
            }
        }
    }

    /// Hands every committed dead letter of `pipeline` to `body`, topic by topic, in partition
    /// then offset order.
    /// `otherTopics` are the dead-letter topics the pipeline's operators chose
    /// (`Topology.deadLetterTopics`); they are read after `<pipeline>.dlq`.
    /// - Returns: false when none of these topics exists (then `body` is never called).
    package static func scanDeadLetters(
        log: LogManager, pipeline: String, otherTopics: [String] = [], _ body: (DeadLetter) throws -> Void
    ) throws -> Bool {
        let defaultTopic = deadLetters(of: pipeline)
        var found = false
        for topic in [defaultTopic] + otherTopics.filter({ $0 != defaultTopic }) {
            guard let name = TopicName(rawValue: topic), log.hasTopic(name) else { continue }
            found = true
            try scanCommitted(log: log, topic: name) { record in
                try body(DeadLetter(topic: topic, isDefaultTopic: topic == defaultTopic, partition: record.topicPartition.partition,
                                    offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value,
                                    headers: record.headers))
            }
        }
        return found
    }

    /// The DLQ positions (`"<partition>:<offset>"`) already redriven: the keys of the committed
    /// markers in `<pipeline>.dlq.redriven` (empty when that topic does not exist).
    package static func redrivenPositions(log: LogManager, pipeline: String) throws -> Set<String> {
        guard let name = TopicName(rawValue: redriveMarkers(of: pipeline)), log.hasTopic(name) else { return [] }
        var positions = Set<String>()
        try scanCommitted(log: log, topic: name) { record in
            if let key = record.key, record.value != nil, let text = String(validating: key, as: UTF8.self) { positions.insert(text) }
        }
        return positions
    }
}
