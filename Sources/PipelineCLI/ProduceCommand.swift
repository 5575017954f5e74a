import ArgumentParser
import StreamCore
import LogStorage
import Foundation
import Sluice

/// How `produce` reads its input lines.
enum InputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Each line must be one JSON value; blank lines are skipped.
    case json
    /// Each line's bytes are the value as they are.
    case raw
}

/// `pipeline produce TOPIC [--key-field FIELD | --key K] [--file F] [--format json|raw]`
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce one record per input line, from standard input or a file.")

    @Argument var topic: String
    @Option(name: .customLong("key-field"), help: "Take each record's key from this top-level JSON field.") var keyField: String?
    @Option(help: "Use this key for every record.") var key: String?
    @Option(help: "Read lines from this file instead of standard input.") var file: String?
    @Option(help: "Input format: json (one JSON value per line) or raw (bytes as they are).") var format: InputFormat = .json
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if keyField != nil && key != nil { throw ValidationError("--key-field and --key cannot be used together") }
        if keyField != nil && format == .raw { throw ValidationError("--key-field needs --format json") }
    }

    func run() throws {
        let input = try readInput()
        try withLog(data, command: "produce") { log in
            let name = try topicName(topic)
            _ = try log.topic(name)
            let keying: LineProducer.Keying = keyField.map { .field($0) } ?? key.map { .constant(Array($0.utf8)) } ?? .none
            let producer = LineProducer(log: log, topic: name, format: format, keying: keying)
            let outcome = producer.produce(input)
            print(outcome.summary.describe(topic: name))
            if let failure = outcome.failure { throw CLIError(failure) }
        }
    }

    private func readInput() throws -> [UInt8] {
        if let file {
            guard let contents = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            return Array(contents)
        }
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}

/// Turns input lines into records: validates each, picks its key, and produces it; stops at the
/// first bad line after producing (and syncing) every line before it.
struct LineProducer {
    enum Keying {
        case none
        case constant([UInt8])
        case field(String)
    }

    struct Summary {
        var produced = 0
        var perPartition: [PartitionID: Int] = [:]
        var keyless = 0

        func describe(topic: TopicName) -> String {
            let parts = perPartition.keys.sorted().map { "partition \($0): \(perPartition[$0]!)" }.joined(separator: ", ")
            var text = "produced \(produced) record\(produced == 1 ? "" : "s") to \(topic)"
            if !parts.isEmpty { text += " (\(parts))" }
            return text
        }
    }

    struct Outcome {
        var summary: Summary
        /// Why production stopped early, naming the line.
        var failure: String?
    }

    let log: LogManager
    let topic: TopicName
    let format: InputFormat
    let keying: Keying

    func produce(_ input: [UInt8]) -> Outcome {
        var summary = Summary()
        let producer = LogProducer(log: log)
        var pending: [PendingRecord] = []
        var failure: String?
        var lineNumber = 0
        var start = 0
        do {
            while start < input.count {
                let end = input[start...].firstIndex(of: 0x0A) ?? input.count
                lineNumber += 1
                let line = Array(input[start..<end])
                start = end + 1
                guard let (key, value) = try record(from: line, lineNumber: lineNumber, failure: &failure) else {
                    if failure != nil { break }
                    continue
                }
                do {
                    pending.append(try producer.send(topic: topic, key: key, value: value))
                } catch {
                    failure = "line \(lineNumber): \(error.description)"
                    break
                }
                if key == nil { summary.keyless += 1 }
            }
            try producer.flush()
        } catch {
            failure = failure ?? "\(error)"
        }
        for record in pending {
            if case .success(let metadata)? = record.result {
                summary.produced += 1
                summary.perPartition[metadata.topicPartition.partition, default: 0] += 1
            }
        }
        if let reason = failure {
            failure = "\(reason) (\(summary.produced) record\(summary.produced == 1 ? "" : "s") before it were produced)"
        }
        return Outcome(summary: summary, failure: failure)
    }

    /// The key and value for one line, nil for a skipped blank line; sets `failure` for a bad one.
    private func record(from line: [UInt8], lineNumber: Int, failure: inout String?) throws -> ([UInt8]?, [UInt8])? {
        switch format {
        case .raw:
            if case .constant(let key) = keying { return (key, line) }
            return (nil, line)
        case .json:
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
            do {
                try JSONValidation.validate(line)
            } catch {
                failure = "line \(lineNumber): malformed JSON (\(error.reason) at byte \(error.position))"
                return nil
            }
            switch keying {
            case .none: return (nil, line)
            case .constant(let key): return (key, line)
            case .field(let field):
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])) as? [String: Any] else {
                    failure = "line \(lineNumber): not a JSON object, so it has no field '\(field)'"
                    return nil
                }
                return (LineProducer.keyBytes(object[field]), line)
            }
        }
    }

    /// A JSON field's value as key bytes: strings as their UTF-8, numbers as their text; null,
    /// missing or a nested value gives no key.
    static func keyBytes(_ value: Any?) -> [UInt8]? {
        switch value {
        case let string as String: return Array(string.utf8)
        case let number as NSNumber: return Array(number.stringValue.utf8)
        default: return nil
        }
    }
}
