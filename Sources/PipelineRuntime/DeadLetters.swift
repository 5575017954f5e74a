import Sluice
import StreamCore

/// The dead-letter record of a failed input record: its original key and bytes, and its context
/// in headers (a contract; later checks and `pipeline dlq` rely on these names).
///
/// | header | value |
/// |---|---|
/// | `dlq.pipeline`, `dlq.operator`, `dlq.stage` | where it failed (`decode`, `process`, `produce`) |
/// | `dlq.error.type`, `dlq.error.message` | the error |
/// | `dlq.source.topic`, `dlq.source.partition`, `dlq.source.offset`, `dlq.source.timestamp` | where it came from |
/// | `dlq.attempts`, `dlq.first.failure.time`, `dlq.last.failure.time` | how often and when it failed (ms) |
/// | `dlq.crash.signal` | for `dlq.error.type` `Crash`: the signal that ended the last process (when it recorded one) |
/// | `dlq.schema.id` | for the Avro serde's `NotAvro`, `UnknownSchemaId` and `SchemaMismatch`: the record's schema id (`none` without a header) |
///
/// Headers a failure's error adds (``RecordFailure/deadLetterHeaders``) follow the `dlq.*` context.
enum DeadLetters {
    /// The pipeline's default dead-letter topic (operators may choose others with
    /// `deadLetters(to:)`; the record goes to the failure's `deadLetterTopic` when set).
    static func topic(for pipeline: String) -> String { "\(pipeline).dlq" }

    /// The dead letter of `source`: `attempts` failures, the first and last at these times (ms).
    static func record(for failure: RecordFailure, source: RawRecord, pipeline: String, attempts: Int, firstFailure: Int64, lastFailure: Int64) -> RawRecord {
        let headers: [(String, String)] = [
            ("dlq.pipeline", pipeline),
            ("dlq.operator", failure.operatorName),
            ("dlq.stage", failure.stage.rawValue),
            ("dlq.error.type", failure.errorType),
            ("dlq.error.message", failure.message),
            ("dlq.source.topic", source.topic),
            ("dlq.source.partition", String(source.partition)),
            ("dlq.source.offset", String(source.offset)),
            ("dlq.source.timestamp", String(source.timestamp)),
            ("dlq.attempts", String(attempts)),
            ("dlq.first.failure.time", String(firstFailure)),
            ("dlq.last.failure.time", String(lastFailure)),
        ] + failure.deadLetterHeaders.map { ($0.name, $0.value) }
        return RawRecord(topic: failure.deadLetterTopic ?? topic(for: pipeline), partition: source.partition, offset: 0, key: source.key, value: source.value,
                         timestamp: source.timestamp,
                         headers: source.headers + headers.map { RawRecord.Header(key: $0.0, value: Array($0.1.utf8)) })
    }

    /// The dead letter of `source`, which killed the process `deaths` times while in flight
    /// (``CrashQuarantine``): stage `process`, error type `Crash`; `signal` is the last death's
    /// signal when the process recorded one. It goes to the pipeline's default dead-letter topic
    /// (which operator died is not known).
    static func crashRecord(source: RawRecord, pipeline: String, deaths: Int, signal: String?, firstFailure: Int64, lastFailure: Int64) -> RawRecord {
        var headers: [(String, String)] = [
            ("dlq.pipeline", pipeline),
            ("dlq.operator", "pipeline"),
            ("dlq.stage", RecordFailure.Stage.process.rawValue),
            ("dlq.error.type", "Crash"),
            ("dlq.error.message", "the process died \(deaths) times with this record in flight\(signal.map { " (last by \($0))" } ?? ""); dead-lettered without running it"),
            ("dlq.source.topic", source.topic),
            ("dlq.source.partition", String(source.partition)),
            ("dlq.source.offset", String(source.offset)),
            ("dlq.source.timestamp", String(source.timestamp)),
            ("dlq.attempts", String(deaths)),
            ("dlq.first.failure.time", String(firstFailure)),
            ("dlq.last.failure.time", String(lastFailure)),
        ]
        if let signal { headers.append(("dlq.crash.signal", signal)) }
        return RawRecord(topic: topic(for: pipeline), partition: source.partition, offset: 0, key: source.key, value: source.value,
                         timestamp: source.timestamp,
                         headers: source.headers + headers.map { RawRecord.Header(key: $0.0, value: Array($0.1.utf8)) })
    }
}
