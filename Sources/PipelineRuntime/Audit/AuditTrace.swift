package import StreamCore
package import LogStorage

/// One step of `pipeline audit trace`: the committed transaction that consumed a record, what
/// it wrote, and (on request) the transactions downstream that consumed its outputs.
package struct AuditTraceStep: Sendable {
    package var entry: AuditTrail.Entry
    /// The output records whose `sluice.source` header names the traced record (written with
    /// ``Sluice/PipelineConfiguration/lineageHeaders``), as topic-partition and offset; empty
    /// without lineage headers.
    package var caused: [(topicPartition: TopicPartition, offset: Offset)]
    /// The committed records of its output and dead-letter ranges, when asked for.
    package var records: [ConsumerRecord]
    /// The transactions that consumed its outputs (only the caused ones, when lineage headers
    /// name them), when asked for.
    package var downstream: [AuditTraceStep]
}

/// Finds which audited transaction consumed a record, over every `*.audit` topic of the data
/// directory (`pipeline audit trace`).
///
/// Thread-safety: stateless; reads the thread-safe log.
package enum AuditTrace {
    /// The header an output record carries with lineage headers on: `topic/partition/offset`.
    package static let sourceHeader = "sluice.source"
    /// How deep `downstream` follows outputs into further pipelines.
    package static let downstreamDepthMax = 8

    /// The transaction that consumed `topic`/`partition`@`offset`, or nil when no audited one did.
    package static func trace(_ topicPartition: TopicPartition, offset: Offset, log: LogManager, records: Bool,
                              downstream: Bool) throws -> AuditTraceStep? {
        let trails = try AuditTrail.loadAll(log: log)
        let entries = trails.flatMap(\.entries)
        guard let entry = entries.first(where: { consumed($0, topicPartition, from: offset, to: offset + 1) }) else { return nil }
        var visited = Set<String>()
        return try step(entry, source: (topicPartition, offset), entries: entries, log: log, records: records,
                        downstream: downstream ? downstreamDepthMax : 0, visited: &visited)
    }

    private static func step(_ entry: AuditTrail.Entry, source: (TopicPartition, Offset)?, entries: [AuditTrail.Entry], log: LogManager,
                             records wantsRecords: Bool, downstream depth: Int, visited: inout Set<String>) throws -> AuditTraceStep {
        visited.insert("\(entry.topicPartition)@\(entry.offset)")
        var result = AuditTraceStep(entry: entry, caused: [], records: [], downstream: [])
        let lineage = source.map { Array("\($0.0.topic)/\($0.0.partition)/\($0.1)".utf8) }
        for range in entry.record.outputs {
            for record in try read(range, log: log) {
                if let lineage, record.headers.contains(where: { $0.key == sourceHeader && $0.value == lineage }) {
                    result.caused.append((record.topicPartition, record.offset))
                }
                if wantsRecords { result.records.append(record) }
            }
        }
        if wantsRecords {
            for range in entry.record.deadLetters { result.records += try read(range, log: log) }
        }
        guard depth > 0 else { return result }
        // Follow the caused records when lineage names them, else every output range.
        var followed: [(TopicPartition, from: Offset, to: Offset)] = result.caused.map { ($0.topicPartition, $0.offset, $0.offset + 1) }
        if followed.isEmpty {
            followed = try entry.record.outputs.map {
                (TopicPartition(try TopicName(validating: $0.topic), PartitionID($0.partition)), Offset($0.from), Offset($0.to))
            }
        }
        for next in entries where !visited.contains("\(next.topicPartition)@\(next.offset)") {
            guard let hit = followed.first(where: { consumed(next, $0.0, from: $0.from, to: $0.to) }) else { continue }
            let nextSource = result.caused.isEmpty ? nil : (hit.0, hit.from)
            result.downstream.append(try step(next, source: nextSource, entries: entries, log: log, records: wantsRecords,
                                              downstream: depth - 1, visited: &visited))
        }
        return result
    }

    /// Whether `entry`'s inputs overlap offsets `from..<to` of `topicPartition`.
    private static func consumed(_ entry: AuditTrail.Entry, _ topicPartition: TopicPartition, from: Offset, to: Offset) -> Bool {
        entry.record.inputs.contains {
            $0.topic == topicPartition.topic.rawValue && $0.partition == topicPartition.partition.rawValue
                && $0.from < to.rawValue && from.rawValue < $0.to
        }
    }

    /// The committed records in `range`.
    private static func read(_ range: AuditRecord.Range, log: LogManager) throws -> [ConsumerRecord] {
        let topicPartition = TopicPartition(try TopicName(validating: range.topic), PartitionID(range.partition))
        guard range.from < range.to else { return [] }
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        let consumer = LogConsumer(log: log, config: config)
        defer { consumer.close() }
        try consumer.assign([topicPartition])
        try consumer.seek(topicPartition, to: .offset(Offset(range.from)))
        var result: [ConsumerRecord] = []
        while try consumer.position(topicPartition).rawValue < range.to {
            let records = try consumer.poll()
            if records.isEmpty { break }
            result += records.filter { $0.offset.rawValue < range.to }
        }
        return result
    }
}
