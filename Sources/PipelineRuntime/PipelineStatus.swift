package import Sluice
package import LogStorage
import StreamCore
import Foundation
import Synchronization

/// What `GET /status` and `pipeline status` say of one pipeline: its workers, each input
/// partition's committed offset and lag, when it last committed, how many records per second
/// its commits took over the last 10 s, and its committed dead letters by type.
///
/// Offsets, lag and dead letters come from the data directory (read-committed, as `pipeline lag`
/// and `pipeline dlq list` show them); the rate and the process's commits from the running
/// process (``PipelineActivity``). For a pipeline no process runs, the last commit is the newest
/// committed audit record's `commit_time` and the rate is 0.
///
/// Thread-safety: a value.
package struct PipelineStatus: Codable, Sendable, Equatable {
    /// One worker: it owns partition `partition` of every source topic.
    package struct Worker: Codable, Sendable, Equatable {
        package var partition: Int32
        package var transactionalID: String

        enum CodingKeys: String, CodingKey {
            case partition
            case transactionalID = "transactional_id"
        }
    }

    /// One input partition of the pipeline's consumer group.
    package struct InputPartition: Codable, Sendable, Equatable {
        package var topic: String
        package var partition: Int32
        /// nil before the group's first commit (the pipeline then starts from the log start).
        package var committedOffset: Int64?
        /// The last stable offset.
        package var endOffset: Int64
        /// Data records from the committed offset (or the log start) up to the last stable offset.
        package var lag: Int64

        enum CodingKeys: String, CodingKey {
            case topic, partition, lag
            case committedOffset = "committed_offset"
            case endOffset = "end_offset"
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(topic, forKey: .topic)
            try container.encode(partition, forKey: .partition)
            try container.encode(committedOffset, forKey: .committedOffset)
            try container.encode(endOffset, forKey: .endOffset)
            try container.encode(lag, forKey: .lag)
        }
    }

    /// Committed dead letters of one error type at one stage.
    package struct DeadLetterCount: Codable, Sendable, Equatable {
        package var errorType: String
        package var stage: String
        package var count: Int

        enum CodingKeys: String, CodingKey {
            case stage, count
            case errorType = "error_type"
        }
    }

    package var pipeline: String
    /// Whether the process answering runs it (false for `pipeline status PIPELINE`).
    package var running: Bool
    package var guarantee: String
    package var group: String
    package var workers: [Worker]
    package var inputs: [InputPartition]
    /// The sum of the inputs' lag.
    package var lag: Int64
    /// ISO 8601, UTC; nil when the pipeline never committed (or has no audit trail, offline).
    package var lastCommit: String?
    package var lastCommitAgeSeconds: Double?
    /// Committed input records per second over the last 10 s (0 when not running).
    package var recordsPerSecond: Double
    /// Commits by this process since it started; nil when not running.
    package var commits: Int?
    package var deadLettersTotal: Int
    package var deadLetters: [DeadLetterCount]
    /// Seconds the process spent restoring each store at start-up; empty when not running.
    package var stateRestoreSeconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case pipeline, running, guarantee, group, workers, inputs, lag, commits
        case lastCommit = "last_commit"
        case lastCommitAgeSeconds = "last_commit_age_seconds"
        case recordsPerSecond = "records_per_second"
        case deadLettersTotal = "dead_letters_total"
        case deadLetters = "dead_letters"
        case stateRestoreSeconds = "state_restore_seconds"
    }

    /// Every key, an absent value as `null` (so the document's shape never changes).
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pipeline, forKey: .pipeline)
        try container.encode(running, forKey: .running)
        try container.encode(guarantee, forKey: .guarantee)
        try container.encode(group, forKey: .group)
        try container.encode(workers, forKey: .workers)
        try container.encode(inputs, forKey: .inputs)
        try container.encode(lag, forKey: .lag)
        try container.encode(lastCommit, forKey: .lastCommit)
        try container.encode(lastCommitAgeSeconds, forKey: .lastCommitAgeSeconds)
        try container.encode(recordsPerSecond, forKey: .recordsPerSecond)
        try container.encode(commits, forKey: .commits)
        try container.encode(deadLettersTotal, forKey: .deadLettersTotal)
        try container.encode(deadLetters, forKey: .deadLetters)
        try container.encode(stateRestoreSeconds, forKey: .stateRestoreSeconds)
    }

    /// The status of `pipeline` over `log`; `activity` is the running process's, nil offline.
    /// - Throws: a storage failure while reading offsets, batches or dead letters.
    package static func make(pipeline: any PipelineDefinition, log: LogManager, activity: PipelineActivity?,
                             nowMilliseconds: Int64 = Int64(Date().timeIntervalSince1970 * 1000),
                             nowNanoseconds: UInt64 = DispatchTime.now().uptimeNanoseconds) throws -> PipelineStatus {
        let configuration = pipeline.configuration
        let topology = pipeline.topology
        let group = configuration.consumerGroup ?? pipeline.name
        var inputs: [InputPartition] = []
        var partitionCount = 0
        for name in topology.sourceTopics {
            let topicName = try TopicName(validating: name)
            guard log.hasTopic(topicName) else { continue }
            let topic = try log.topic(topicName)
            partitionCount = max(partitionCount, topic.partitionCount)
            for topicPartition in topic.topicPartitions {
                let partition = try log.partition(topicPartition)
                let committed = log.offsets.committed(group: group, topicPartition)?.offset
                let from = committed.map { max($0, partition.logStartOffset) } ?? partition.logStartOffset
                let (lag, end) = try partition.dataRecordCount(from: from, isolation: .readCommitted)
                inputs.append(InputPartition(topic: name, partition: topicPartition.partition.rawValue,
                                             committedOffset: committed?.rawValue, endOffset: end.rawValue, lag: lag))
            }
        }
        let workers = (0..<partitionCount).map { Worker(partition: Int32($0), transactionalID: "\(pipeline.name)-\($0)") }
        let report = try DeadLetterReport.make(log: log, pipeline: pipeline.name, otherTopics: topology.deadLetterTopics)

        var lastCommit: String?
        var lastCommitAge: Double?
        if let activity {
            lastCommitAge = activity.lastCommitAgeSeconds(nowNanoseconds: nowNanoseconds)
            lastCommit = lastCommitAge.map { AuditRecord.isoTime(milliseconds: nowMilliseconds - Int64(($0 * 1000).rounded())) }
        } else if let newest = try newestAuditCommit(pipeline: pipeline.name, log: log) {
            lastCommit = AuditRecord.isoTime(milliseconds: newest)
            lastCommitAge = Double(max(0, nowMilliseconds - newest)) / 1000
        }
        return PipelineStatus(
            pipeline: pipeline.name, running: activity != nil, guarantee: configuration.guarantee.rawValue, group: group,
            workers: workers, inputs: inputs, lag: inputs.reduce(0) { $0 + $1.lag },
            lastCommit: lastCommit, lastCommitAgeSeconds: lastCommitAge,
            recordsPerSecond: activity?.recordsPerSecond(nowNanoseconds: nowNanoseconds) ?? 0, commits: activity?.commits,
            deadLettersTotal: report.total,
            deadLetters: report.rows.map { DeadLetterCount(errorType: $0.errorType, stage: $0.stage, count: $0.count) },
            stateRestoreSeconds: activity?.restoreSeconds ?? [:])
    }

    /// The latest `commit_time` (milliseconds) among the last committed audit records of each
    /// partition of `<pipeline>.audit`; nil without an audit trail or audit record.
    static func newestAuditCommit(pipeline: String, log: LogManager) throws -> Int64? {
        let name = try TopicName(validating: PipelineInternalTopics.auditTopic(of: pipeline))
        guard log.hasTopic(name) else { return nil }
        var newest: Int64?
        for topicPartition in try log.topic(name).topicPartitions {
            let partition = try log.partition(topicPartition)
            // The newest audit record is among the last committed records; markers and aborted
            // records lie in between, so read back a window and widen it until one is found.
            var window: Int64 = 64
            while true {
                let start = max(partition.logStartOffset.rawValue, partition.lastStableOffset.rawValue - window)
                if let time = try lastAuditCommit(topicPartition, from: Offset(start), log: log) {
                    newest = max(newest ?? time, time)
                    break
                }
                if start <= partition.logStartOffset.rawValue { break }
                window *= 8
            }
        }
        return newest
    }

    private static func lastAuditCommit(_ topicPartition: TopicPartition, from start: Offset, log: LogManager) throws -> Int64? {
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.maxPollRecords = 5000
        let consumer = LogConsumer(log: log, config: config)
        defer { consumer.close() }
        try consumer.assign([topicPartition])
        try consumer.seek(topicPartition, to: .offset(start))
        var last: Int64?
        while !consumer.isCaughtUp {
            let records = try consumer.poll()
            if records.isEmpty { break }
            for record in records {
                if let value = record.value, let audit = AuditRecord(json: value), let time = ISO8601Time.milliseconds(audit.commitTime) {
                    last = time
                }
            }
        }
        return last
    }
}

/// The answer of `GET /status`: every pipeline the process runs.
package struct StatusDocument: Codable, Sendable, Equatable {
    package var pipelines: [PipelineStatus]

    package init(pipelines: [PipelineStatus]) {
        self.pipelines = pipelines
    }

    /// Pretty-printed JSON, keys sorted, with a final newline.
    /// - Throws: `EncodingError` for a non-finite number (none is ever computed).
    package func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// The pipelines a process runs, for its `GET /status`: each registers once its runner exists.
///
/// Thread-safety: thread-safe.
package final class PipelineStatusBoard: Sendable {
    private let entries = Mutex<[(pipeline: any PipelineDefinition, activity: PipelineActivity)]>([])

    package init() {}

    /// `pipeline` runs in this process and records into `activity`.
    package func register(_ pipeline: any PipelineDefinition, activity: PipelineActivity) {
        entries.withLock { $0.append((pipeline, activity)) }
    }

    /// The status of every registered pipeline, in registration order.
    package func document(log: LogManager) throws -> StatusDocument {
        let running = entries.withLock { $0 }
        return StatusDocument(pipelines: try running.map { try PipelineStatus.make(pipeline: $0.pipeline, log: log, activity: $0.activity) })
    }
}
