package import Sluice
package import LogStorage
import StreamCore
import RecordFormat

/// What `pipeline audit verify` found.
package struct AuditVerdict: Sendable {
    package var pipeline: String
    package var transactions = 0
    /// Source partitions reconciled, and the offsets their audited transactions consumed.
    package var sourcePartitions = 0
    package var sourceOffsets: Int64 = 0
    /// Committed data records checked against the audited ranges, per kind.
    package var outputRecords: Int64 = 0
    package var deadLetterRecords: Int64 = 0
    package var changelogRecords: Int64 = 0
    /// Records of aborted transactions checked to be referenced by no audited range.
    package var abortedRecords: Int64 = 0
    /// Every discrepancy, in the order found (source partitions first, then written ones, each
    /// in topic-partition and offset order).
    package var discrepancies: [String] = []

    package var passed: Bool { discrepancies.isEmpty }

    /// The one-line verdict.
    package var line: String {
        if let first = discrepancies.first {
            let more = discrepancies.count > 1 ? " (\(discrepancies.count) discrepancies, this the first)" : ""
            return "audit of \(pipeline) FAILED: \(first)\(more)"
        }
        return """
            audit of \(pipeline) verified: \(transactions) committed transactions consumed \(sourceOffsets) offsets of \
            \(sourcePartitions) source partitions, each exactly once up to the committed offsets; \(outputRecords) output, \
            \(deadLetterRecords) dead-letter and \(changelogRecords) changelog records each belong to exactly one audited \
            transaction; none of \(abortedRecords) aborted records is referenced
            """
    }
}

/// Reconciles a pipeline's audit trail with the log (`pipeline audit verify`):
///
/// - every source partition's offsets, from its log start (or from the oldest audit record, once
///   retention deleted older ones) up to the group's committed offset, were consumed by exactly
///   one committed transaction: the audited input ranges tile that span with no gap and no
///   overlap, and end at the committed offset;
/// - every committed data record of a partition the pipeline writes (sinks and side outputs,
///   repartition topics, dead-letter topics, changelogs) lies in exactly one audited range, and
///   no record of an aborted transaction lies in any.
///
/// It reads batch headers only (no record is decoded), read-committed up to each partition's
/// last stable offset, with the aborted transactions the reads report.
///
/// Thread-safety: stateless; reads the thread-safe log.
package enum AuditVerification {
    private enum Kind { case output, deadLetter, changelog }

    package static func verify(pipeline: any PipelineDefinition, log: LogManager) throws -> AuditVerdict {
        var verdict = AuditVerdict(pipeline: pipeline.name)
        let auditTopic = try TopicName(validating: PipelineInternalTopics.auditTopic(of: pipeline.name))
        guard log.hasTopic(auditTopic) else {
            throw PipelineRunError("""
                \(pipeline.name) has no audit trail (\(auditTopic) does not exist): it has not run exactly-once with \
                PipelineConfiguration.audit on
                """)
        }
        let trail = try AuditTrail.load(topic: auditTopic, log: log)
        verdict.transactions = trail.entries.count
        for place in trail.undecodable { verdict.discrepancies.append("\(place) is not an audit record") }
        try verifyInputs(pipeline: pipeline, trail: trail, log: log, into: &verdict)
        try verifyWritten(pipeline: pipeline, trail: trail, log: log, into: &verdict)
        return verdict
    }

    // MARK: Inputs

    private static func verifyInputs(pipeline: any PipelineDefinition, trail: AuditTrail, log: LogManager,
                                     into verdict: inout AuditVerdict) throws {
        let group = pipeline.configuration.consumerGroup ?? pipeline.name
        var ranges: [TopicPartition: [(range: AuditRecord.Range, entry: AuditTrail.Entry)]] = [:]
        for entry in trail.entries {
            for range in entry.record.inputs {
                ranges[try place(range), default: []].append((range, entry))
            }
        }
        var sources = Set(ranges.keys)
        for name in pipeline.topology.sourceTopics {
            guard let topic = try? TopicName(validating: name), log.hasTopic(topic) else { continue }
            sources.formUnion(try log.topic(topic).topicPartitions)
        }
        for source in sources.sorted() {
            let logStart = try log.partition(source).logStartOffset.rawValue
            let committed = log.offsets.committed(group: group, source)?.offset.rawValue
            let consumed = (ranges[source] ?? []).sorted { ($0.range.from, $0.range.to) < ($1.range.from, $1.range.to) }
            verdict.sourcePartitions += 1
            guard let first = consumed.first else {
                if let committed, committed > logStart, trail.isComplete {
                    verdict.discrepancies.append("""
                        \(source): offsets [\(logStart), \(committed)) below group \(group)'s committed offset were consumed by no \
                        audited transaction
                        """)
                }
                continue
            }
            if trail.isComplete && first.range.from > logStart {
                verdict.discrepancies.append("""
                    \(source): offsets [\(logStart), \(first.range.from)) were consumed by no audited transaction (the first, \
                    \(first.entry.transaction), starts at \(first.range.from))
                    """)
            }
            var previous = first
            verdict.sourceOffsets += first.range.to - first.range.from
            for next in consumed.dropFirst() {
                if next.range.from < previous.range.to {
                    verdict.discrepancies.append("""
                        \(source): offsets [\(next.range.from), \(min(previous.range.to, next.range.to))) were consumed by two \
                        committed transactions, \(previous.entry.transaction) and \(next.entry.transaction)
                        """)
                } else if next.range.from > previous.range.to {
                    verdict.discrepancies.append("""
                        \(source): offsets [\(previous.range.to), \(next.range.from)) were consumed by no audited transaction \
                        (between \(previous.entry.transaction) and \(next.entry.transaction))
                        """)
                }
                verdict.sourceOffsets += next.range.to - next.range.from
                if next.range.to > previous.range.to { previous = next }
            }
            let reached = previous.range.to
            switch committed {
            case nil:
                verdict.discrepancies.append("\(source): audited transactions consumed it up to \(reached), but group \(group) has no committed offset")
            case let committed? where committed > reached:
                verdict.discrepancies.append("""
                    \(source): offsets [\(reached), \(committed)) below group \(group)'s committed offset \(committed) were \
                    consumed by no audited transaction (the last, \(previous.entry.transaction), ends at \(reached))
                    """)
            case let committed? where committed < reached:
                verdict.discrepancies.append("""
                    \(source): group \(group)'s committed offset \(committed) is below \(reached), where the audited \
                    transactions consumed it up to (\(previous.entry.transaction))
                    """)
            default: break
            }
        }
    }

    // MARK: Written records

    private static func verifyWritten(pipeline: any PipelineDefinition, trail: AuditTrail, log: LogManager,
                                      into verdict: inout AuditVerdict) throws {
        var ranges: [TopicPartition: [(range: AuditRecord.Range, entry: AuditTrail.Entry)]] = [:]
        var kinds: [TopicPartition: Kind] = [:]
        for entry in trail.entries {
            for (list, kind) in [(entry.record.outputs, Kind.output), (entry.record.deadLetters, .deadLetter), (entry.record.changelogs, .changelog)] {
                for range in list {
                    let topicPartition = try place(range)
                    ranges[topicPartition, default: []].append((range, entry))
                    kinds[topicPartition] = kind
                }
            }
        }
        // The topics the pipeline writes, whether or not an audited range names them: a record
        // there that no transaction accounts for is a discrepancy too.
        let topology = pipeline.topology
        let internalTopics = Set(topology.internalTopics)
        var written: [(String, Kind)] = topology.sinkTopics.filter { !internalTopics.contains($0) }.map { ($0, .output) }
        written += topology.internalTopics.map { ($0, .output) }
        written += ([DeadLetters.topic(for: pipeline.name)] + topology.deadLetterTopics).map { ($0, .deadLetter) }
        written += topology.storeNames.map { ("\(pipeline.name)-\($0)-changelog", .changelog) }
        for (name, kind) in written {
            guard let topic = try? TopicName(validating: name), log.hasTopic(topic) else { continue }
            for topicPartition in try log.topic(topic).topicPartitions where kinds[topicPartition] == nil { kinds[topicPartition] = kind }
        }
        for (topicPartition, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            let audited = (ranges[topicPartition] ?? []).sorted { ($0.range.from, $0.range.to) < ($1.range.from, $1.range.to) }
            try verifyPartition(topicPartition, kind: kind, audited: audited, trailIsComplete: trail.isComplete, log: log, into: &verdict)
        }
    }

    /// Walks one written partition's batches (headers only) against its audited ranges.
    private static func verifyPartition(_ topicPartition: TopicPartition, kind: Kind,
                                        audited: [(range: AuditRecord.Range, entry: AuditTrail.Entry)], trailIsComplete: Bool,
                                        log: LogManager, into verdict: inout AuditVerdict) throws {
        let partition = try log.partition(topicPartition)
        for (previous, next) in zip(audited, audited.dropFirst()) where next.range.from < previous.range.to {
            verdict.discrepancies.append("""
                \(topicPartition): offsets [\(next.range.from), \(min(previous.range.to, next.range.to))) were written by two \
                audited transactions, \(previous.entry.transaction) and \(next.entry.transaction)
                """)
        }
        let logEnd = partition.logEndOffset.rawValue
        for entry in audited where entry.range.to > logEnd {
            verdict.discrepancies.append("\(topicPartition): \(entry.entry.transaction) names offsets [\(entry.range.from), \(entry.range.to)) past the log end \(logEnd)")
        }
        let logStart = partition.logStartOffset.rawValue
        // Without the whole trail, records older than the oldest audit record are not judged.
        guard let windowStart = trailIsComplete ? logStart : audited.first.map({ max(logStart, $0.range.from) }) else { return }
        let stable = partition.lastStableOffset
        var position = Offset(windowStart)
        var index = 0
        while position < stable {
            let fetched = try partition.read(from: position, maxBytes: 1 << 20, isolation: .readCommitted)
            let before = position
            for batch in fetched.batches {
                let header = batch.header
                guard header.lastOffset >= position, header.baseOffset < stable else { continue }
                position = header.lastOffset + 1
                if header.isControl || header.recordCount == 0 { continue }
                let first = header.baseOffset.rawValue, end = header.lastOffset.rawValue + 1
                while index < audited.count && audited[index].range.to <= first { index += 1 }
                var overlapping: [(range: AuditRecord.Range, entry: AuditTrail.Entry)] = []
                var probe = index
                while probe < audited.count && audited[probe].range.from < end {
                    if audited[probe].range.to > first { overlapping.append(audited[probe]) }
                    probe += 1
                }
                if isAborted(header, in: fetched.abortedTransactions) {
                    verdict.abortedRecords += Int64(header.recordCount)
                    if let referencing = overlapping.first {
                        verdict.discrepancies.append("""
                            \(topicPartition): offsets [\(first), \(end)) are an aborted transaction's records (producer \
                            \(header.producerID)), yet \(referencing.entry.transaction) names them
                            """)
                    }
                    continue
                }
                switch kind {
                case .output: verdict.outputRecords += Int64(header.recordCount)
                case .deadLetter: verdict.deadLetterRecords += Int64(header.recordCount)
                case .changelog: verdict.changelogRecords += Int64(header.recordCount)
                }
                let owners = overlapping.filter { $0.range.from <= first && end <= $0.range.to }
                if owners.isEmpty {
                    let producer = header.isTransactional ? "transactional, producer \(header.producerID)" : "not transactional"
                    verdict.discrepancies.append("""
                        \(topicPartition): committed records [\(first), \(end)) (\(producer)) belong to no audited transaction
                        """)
                }
            }
            if position == before { break }
        }
    }

    /// Whether a batch belongs to one of the aborted transactions a read-committed read reported.
    private static func isAborted(_ header: RecordBatchHeader, in aborted: [AbortedTransaction]) -> Bool {
        guard header.isTransactional else { return false }
        return aborted.contains {
            $0.producerID == header.producerID && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset
        }
    }

    private static func place(_ range: AuditRecord.Range) throws -> TopicPartition {
        TopicPartition(try TopicName(validating: range.topic), PartitionID(range.partition))
    }
}
