package import Sluice
package import StreamCore
package import LogStorage
package import Transactions

/// `pipeline recover PIPELINE --skip-damaged TOPIC/PARTITION@OFFSET`: moves a pipeline past a
/// source batch that fails its checks, on the record. The damaged batch's raw bytes go to
/// `<pipeline>.dlq` (stage `read`, error type `CorruptBatch`, with where it was and what it
/// covered) and the pipeline's committed offset of that partition moves to the first valid batch
/// after it — both in ONE transaction of the worker's transactional id `<pipeline>-<P>`, fenced
/// first (which aborts whatever a killed worker left open), so a kill at any point leaves either
/// both or neither.
///
/// Refused unless OFFSET is the pipeline's committed offset there (so nothing between it and the
/// damage is skipped), the batch a read from it stops at is damaged, and where the next valid
/// batch starts is known (recovery keeps damage followed by valid batches in place).
///
/// - Precondition: the caller holds the data directory (the pipeline is not running).
/// Thread-safety: one thread.
package enum DamagedBatchSkip {
    /// What a skip did.
    package struct Outcome: Sendable, Equatable {
        package var damaged: DamagedBatch
        /// Where the pipeline resumes.
        package var resumeOffset: Offset
        package var deadLetterTopic: String
    }

    /// Dead-letters the damaged batch that `pipeline` stops at in `topicPartition` at `offset`
    /// and commits its offset past it.
    /// - Throws: ``PipelineRunError`` for a refusal (the reason and what to do), log and
    ///   transaction errors.
    package static func skip(pipeline: any PipelineDefinition, topicPartition: TopicPartition, offset: Offset,
                             log: LogManager, coordinator: TransactionCoordinator) throws -> Outcome {
        let topology = pipeline.topology
        let name = pipeline.name
        guard topology.sourceTopics.contains(topicPartition.topic.rawValue) else {
            throw PipelineRunError("pipeline '\(name)' does not read \(topicPartition.topic) (it reads \(topology.sourceTopics.joined(separator: ", ")))")
        }
        let partition = try log.partition(topicPartition)
        let group = pipeline.configuration.consumerGroup ?? name
        let committed = log.offsets.committed(group: group, topicPartition)?.offset ?? partition.logStartOffset
        guard committed == offset else {
            throw PipelineRunError("""
                the committed offset of '\(name)' in \(topicPartition) is \(committed), not \(offset): only the batch a run stops at can \
                be skipped (run the pipeline; when it stops at damage it names the command)
                """)
        }
        guard let damaged = try partition.damagedBatch(at: offset) else {
            throw PipelineRunError("no damaged batch at \(topicPartition)@\(offset): the batch there reads cleanly; nothing to skip")
        }
        guard let resume = damaged.nextValidOffset, resume > offset else {
            throw PipelineRunError("""
                the damaged batch at \(topicPartition)@\(offset) (file position \(damaged.position) of \(damaged.path)) is not followed \
                by a valid batch, so where the input resumes is unknown; nothing was changed
                """)
        }
        let deadLetterTopic = DeadLetters.topic(for: name)
        let topic = try TopicName(validating: deadLetterTopic)
        if !log.hasTopic(topic) { try log.createTopic(topic, config: try log.topic(topicPartition.topic).config) }
        let target = try log.topic(topic)

        let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "\(name)-\(topicPartition.partition.rawValue)")
        try producer.initTransactions()
        try producer.beginTransaction()
        let now = log.clock.now().rawValue
        var headers: [(String, String)] = [
            ("dlq.pipeline", name),
            ("dlq.operator", "source-\(topicPartition.topic.rawValue)"),
            ("dlq.stage", "read"),
            ("dlq.error.type", "CorruptBatch"),
            ("dlq.error.message", damaged.reason),
            ("dlq.source.topic", topicPartition.topic.rawValue),
            ("dlq.source.partition", String(topicPartition.partition.rawValue)),
            ("dlq.source.offset", String(offset.rawValue)),
            ("dlq.damaged.path", damaged.path),
            ("dlq.damaged.position", String(damaged.position)),
            ("dlq.damaged.bytes", String(damaged.bytes.count)),
        ]
        if let base = damaged.baseOffset { headers.append(("dlq.damaged.first.offset", String(base.rawValue))) }
        if let last = damaged.lastOffset { headers.append(("dlq.damaged.last.offset", String(last.rawValue))) }
        headers += [
            ("dlq.skipped.to", String(resume.rawValue)),
            ("dlq.attempts", "1"),
            ("dlq.first.failure.time", String(now)),
            ("dlq.last.failure.time", String(now)),
        ]
        let dlqPartition = Int(topicPartition.partition.rawValue) < target.partitionCount ? topicPartition.partition : PartitionID(0)
        try producer.send(topic: topic, key: nil, value: damaged.bytes,
                          headers: headers.map { RecordHeader(key: $0.0, value: Array($0.1.utf8)) },
                          timestamp: Timestamp(milliseconds: now), partition: dlqPartition)
        try producer.sendOffsets([topicPartition: resume], group: group)
        if let audit = try audit(of: pipeline, partition: topicPartition.partition, deadLetterTopic: deadLetterTopic, log: log) {
            try audit.append(through: producer, inputsFrom: [topicPartition: offset], to: [topicPartition: resume], nowMilliseconds: now)
        }
        try producer.commitTransaction()
        return Outcome(damaged: damaged, resumeOffset: resume, deadLetterTopic: deadLetterTopic)
    }

    /// The skip's part of the audit trail, as a worker's commit has it (the skip is a
    /// transaction of the worker's transactional id that consumes the damaged offsets and writes
    /// one dead letter), so `audit verify` finds the skipped offsets consumed exactly once; nil
    /// when the pipeline keeps no audit trail.
    private static func audit(of pipeline: any PipelineDefinition, partition: PartitionID, deadLetterTopic: String,
                              log: LogManager) throws -> WorkerAudit? {
        guard pipeline.configuration.audit && pipeline.configuration.guarantee == .exactlyOnce else { return nil }
        let auditTopic = try TopicName(validating: PipelineInternalTopics.auditTopic(of: pipeline.name))
        guard log.hasTopic(auditTopic), Int(partition.rawValue) < (try log.topic(auditTopic)).partitionCount else { return nil }
        return WorkerAudit(pipeline: pipeline.name, partition: partition.rawValue, auditPartition: TopicPartition(auditTopic, partition),
                           changelogTopics: [], deadLetterTopics: Set([deadLetterTopic] + pipeline.topology.deadLetterTopics))
    }
}
