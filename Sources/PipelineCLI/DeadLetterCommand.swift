import ArgumentParser
import StreamCore
import LogStorage
import PipelineRuntime
import Sluice
import Foundation

/// `pipeline dlq list|show|redrive`: inspect a pipeline's dead letters and send them back.
struct DeadLetterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect and redrive a pipeline's dead letters (<pipeline>.dlq).",
        subcommands: [DeadLetterList.self, DeadLetterShow.self, DeadLetterRedriveCommand.self])
}

/// `pipeline dlq list PIPELINE`: committed dead letters counted by error type and stage.
struct DeadLetterList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Count dead letters by error type and stage.")
    @Argument(help: "The pipeline's name (see `pipeline list`).") var pipeline: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let definition = try catalogPipeline(pipeline)
        let name = definition.name
        let otherTopics = definition.topology.deadLetterTopics
        let report = try withEngine(data, command: "dlq list \(name)") { log, _ in
            try oneLineErrors { try DeadLetterReport.make(log: log, pipeline: name, otherTopics: otherTopics) }
        }
        let topic = DeadLetterTopics.deadLetters(of: name)
        guard report.hasTopic else {
            print("\(name) has no dead letters (no topic \(topic))")
            return
        }
        guard report.total > 0 else {
            print("\(name) has no dead letters (\(topic) is empty)")
            return
        }
        printTable(header: ["ERROR TYPE", "STAGE", "COUNT", "REDRIVEN"],
                   rows: report.rows.map { [$0.errorType, $0.stage, String($0.count), String($0.redriven)] })
        print("total: \(report.total) dead letter\(report.total == 1 ? "" : "s") in \(topic), \(report.redriven) redriven")
    }
}

/// How `dlq show` prints records.
enum DeadLetterFormat: String, ExpressibleByArgument, CaseIterable {
    /// A block of indented lines per record.
    case text
    /// One JSON object per line.
    case json
}

/// `pipeline dlq show PIPELINE [--limit N] [--error-type T] [--format text|json]`: committed
/// dead letters with their context.
struct DeadLetterShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print dead letters with their error context.")
    @Argument(help: "The pipeline's name (see `pipeline list`).") var pipeline: String
    @Option(parsing: .unconditional, help: "Print at most N records.") var limit: Int?
    @Option(name: .customLong("error-type"), help: "Only records whose dlq.error.type is this.") var errorType: String?
    @Option(help: "text (default) or json (one object per line).") var format: DeadLetterFormat = .text
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() throws {
        let definition = try catalogPipeline(pipeline)
        let name = definition.name
        let otherTopics = definition.topology.deadLetterTopics
        let letters = try withEngine(data, command: "dlq show \(name)") { log, _ in
            try oneLineErrors { try DeadLetterReport.deadLetters(log: log, pipeline: name, otherTopics: otherTopics, errorType: errorType, limit: limit) }
        }
        let topic = DeadLetterTopics.deadLetters(of: name)
        guard let letters else {
            if format == .text { print("\(name) has no dead letters (no topic \(topic))") }
            return
        }
        let output = OutputBuffer()
        for (letter, redriven) in letters {
            switch format {
            case .json: output.line(DeadLetterText.json(letter, topic: letter.topic, redriven: redriven))
            case .text: output.write(DeadLetterText.block(letter, topic: letter.topic, redriven: redriven))
            }
        }
        if format == .text {
            output.line("\(letters.count) dead letter\(letters.count == 1 ? "" : "s")\(errorType.map { " of error type \($0)" } ?? "") shown")
        }
        output.flush()
    }
}

/// `pipeline dlq redrive PIPELINE [--error-type T] [--to TOPIC] [--fixed FILE]`: sends dead
/// letters back, exactly once (see ``DeadLetterRedrive``); with `--fixed`, only the records in
/// FILE (lines as `dlq show --format json` prints them, values edited), with their fixed values.
struct DeadLetterRedriveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive", abstract: "Send dead letters back to their source topic (or --to TOPIC), each exactly once.")
    @Argument(help: "The pipeline's name (see `pipeline list`).") var pipeline: String
    @Option(name: .customLong("error-type"), help: "Only records whose dlq.error.type is this.") var errorType: String?
    @Option(help: "Send them to this topic instead of each record's dlq.source.topic.") var to: String?
    @Option(help: ArgumentHelp(
        "Redrive only the records in FILE, with its values: JSON lines as `dlq show --format json` prints them (topic, partition, offset, value), values fixed.",
        valueName: "FILE"))
    var fixed: String?
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let definition = try catalogPipeline(pipeline)
        let name = definition.name
        let otherTopics = definition.topology.deadLetterTopics
        var options = RedriveOptions(pipeline: name, errorType: errorType)
        options.otherTopics = otherTopics
        if let to { options.target = try topicName(to) }
        if let fixed { options.fixedValues = try FixedDeadLetters.read(path: fixed, defaultTopic: DeadLetterTopics.deadLetters(of: name)) }
        let summary = try withEngine(data, command: "dlq redrive \(name)", whenLocked: "cannot redrive while the data directory is in use (stop the pipeline first)") { log, coordinator in
            try oneLineErrors { try DeadLetterRedrive.run(log: log, coordinator: coordinator, options: options) }
        }
        let topic = DeadLetterTopics.deadLetters(of: name)
        guard summary.hasTopic else {
            print("\(name) has no dead letters (no topic \(topic)); nothing to redrive")
            return
        }
        print("\(topic): redriven \(summary.redriven), already redriven \(summary.alreadyRedriven), filtered out \(summary.filteredOut)")
        for (target, count) in summary.byTarget.sorted(by: { $0.key < $1.key }) {
            print("  to \(target): \(count)")
        }
        print("in \(summary.transactions) transaction\(summary.transactions == 1 ? "" : "s") (transactional id \(DeadLetterTopics.redriveTransactionalID(of: name)), markers in \(DeadLetterTopics.redriveMarkers(of: name)))")
        if let fixed, let fixedValues = options.fixedValues {
            let unmatched = fixedValues.count - summary.fixedMatched
            if summary.fixedMatched == 0 && !fixedValues.isEmpty {
                throw CLIError("none of the \(fixedValues.count) entries in \(fixed) matches a dead letter of \(name) (check their topic, partition and offset); nothing was redriven")
            }
            if unmatched > 0 {
                FileHandle.standardError.write(Data("warning: \(unmatched) of the \(fixedValues.count) entries in \(fixed) match no dead letter of \(name) and were ignored\n".utf8))
            }
        }
    }
}

/// Runs `body`, turning any error into a one-line ``CLIError``.
func oneLineErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CLIError {
        throw error
    } catch {
        throw CLIError(String(describing: error).split(separator: "\n").joined(separator: " "))
    }
}

/// The fixed dead letters of `dlq redrive --fixed FILE`: one JSON object per line with `topic`,
/// `partition`, `offset` and `value` (a string, or null for a tombstone; `value_encoding:
/// "base64"` for bytes), as `dlq show --format json` prints them; other fields are ignored.
enum FixedDeadLetters {
    /// The fixed values by DLQ position (``DeadLetter/position``).
    /// - Throws: `CLIError` naming the line of a malformed entry or a duplicate position.
    static func read(path: String, defaultTopic: String) throws -> [String: [UInt8]?] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read --fixed file \(path)") }
        var result: [String: [UInt8]?] = [:]
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let topic = object["topic"] as? String, let partition = (object["partition"] as? NSNumber)?.int32Value,
                  let offset = (object["offset"] as? NSNumber)?.int64Value, object.keys.contains("value")
            else {
                throw CLIError("\(path) line \(index + 1): expected a JSON object with topic, partition, offset and value")
            }
            let value: [UInt8]?
            switch object["value"] {
            case let string as String where object["value_encoding"] as? String == "base64":
                guard let bytes = Data(base64Encoded: string) else { throw CLIError("\(path) line \(index + 1): value is not base64") }
                value = Array(bytes)
            case let string as String:
                value = Array(string.utf8)
            case is NSNull:
                value = nil
            default:
                throw CLIError("\(path) line \(index + 1): value must be a string or null")
            }
            let position = DeadLetter.position(topic: topic == defaultTopic ? nil : topic, partition: partition, offset: offset)
            guard result.updateValue(value, forKey: position) == nil else {
                throw CLIError("\(path) line \(index + 1): \(topic) \(partition):\(offset) is listed twice")
            }
        }
        return result
    }
}
