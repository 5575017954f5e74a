import ArgumentParser
import StreamCore
import LogStorage
import PipelineRuntime
import Sluice

/// `pipeline audit trace|verify`: follow a record through the pipelines' audit trails, and
/// prove from the log that a pipeline consumed every input exactly once.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Trace records through the audit trails (<pipeline>.audit) and verify a pipeline's.",
        subcommands: [AuditTraceCommand.self, AuditVerifyCommand.self])
}

/// How `audit trace` prints.
enum AuditTraceFormat: String, ExpressibleByArgument, CaseIterable {
    /// Indented lines.
    case text
    /// One JSON object.
    case json
}

/// `pipeline audit trace TOPIC PARTITION OFFSET [--format json] [--records] [--downstream]`:
/// which committed transaction consumed the record, when, and what it wrote.
struct AuditTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Show the committed transaction that consumed a record and what it wrote.")
    @Argument var topic: String
    @Argument var partition: Int32
    @Argument var offset: Int64
    @Option(help: "text (default) or json.") var format: AuditTraceFormat = .text
    @Flag(help: "Also print the records of the transaction's output and dead-letter ranges.") var records = false
    @Flag(help: "Follow the outputs into the pipelines that consumed them in turn.") var downstream = false
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if partition < 0 { throw ValidationError("PARTITION must not be negative (partitions count from 0)") }
        if offset < 0 { throw ValidationError("OFFSET must not be negative") }
    }

    func run() throws {
        let name = try topicName(topic)
        let place = TopicPartition(name, PartitionID(partition))
        let found = try withLog(data, command: "audit trace") { log in
            try oneLineErrors {
                try AuditTrace.trace(place, offset: Offset(offset), log: log, records: records, downstream: downstream)
            }
        }
        guard let found else {
            throw CLIError("\(place)@\(offset) was consumed by no audited transaction (not consumed yet, or by no pipeline with an audit trail)")
        }
        switch format {
        case .text:
            print("\(place)@\(offset): " + Self.text(found, indent: "").joined(separator: "\n"))
        case .json:
            print("{\"record\":{\"topic\":\(JSONText.quote(topic)),\"partition\":\(partition),\"offset\":\(offset)},"
                  + Self.jsonFields(found) + "}")
        }
    }

    /// The step as lines: a heading, then its ranges, caused records, records and downstream steps.
    static func text(_ step: AuditTraceStep, indent: String) -> [String] {
        let record = step.entry.record
        func ranges(_ list: [AuditRecord.Range]) -> String { list.isEmpty ? "none" : list.map(\.description).joined(separator: ", ") }
        var lines = ["""
            consumed by \(record.pipeline) transaction \(record.transactionalID) (producer \(record.producerID), epoch \(record.epoch)), \
            committed \(record.commitTime); audit record \(step.entry.topicPartition)@\(step.entry.offset)
            """]
        lines.append("\(indent)  inputs        \(ranges(record.inputs))")
        lines.append("\(indent)  outputs       \(ranges(record.outputs))")
        lines.append("\(indent)  dead letters  \(ranges(record.deadLetters))")
        lines.append("\(indent)  changelogs    \(ranges(record.changelogs))")
        if !step.caused.isEmpty {
            lines.append("\(indent)  caused        " + step.caused.map { "\($0.topicPartition)@\($0.offset)" }.joined(separator: ", "))
        }
        for output in step.records { lines.append("\(indent)  record        " + JSONEnvelope.line(for: output)) }
        for next in step.downstream {
            let nested = text(next, indent: indent + "    ")
            lines.append("\(indent)  downstream    " + nested[0])
            lines += nested.dropFirst()
        }
        return lines
    }

    /// `"audit_record":…,"transaction":…,"caused":[…],"records":[…],"downstream":[…]`.
    static func jsonFields(_ step: AuditTraceStep) -> String {
        let place = "{\"topic\":\(JSONText.quote(step.entry.topicPartition.topic.rawValue)),\"partition\":\(step.entry.topicPartition.partition.rawValue),\"offset\":\(step.entry.offset.rawValue)}"
        let caused = step.caused.map {
            "{\"topic\":\(JSONText.quote($0.topicPartition.topic.rawValue)),\"partition\":\($0.topicPartition.partition.rawValue),\"offset\":\($0.offset.rawValue)}"
        }
        return "\"audit_record\":\(place),\"transaction\":\(step.entry.record.json)"
            + ",\"caused\":[\(caused.joined(separator: ","))]"
            + ",\"records\":[\(step.records.map(JSONEnvelope.line(for:)).joined(separator: ","))]"
            + ",\"downstream\":[\(step.downstream.map { "{" + jsonFields($0) + "}" }.joined(separator: ","))]"
    }
}

/// `pipeline audit verify PIPELINE`: reconciles the audit trail with the log; prints a one-line
/// verdict and exits non-zero on any discrepancy, naming the first.
struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Prove from the log that every input was consumed by exactly one committed transaction.")
    @Argument(help: "The pipeline's name (see `pipeline list`).") var pipeline: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let definition = try catalogPipeline(pipeline)
        let verdict = try withLog(data, command: "audit verify \(definition.name)") { log in
            try oneLineErrors { try AuditVerification.verify(pipeline: definition, log: log) }
        }
        print(verdict.line)
        if !verdict.passed { throw ExitCode.failure }
    }
}
