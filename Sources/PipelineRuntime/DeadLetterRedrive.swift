package import StreamCore
package import LogStorage
package import Transactions

/// Settings of a redrive.
package struct RedriveOptions: Sendable {
    /// The pipeline whose `<pipeline>.dlq` is redriven.
    package var pipeline: String
    /// Only dead letters with this `dlq.error.type`; every one when nil.
    package var errorType: String?
    /// Where the records go; each record's `dlq.source.topic` when nil.
    package var target: TopicName?
    /// The dead-letter topics the pipeline's operators chose, redriven after `<pipeline>.dlq`.
    package var otherTopics: [String] = []
    /// Fixed values by DLQ position (``DeadLetter/position``; nil: a tombstone): when set, only
    /// these dead letters are redriven, each with its fixed value instead of the original bytes
    /// (and a `dlq.redrive.fixed: true` header); the others count as filtered out.
    package var fixedValues: [String: [UInt8]?]?
    /// At most this many records per transaction (bounds memory and the work a crash redoes).
    package var transactionRecordsMax = 2000
    /// The largest batch the producer writes; a transaction's records are written in batches of
    /// this size as it goes, not all at its commit.
    package var batchBytesMax = 32 << 10

    package init(pipeline: String, errorType: String? = nil, target: TopicName? = nil) {
        self.pipeline = pipeline
        self.errorType = errorType
        self.target = target
    }
}

/// What a redrive did.
package struct RedriveSummary: Sendable, Equatable {
    /// Whether `<pipeline>.dlq` exists (when not, nothing else is counted).
    package var hasTopic = true
    /// Records sent back by this run.
    package var redriven = 0
    /// Dead letters a previous run had redriven already.
    package var alreadyRedriven = 0
    /// Dead letters left alone because their error type did not match.
    package var filteredOut = 0
    /// With ``RedriveOptions/fixedValues``: how many of its positions are dead letters in the
    /// DLQ topics read (redriven now, before, or filtered out by the error type); the others
    /// match nothing.
    package var fixedMatched = 0
    /// Committed transactions.
    package var transactions = 0
    /// Records redriven by this run, per target topic.
    package var byTarget: [String: Int] = [:]
}

/// Sends dead letters back to their source topic (or to another), exactly once over any number
/// of runs, crashes included.
///
/// Each redriven record keeps its key, value, timestamp and the source record's headers (every
/// `dlq.*` header dropped) and gains `dlq.redrive.partition` and `dlq.redrive.offset`, its
/// position in the DLQ. Keyed records land in the partition murmur2 picks for the key, as the
/// original produce did; keyless ones go back to `dlq.source.partition` of their source topic
/// (round-robin on another topic).
///
/// Exactly-once bookkeeping: the transactional producer `<pipeline>.dlq-redrive` writes, in one
/// transaction, the redriven records and one marker per record into the compacted topic
/// `<pipeline>.dlq.redriven` (key `"<dlq partition>:<dlq offset>"`, value the target topic). A
/// run fences any older redrive (`initTransactions`), reads the committed markers, scans the
/// whole committed DLQ and redrives every record without a marker, committing every
/// ``RedriveOptions/transactionRecordsMax`` records. A crash aborts the open transaction — its
/// records and its markers together — so the next run redrives exactly those again; a filtered
/// run leaves the records it skipped without a marker for a later run.
///
/// - Invariant: a committed redriven record exists iff its committed marker does.
/// - Precondition: the caller holds the data directory (no pipeline writes to the DLQ meanwhile).
/// Thread-safety: one thread.
package enum DeadLetterRedrive {
    /// Redrives the dead letters of `options.pipeline`.
    /// - Throws: `PipelineRunError` for a bad target (unknown, the DLQ itself, none known);
    ///   `LogError`, `TransactionError` (fenced by a newer redrive). Transactions committed
    ///   before the error stay committed; a rerun continues after them.
    package static func run(log: LogManager, coordinator: TransactionCoordinator, options: RedriveOptions) throws -> RedriveSummary {
        let pipeline = options.pipeline
        let dlqNames = [DeadLetterTopics.deadLetters(of: pipeline)] + options.otherTopics
        let dlqTopics = dlqNames.compactMap { TopicName(rawValue: $0) }.filter { log.hasTopic($0) }
        guard !dlqTopics.isEmpty else { return RedriveSummary(hasTopic: false) }
        let markersTopic = try TopicName(validating: DeadLetterTopics.redriveMarkers(of: pipeline))
        let excluded = Set(dlqNames.compactMap { TopicName(rawValue: $0) } + [markersTopic])
        if let target = options.target {
            guard !excluded.contains(target) else {
                throw PipelineRunError("cannot redrive into \(target): it is \(pipeline)'s own dead-letter bookkeeping")
            }
            _ = try log.topic(target)
        }
        if !log.hasTopic(markersTopic) {
            var config = TopicConfig.compacted(partitionCount: 1)
            config.segmentBytesMax = min(config.segmentBytesMax, max(1024, log.options.internalSegmentBytesMax))
            try log.createTopic(markersTopic, config: config)
        }
        let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: DeadLetterTopics.redriveTransactionalID(of: pipeline),
                                             batchBytesMax: options.batchBytesMax)
        try producer.initTransactions()
        let done = try DeadLetterTopics.redrivenPositions(log: log, pipeline: pipeline)
        var summary = RedriveSummary()
        var inTransaction = 0
        var targets: [String: Topic] = [:]
        do {
            _ = try DeadLetterTopics.scanDeadLetters(log: log, pipeline: pipeline, otherTopics: options.otherTopics) { letter in
                if options.fixedValues?[letter.position] != nil { summary.fixedMatched += 1 }
                if done.contains(letter.position) {
                    summary.alreadyRedriven += 1
                    return
                }
                if let errorType = options.errorType, letter.errorType != errorType {
                    summary.filteredOut += 1
                    return
                }
                var letter = letter
                var headers = redriveHeaders(of: letter)
                if let fixedValues = options.fixedValues {
                    guard let fixed = fixedValues[letter.position] else {
                        summary.filteredOut += 1
                        return
                    }
                    letter.value = fixed
                    headers.append(RecordHeader(key: "dlq.redrive.fixed", value: Array("true".utf8)))
                }
                let target = try targetTopic(of: letter, options: options, log: log, known: &targets, excluded: Array(excluded))
                if inTransaction == 0 { try producer.beginTransaction() }
                try producer.send(topic: target.name, key: letter.key, value: letter.value, headers: headers,
                                  timestamp: letter.timestamp, partition: keylessPartition(of: letter, in: target))
                try producer.send(topic: markersTopic, key: Array(letter.position.utf8), value: Array(target.name.rawValue.utf8),
                                  partition: PartitionID(0))
                inTransaction += 1
                summary.byTarget[target.name.rawValue, default: 0] += 1
                if inTransaction >= options.transactionRecordsMax {
                    try producer.commitTransaction()
                    summary.redriven += inTransaction
                    summary.transactions += 1
                    inTransaction = 0
                }
            }
            if inTransaction > 0 {
                try producer.commitTransaction()
                summary.redriven += inTransaction
                summary.transactions += 1
            }
        } catch {
            if inTransaction > 0 { try? producer.abortTransaction() }
            throw error
        }
        return summary
    }

    /// The source record's headers plus the DLQ position (with `dlq.redrive.topic` when the
    /// dead letter was not in `<pipeline>.dlq`).
    static func redriveHeaders(of letter: DeadLetter) -> [RecordHeader] {
        letter.sourceHeaders
            + (letter.isDefaultTopic ? [] : [RecordHeader(key: "dlq.redrive.topic", value: Array(letter.topic.utf8))])
            + [
                RecordHeader(key: "dlq.redrive.partition", value: Array(String(letter.partition.rawValue).utf8)),
                RecordHeader(key: "dlq.redrive.offset", value: Array(String(letter.offset.rawValue).utf8)),
            ]
    }

    /// A keyless record's partition: its source partition when it goes back to its source
    /// topic; nil (round-robin) otherwise and for keyed records (murmur2 of the key).
    private static func keylessPartition(of letter: DeadLetter, in target: Topic) -> PartitionID? {
        guard letter.key == nil, letter.header("dlq.source.topic") == target.name.rawValue,
              let partition = letter.header("dlq.source.partition").flatMap(Int32.init),
              partition >= 0, Int(partition) < target.partitionCount
        else { return nil }
        return PartitionID(partition)
    }

    private static func targetTopic(
        of letter: DeadLetter, options: RedriveOptions, log: LogManager, known: inout [String: Topic], excluded: [TopicName]
    ) throws -> Topic {
        let name: String
        if let target = options.target {
            name = target.rawValue
        } else {
            guard let source = letter.header("dlq.source.topic") else {
                throw PipelineRunError("dead letter \(letter.position) of \(options.pipeline) has no dlq.source.topic header; redrive it with --to TOPIC")
            }
            name = source
        }
        if let topic = known[name] { return topic }
        guard let topicName = TopicName(rawValue: name), !excluded.contains(topicName), log.hasTopic(topicName) else {
            throw PipelineRunError("cannot redrive dead letter \(letter.position) of \(options.pipeline) to '\(name)': no such topic (create it, or use --to TOPIC)")
        }
        let topic = try log.topic(topicName)
        known[name] = topic
        return topic
    }
}
