import ArgumentParser
import StreamCore
import LogStorage
import PipelineRuntime
import Sluice
import Foundation

/// `pipeline topics …`: create, list, describe, alter (the value subject) and delete topics.
struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Manage topics.",
        subcommands: [CreateTopic.self, ListTopics.self, DescribeTopic.self, AlterTopic.self, DeleteTopic.self])
}

/// `pipeline topics create NAME --partitions N [--compression …] [--cleanup …] [--retention …] [--value-subject SUBJECT]`
struct CreateTopic: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a topic.")

    @Argument(help: "The topic name: letters, digits, '.', '_' and '-'.") var name: String
    @Option(parsing: .unconditional, help: "Number of partitions.") var partitions: Int = 1
    @Option(help: "Batch compression: none, lz4 or zstd.") var compression: String = "none"
    @Option(help: "Cleanup policy: delete (by retention) or compact (latest value per key).") var cleanup: String = "delete"
    @Option(help: "Retention time (e.g. 7d, 12h, forever) or size (e.g. 10GiB); comma-separate to give both.")
    var retention: String?
    @Option(name: .customLong("retention-bytes"), help: "Retention size per partition (e.g. 10GiB).") var retentionBytes: String?
    @Option(name: .customLong("segment-bytes"), help: "Segment size before rolling (e.g. 128MiB).") var segmentBytes: String?
    @Option(name: .customLong("segment-age"), help: "Segment age before rolling (e.g. 7d).") var segmentAge: String?
    @Option(name: .customLong("max-batch-bytes"), help: "The largest batch (and so record) accepted.") var maxBatchBytes: String?
    @Option(name: .customLong("delete-retention"), help: "How long compaction keeps tombstones (e.g. 1d).") var deleteRetention: String?
    @Option(name: .customLong("value-subject"), help: ArgumentHelp(
        "Require every record value to be Avro in Confluent's wire format with a schema id registered under this subject.", valueName: "SUBJECT"))
    var valueSubject: String?
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let name = try topicName(self.name)
        let config = try makeConfig()
        try withLog(data, command: "topics create") { log in
            try log.createTopic(name, config: config)
            print("created topic \(name) with \(config.partitionCount) partition\(config.partitionCount == 1 ? "" : "s") (compression \(config.compression.rawValue), cleanup \(config.cleanupPolicy.rawValue)\(config.valueSubject.map { ", value subject \($0)" } ?? ""))")
        }
    }

    func makeConfig() throws -> TopicConfig {
        var config = TopicConfig(partitionCount: partitions)
        guard let codec = CompressionCodecName(rawValue: compression.lowercased()) else {
            throw CLIError("unknown compression '\(compression)' (use none, lz4 or zstd)")
        }
        config.compression = codec
        guard let policy = CleanupPolicy(rawValue: cleanup.lowercased()) else {
            throw CLIError("unknown cleanup policy '\(cleanup)' (use delete or compact)")
        }
        config.cleanupPolicy = policy
        if policy == .compact { config.retentionMilliseconds = -1 }
        if let retention {
            for part in retention.split(separator: ",").map(String.init) {
                if Units.looksLikeSize(part) {
                    guard let bytes = Units.bytes(part) else { throw CLIError("invalid retention size '\(part)'") }
                    config.retentionBytes = bytes
                } else {
                    guard let milliseconds = Units.milliseconds(part) else { throw CLIError("invalid retention '\(part)' (e.g. 7d, 12h, 10GiB)") }
                    config.retentionMilliseconds = milliseconds
                }
            }
        }
        if let retentionBytes {
            guard let bytes = Units.bytes(retentionBytes) else { throw CLIError("invalid retention size '\(retentionBytes)'") }
            config.retentionBytes = bytes
        }
        if let segmentBytes {
            guard let bytes = Units.bytes(segmentBytes), bytes > 0 else { throw CLIError("invalid segment size '\(segmentBytes)'") }
            config.segmentBytesMax = Int(bytes)
        }
        if let segmentAge {
            guard let milliseconds = Units.milliseconds(segmentAge), milliseconds > 0 else { throw CLIError("invalid segment age '\(segmentAge)'") }
            config.segmentAgeMilliseconds = milliseconds
        }
        if let maxBatchBytes {
            guard let bytes = Units.bytes(maxBatchBytes), bytes > 0 else { throw CLIError("invalid batch size '\(maxBatchBytes)'") }
            config.batchBytesMax = Int(bytes)
        }
        if let deleteRetention {
            guard let milliseconds = Units.milliseconds(deleteRetention), milliseconds > 0 else { throw CLIError("invalid delete retention '\(deleteRetention)'") }
            config.deleteRetentionMilliseconds = milliseconds
        }
        if let valueSubject {
            guard !valueSubject.isEmpty else { throw CLIError("--value-subject cannot be empty") }
            config.valueSubject = valueSubject
        }
        if let problem = config.problem() { throw CLIError("cannot create topic '\(name)': \(problem)") }
        return config
    }
}

/// `pipeline topics list`: one line per topic.
struct ListTopics: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List topics, one per line.")
    @Flag(help: "Include internal topics (__consumer_offsets, …).") var `internal` = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try withLog(data, command: "topics list") { log in
            for name in log.topicNames(includeInternal: `internal`) {
                let topic = try log.topic(name)
                let config = topic.config
                print("\(name)\tpartitions=\(config.partitionCount)\tcompression=\(config.compression.rawValue)\tcleanup=\(config.cleanupPolicy.rawValue)")
            }
        }
    }
}

/// `pipeline topics describe NAME`: configuration, and per partition its offsets and size.
struct DescribeTopic: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a topic's partitions, offsets, sizes and codec.")
    @Argument var name: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try withLog(data, command: "topics describe") { log in
            let topic = try log.topic(named: name)
            let config = topic.config
            print("topic: \(topic.name)")
            print("partitions: \(config.partitionCount)")
            print("compression: \(config.compression.rawValue)")
            print("cleanup: \(config.cleanupPolicy.rawValue)")
            print("retention: \(Units.describeMilliseconds(config.retentionMilliseconds)), \(Units.describeBytes(config.retentionBytes)) per partition")
            print("segment size: \(Units.describeBytes(Int64(config.segmentBytesMax))), segment age: \(Units.describeMilliseconds(config.segmentAgeMilliseconds))")
            print("max batch: \(Units.describeBytes(Int64(config.batchBytesMax)))")
            print("value.subject: \(config.valueSubject ?? "none")")
            let partitions = try topic.partitions
            let rows = partitions.map { partition in
                [String(partition.topicPartition.partition.rawValue), partition.logStartOffset.description,
                 partition.logEndOffset.description, String(partition.logEndOffset - partition.logStartOffset),
                 String(partition.segmentCount), Units.describeBytes(partition.sizeBytes)]
            }
            let header = ["PARTITION", "EARLIEST", "LATEST", "OFFSETS", "SEGMENTS", "SIZE"]
            printTable(header: header, rows: rows)
            let totalBytes = partitions.reduce(Int64(0)) { $0 + $1.sizeBytes }
            let totalOffsets = partitions.reduce(Int64(0)) { $0 + ($1.logEndOffset - $1.logStartOffset) }
            print("total: \(totalOffsets) offsets, \(Units.describeBytes(totalBytes))")
        }
    }
}

/// `pipeline topics alter NAME --value-subject SUBJECT | --no-value-subject`: sets or removes the
/// subject the topic's record values must belong to (see ``LogManager/setValueSubject(_:of:)``).
struct AlterTopic: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alter", abstract: "Change a topic's value subject.")
    @Argument var name: String
    @Option(name: .customLong("value-subject"), help: ArgumentHelp(
        "Require every record value to be Avro in Confluent's wire format with a schema id registered under this subject.", valueName: "SUBJECT"))
    var valueSubject: String?
    @Flag(name: .customLong("no-value-subject"), help: "Accept any value again.") var noValueSubject = false
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        guard (valueSubject != nil) != noValueSubject else { throw ValidationError("give one of --value-subject SUBJECT and --no-value-subject") }
        if valueSubject?.isEmpty == true { throw ValidationError("--value-subject cannot be empty") }
    }

    func run() throws {
        try withLog(data, command: "topics alter") { log in
            let name = try topicName(self.name)
            try log.setValueSubject(valueSubject, of: name)
            print(valueSubject.map { "topic \(name) now requires values of subject \($0)" } ?? "topic \(name) now accepts any value")
        }
    }
}

/// `pipeline topics delete NAME`
struct DeleteTopic: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a topic and all its data.")
    @Argument var name: String
    @Flag(help: "Delete it even when it is a pipeline's internal topic (a changelog, a repartition topic, redrive markers, an audit trail).")
    var force = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let topic = try topicName(name)
        if !force, let entry = PipelineInternalTopics.entry(for: name, in: CatalogRegistry.catalog.pipelines) {
            throw CLIError("""
                refusing to delete '\(name)': it is \(entry.role) of pipeline \(entry.pipeline), and deleting it loses what it holds; \
                add --force to delete it anyway (then `pipeline replay \(entry.pipeline) --from earliest` rebuilds the pipeline's state)
                """)
        }
        try withLog(data, command: "topics delete") { log in
            try log.deleteTopic(topic)
            print("deleted topic \(name)")
        }
    }
}

/// Prints left-aligned columns.
func printTable(header: [String], rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingTrailingSpaces()
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
