import ArgumentParser
package import StreamCore
package import LogStorage
import Foundation
import Sluice
import PipelineRuntime
#if canImport(Glibc)
import Glibc
#endif

/// How `produce` reads its input lines.
package enum InputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Each line must be one JSON value; blank lines are skipped.
    case json
    /// Each line's bytes are the value as they are.
    case raw
}

/// `pipeline produce TOPIC [--key-field FIELD | --key K] [--file F] [--format json|raw] [--avro-subject SUBJECT]`
///
/// For a topic that requires a subject (`topics create|alter --value-subject`), every value must be
/// Avro in Confluent's wire format with a schema id of that subject; the first that is not stops
/// the command like a malformed line.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce one record per input line, from standard input or a file.")

    @Argument var topic: String
    @Option(name: .customLong("key-field"), help: "Take each record's key from this top-level JSON field.") var keyField: String?
    @Option(help: "Use this key for every record.") var key: String?
    @Option(help: "Read lines from this file instead of standard input.") var file: String?
    @Option(help: "Input format: json (one JSON value per line) or raw (bytes as they are).") var format: InputFormat = .json
    @Option(name: .customLong("avro-subject"), help: ArgumentHelp(
        "Encode each JSON line as Avro in Confluent's wire format with this subject's latest schema.", valueName: "SUBJECT"))
    var avroSubject: String?
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if keyField != nil && key != nil { throw ValidationError("--key-field and --key cannot be used together") }
        if keyField != nil && format == .raw { throw ValidationError("--key-field needs --format json") }
        if avroSubject != nil && format == .raw { throw ValidationError("--avro-subject needs --format json") }
    }

    func run() throws {
        let descriptor: Int32
        if let file {
            descriptor = open(file, O_RDONLY)
            guard descriptor >= 0 else { throw CLIError("cannot read \(file): \(String(cString: strerror(errno)))") }
        } else {
            descriptor = STDIN_FILENO
        }
        defer { if file != nil { close(descriptor) } }
        try withLog(data, command: "produce") { log in
            let name = try topicName(topic)
            let target = try log.topic(name)
            let keying: LineProducer.Keying = keyField.map { .field($0) } ?? key.map { .constant(Array($0.utf8)) } ?? .none
            var producer = LineProducer(log: log, topic: name, format: format, keying: keying)
            if avroSubject != nil || target.config.valueSubject != nil {
                let schemas = RegistrySchemaSource(log: log)
                if let avroSubject { producer.avro = try AvroLines.latest(of: avroSubject, in: schemas) }
                if let subject = target.config.valueSubject {
                    producer.valueRequirement = { value in schemas.valueSubjectRefusal(value, subject: subject) }
                }
            }
            // A line longer than the topic's batch limit cannot be a record; do not hold more.
            let input = LineInput(descriptor: descriptor, lineBytesMax: target.config.batchBytesMax)
            let outcome = producer.produce(input)
            print(outcome.summary.describe(topic: name))
            if let failure = outcome.failure { throw CLIError(failure) }
        }
    }
}

/// Turns input lines into records: validates each, picks its key, and produces it; stops at the
/// first bad line after producing (and syncing) every line before it.
///
/// It streams: lines are read through a bounded ``LineInput``, and every ``settleRecordsMax``
/// records — or as soon as the input is idle for ``idleFlushMilliseconds`` — the producer is
/// flushed (appended and synced) and the records' outcomes are counted and dropped, so memory is
/// bounded by one chunk of input, one line, ``settleRecordsMax`` pending records and the open
/// batches, whatever the input's size; and a line read is durable within about
/// ``idleFlushMilliseconds`` even while stdin stays open.
///
/// When an append fails, the error names the first line that was not produced (records of one
/// flush land in several batches, so the failure can surface at a later line), so a rerun can
/// start there.
///
/// Thread-safety: one thread.
package struct LineProducer {
    package enum Keying {
        case none
        case constant([UInt8])
        case field(String)
    }

    package struct Summary {
        package var produced = 0
        package var perPartition: [PartitionID: Int] = [:]
        package var keyless = 0

        package func describe(topic: TopicName) -> String {
            let parts = perPartition.keys.sorted().map { "partition \($0): \(perPartition[$0]!)" }.joined(separator: ", ")
            var text = "produced \(produced) record\(produced == 1 ? "" : "s") to \(topic)"
            if !parts.isEmpty { text += " (\(parts))" }
            return text
        }
    }

    package struct Outcome {
        package var summary: Summary
        /// Why production stopped early, naming the line.
        package var failure: String?
        /// The most records held unsettled at once (for the memory bound's tests).
        package var pendingRecordsPeak = 0
    }

    /// Records sent before the producer is flushed and their outcomes counted.
    package static let settleRecordsMax = 10_000
    /// How long the input may be idle before what was read is flushed.
    package static let idleFlushMilliseconds: Int32 = 100

    package let log: LogManager
    package let topic: TopicName
    package let format: InputFormat
    package let keying: Keying
    /// With `--avro-subject`: each JSON line is encoded as Avro in Confluent's wire format.
    var avro: AvroLines?
    /// For a topic that requires a subject (``TopicConfig/valueSubject``): why a value may not
    /// go there, or nil when it may.
    var valueRequirement: ((_ value: [UInt8]) -> String?)?

    package init(log: LogManager, topic: TopicName, format: InputFormat, keying: Keying) {
        self.log = log
        self.topic = topic
        self.format = format
        self.keying = keying
    }

    package func produce(_ input: LineInput) -> Outcome {
        var outcome = Outcome(summary: Summary())
        let producer = LogProducer(log: log)
        var pending: [(line: Int, record: PendingRecord)] = []
        pending.reserveCapacity(Self.settleRecordsMax)
        var lineNumber = 0
        /// The first line not produced and the error that stopped it, once something failed.
        var stopped: (line: Int, reason: String)?
        var producedAfterStop = 0

        /// Flushes and counts what is pending; records the first line that failed.
        func settle() {
            var flushError: LogError?
            do { try producer.flush() } catch { flushError = error }
            for (line, record) in pending {
                if case .success(let metadata)? = record.result {
                    if let stop = stopped, line > stop.line {
                        producedAfterStop += 1
                    } else {
                        outcome.summary.produced += 1
                        outcome.summary.perPartition[metadata.topicPartition.partition, default: 0] += 1
                    }
                } else if stopped.map({ line < $0.line }) ?? true {
                    let reason: String
                    if case .failure(let error)? = record.result { reason = error.description } else { reason = flushError?.description ?? "not appended" }
                    stopped = (line, reason)
                }
            }
            if stopped == nil, let flushError { stopped = (lineNumber + 1, flushError.description) }
            pending.removeAll(keepingCapacity: true)
        }

        reading: while stopped == nil {
            let next: LineInput.Next
            do {
                next = try input.next(idleMilliseconds: pending.isEmpty ? nil : Self.idleFlushMilliseconds)
            } catch {
                settle()
                stopped = stopped ?? (lineNumber + 1, error.description)
                break
            }
            switch next {
            case .end:
                break reading
            case .idle:
                settle()
                continue
            case .lineTooLong:
                settle()
                stopped = stopped ?? (lineNumber + 1, "longer than \(input.lineBytesMax) bytes, topic '\(topic)'s batch limit")
                break reading
            case .line(let line):
                lineNumber += 1
                var invalid: String?
                guard let (key, value) = record(from: line, lineNumber: lineNumber, failure: &invalid) else {
                    if let invalid {
                        settle()
                        stopped = stopped ?? (lineNumber, invalid)
                        break reading
                    }
                    continue
                }
                do {
                    pending.append((lineNumber, try producer.send(topic: topic, key: key, value: value)))
                } catch {
                    let failedLine = lineNumber
                    settle()
                    stopped = stopped ?? (failedLine, error.description)
                    break reading
                }
                if key == nil { outcome.summary.keyless += 1 }
                outcome.pendingRecordsPeak = max(outcome.pendingRecordsPeak, pending.count)
                if pending.count >= Self.settleRecordsMax { settle() }
            }
        }
        if stopped == nil { settle() }
        try? producer.close()
        if let stopped {
            let produced = outcome.summary.produced
            var text = "line \(stopped.line): \(stopped.reason) (\(produced) record\(produced == 1 ? "" : "s") before it were produced"
            if producedAfterStop > 0 { text += ", and \(producedAfterStop) of the lines after it" }
            outcome.failure = text + "; line \(stopped.line) is the first that was not)"
        }
        return outcome
    }

    /// The key and value for one line, nil for a skipped blank line; sets `failure` for a bad one:
    /// the line as it is, or Avro with ``avro``, checked against ``valueRequirement``.
    private func record(from line: [UInt8], lineNumber: Int, failure: inout String?) -> ([UInt8]?, [UInt8])? {
        guard let (key, parsedValue) = parsedRecord(from: line, failure: &failure) else { return nil }
        var value = parsedValue
        if let avro {
            do { value = try avro.encode(value) } catch {
                failure = error.reason
                return nil
            }
        }
        if let valueRequirement, let reason = valueRequirement(value) {
            failure = "refused by topic '\(topic)' (value.subject): \(reason)"
            return nil
        }
        return (key, value)
    }

    private func parsedRecord(from line: [UInt8], failure: inout String?) -> ([UInt8]?, [UInt8])? {
        switch format {
        case .raw:
            if case .constant(let key) = keying { return (key, line) }
            return (nil, line)
        case .json:
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
            do {
                try JSONValidation.validate(line)
            } catch {
                failure = "malformed JSON (\(error.reason) at byte \(error.position))"
                return nil
            }
            switch keying {
            case .none: return (nil, line)
            case .constant(let key): return (key, line)
            case .field(let field):
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])) as? [String: Any] else {
                    failure = "not a JSON object, so it has no field '\(field)'"
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
