import StreamCore
import LogStorage
import Transactions

/// A worker's part of the audit trail: at each exactly-once commit it appends one
/// ``AuditRecord`` to partition P of `<pipeline>.audit` (P: the worker's partition), inside the
/// transaction it describes.
///
/// Order at commit (``PipelineWorker``): changelogs and consumed offsets join the transaction,
/// then ``append(through:inputsFrom:to:nowMilliseconds:)`` appends every buffered record (outputs,
/// dead letters, changelog records), reads the offsets they took from the producer, and sends
/// the audit record; the producer's commit writes it and only then asks for the commit decision
/// (EndTxn, PrepareCommit). The audit partition becomes a participant in the same coordinator
/// write as the last outputs, so the trail costs one small batch (and its partition's sync) per
/// commit, and no extra transaction-log write.
///
/// - Invariant: the audit record is the last record its transaction writes: every data record
///   of the transaction is appended, at a known offset, before it, and it commits or aborts with
///   them (an aborted transaction leaves no audit record visible read-committed).
/// Thread-safety: owned by its worker's thread.
struct WorkerAudit {
    let pipeline: String
    let partition: Int32
    let auditPartition: TopicPartition
    /// The changelog topics of the worker's stores; their ranges go to `changelogs`.
    let changelogTopics: Set<String>
    /// The pipeline's dead-letter topics; their ranges go to `dead_letters`. Every other topic
    /// the transaction wrote (sinks, side outputs, repartition topics) goes to `outputs`.
    let deadLetterTopics: Set<String>

    /// Flushes what the transaction buffered and sends its audit record, the transaction's last.
    /// - Parameter start: each input partition's position when the transaction began (the
    ///   offsets the previous commit committed).
    /// - Parameter end: the positions it commits.
    func append(through producer: TransactionalProducer, inputsFrom start: [TopicPartition: Offset], to end: [TopicPartition: Offset],
                nowMilliseconds: Int64) throws {
        try producer.flushBuffered(registeringAlso: [auditPartition])
        var inputs: [AuditRecord.Range] = []
        for (topicPartition, to) in end.sorted(by: { $0.key < $1.key }) {
            guard let from = start[topicPartition], from < to else { continue }
            inputs.append(AuditRecord.Range(topic: topicPartition.topic.rawValue, partition: topicPartition.partition.rawValue,
                                            from: from.rawValue, to: to.rawValue))
        }
        var outputs: [AuditRecord.Range] = [], deadLetters: [AuditRecord.Range] = [], changelogs: [AuditRecord.Range] = []
        for appended in producer.appendedRanges {
            let topic = appended.topicPartition.topic.rawValue
            let range = AuditRecord.Range(topic: topic, partition: appended.topicPartition.partition.rawValue,
                                          from: appended.from.rawValue, to: appended.to.rawValue)
            if changelogTopics.contains(topic) {
                changelogs.append(range)
            } else if deadLetterTopics.contains(topic) {
                deadLetters.append(range)
            } else {
                outputs.append(range)
            }
        }
        let record = AuditRecord(
            pipeline: pipeline, worker: partition, transactionalID: producer.transactionalID,
            producerID: producer.producerID.rawValue, epoch: producer.producerEpoch.rawValue,
            commitTime: AuditRecord.isoTime(milliseconds: nowMilliseconds),
            inputs: inputs, outputs: outputs, deadLetters: deadLetters, changelogs: changelogs)
        try producer.send(topic: auditPartition.topic, key: Array(producer.transactionalID.utf8), value: Array(record.json.utf8),
                          partition: auditPartition.partition)
    }
}
