import ArgumentParser
import StreamCore
import LogStorage
import Foundation
import Sluice
import PipelineRuntime

extension IsolationLevel: ExpressibleByArgument {}

/// How `consume` prints records.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// The value's bytes, one record per line.
    case value
    /// A JSON envelope per line: topic, partition, offset, timestamp, key, value, headers.
    case json
}

/// `pipeline consume TOPIC [--from-beginning | --offset N] [--group G] [--max N] [--format value|json] [--avro]`
///
/// Without `--group` it reads from the earliest offset (or `--offset`); with a group it resumes
/// at the group's committed offsets (earliest when it has none) and commits what it printed.
struct ConsumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print a topic's records, one per line; exits at the end unless --follow.")

    @Argument var topic: String
    @Flag(name: .customLong("from-beginning"), help: "Start at the earliest offset (even for a group with committed offsets).")
    var fromBeginning = false
    // Numbers are parsed unconditionally, so that `--partition -1` is refused as negative rather
    // than read as an unknown option and reported as a missing value.
    @Option(parsing: .unconditional, help: "Start at this offset (in every partition, or in --partition).") var offset: Int64?
    @Option(parsing: .unconditional, help: "Read only this partition.") var partition: Int32?
    @Option(help: "Consume as this consumer group: resume from, and commit, its offsets.") var group: String?
    @Option(parsing: .unconditional, help: "Stop after this many records.") var max: Int?
    @Option(help: "Output: value (the value per line) or json (an envelope per line).") var format: OutputFormat = .value
    @Flag(help: "Keep waiting for new records instead of exiting at the end.") var follow = false
    @Option(help: "read-committed (only committed transactions; the default) or read-uncommitted.")
    var isolation: IsolationLevel = .readCommitted
    @Flag(help: "Decode values as Avro in Confluent's wire format (the writer's schema by its id) and print them as JSON.")
    var avro = false
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if fromBeginning && offset != nil { throw ValidationError("--from-beginning and --offset cannot be used together") }
        if let max, max < 0 { throw ValidationError("--max must not be negative") }
        if let offset, offset < 0 { throw ValidationError("--offset must not be negative") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative (partitions count from 0)") }
    }

    func run() throws {
        try withLog(data, command: "consume") { log in
            let name = try topicName(topic)
            let target = try log.topic(name)
            var config = ConsumerConfig(groupID: group)
            config.autoOffsetReset = .earliest
            config.isolation = isolation
            let consumer = LogConsumer(log: log, config: config)
            defer { consumer.close() }
            if let partition {
                _ = try target.partition(PartitionID(partition))
                try consumer.assign([TopicPartition(name, PartitionID(partition))])
            } else if group != nil {
                try consumer.subscribe([name])
            } else {
                try consumer.assign(target.topicPartitions)
            }
            if fromBeginning { try consumer.seekAll(to: .earliest) }
            if let offset { try consumer.seekAll(to: .offset(Offset(offset))) }
            if follow { log.startBackgroundMaintenance() }
            let output = OutputBuffer()
            let schemas = avro ? RegistrySchemaSource(log: log) : nil
            var printed = 0
            let limit = max ?? Int.max
            while printed < limit {
                let records = try consumer.poll(maxRecords: Swift.min(500, limit - printed))
                for var record in records {
                    if let schemas { record.value = Self.avroJSON(record, schemas: schemas).map { Array($0.utf8) } }
                    switch format {
                    case .value: output.line(bytes: record.value ?? [])
                    case .json: output.line(JSONEnvelope.line(for: record))
                    }
                }
                printed += records.count
                if records.isEmpty {
                    output.flush()
                    if group != nil { try consumer.commit() }
                    if !follow {
                        // The end is every position at its visible end (the last stable offset,
                        // read-committed), never merely an empty poll.
                        guard consumer.isCaughtUp else { throw CLIError(try Self.stoppedShort(consumer, topic: name)) }
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            output.flush()
            if group != nil { try consumer.commit() }
        }
    }
}

extension ConsumeCommand {
    /// A record's value decoded with its writer's schema as a JSON line, or — for a value that is
    /// not Avro in the wire format, has an unknown id or does not decode — a line on standard
    /// error naming the record and why, and nil (the record is printed with a null value).
    static func avroJSON(_ record: ConsumerRecord, schemas: RegistrySchemaSource) -> String? {
        let place = "\(record.topicPartition) offset \(record.offset)"
        guard let value = record.value else { return nil }
        guard let id = AvroLines.schemaID(of: value) else {
            FileHandle.standardError.write(Data("\(place): not Avro in Confluent's wire format (\(value.count) bytes)\n".utf8))
            return nil
        }
        do {
            guard let writer = try schemas.schema(id: id) else {
                FileHandle.standardError.write(Data("\(place): schema id \(id) is not in the schema registry\n".utf8))
                return nil
            }
            return try AvroLines.decode(value, writer: writer)
        } catch {
            FileHandle.standardError.write(Data("\(place): does not decode with schema id \(id): \(error)\n".utf8))
            return nil
        }
    }

    /// Why a read stopped below the end: the partitions whose positions a poll could not move.
    static func stoppedShort(_ consumer: LogConsumer, topic: TopicName) throws -> String {
        let behind = try consumer.lag().filter { $0.value > 0 }.sorted { $0.key < $1.key }
        let detail = try behind.map { "\($0.key) at offset \(try consumer.position($0.key)), \($0.value) below its end" }
        return "reading \(topic) made no progress: \(detail.joined(separator: "; "))"
    }
}

/// The JSON envelope `consume --format json` prints: one object per line, keys in a fixed order.
/// Keys and values that are UTF-8 text are strings; other bytes are base64 with
/// `"key_encoding"`/`"value_encoding": "base64"`; absent ones are null.
enum JSONEnvelope {
    static func line(for record: ConsumerRecord) -> String {
        var text = "{\"topic\":\(quote(record.topicPartition.topic.rawValue))"
        text += ",\"partition\":\(record.topicPartition.partition.rawValue)"
        text += ",\"offset\":\(record.offset.rawValue)"
        text += ",\"timestamp\":\(record.timestamp.rawValue)"
        text += ",\"key\":" + bytes(record.key, field: "key")
        text += ",\"value\":" + bytes(record.value, field: "value")
        text += ",\"headers\":["
        text += record.headers.map { header in
            "{\"key\":\(quote(header.key)),\"value\":\(bytes(header.value, field: "value"))}"
        }.joined(separator: ",")
        text += "]}"
        return text
    }

    private static func bytes(_ value: [UInt8]?, field: String) -> String {
        guard let value else { return "null" }
        if let string = String(validating: value, as: UTF8.self) { return quote(string) }
        return "\(quote(Data(value).base64EncodedString())),\"\(field)_encoding\":\"base64\""
    }

    /// A JSON string literal.
    static func quote(_ string: String) -> String { JSONText.quote(string) }
}
