import Foundation
import Testing
import Sluice
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import Simulation
import EngineTestSupport

/// A failed record has its whole effect or none: when a later operator throws after an earlier
/// one of the same record already wrote to a store and emitted outputs, those writes and outputs
/// are rolled back to the record's savepoint, whatever the verdict (dead-letter, skip, retry).
@Suite("record savepoints")
struct RecordSavepointTests {
    /// Always retryable, so a retry policy retries it until its attempts run out.
    struct Unavailable: ClassifiedError {
        var isRetryable: Bool { true }
    }

    /// `in` → (1) a running count per key in store `seen`, emitted to `counts`; (2) a copy to
    /// `side`; (3) upper-cased to `out`, throwing ``Unavailable`` for values starting with `bad`.
    struct PartialEffects: PipelineDefinition {
        let name = "partial"
        let summary = "writes a store and two outputs before an operator that can throw"
        let configuration: PipelineConfiguration

        var body: Topology {
            let input = Source("in", value: .string)
            input.groupByKey().count(store: "seen").mapValues { String($0) }.sink("counts", value: .string)
            input.mapValues { $0 }.sink("side", value: .string)
            input.mapValues { value in
                if value.hasPrefix("bad") { throw Unavailable() }
                return value.uppercased()
            }
            .sink("out", value: .string)
        }
    }

    /// The input: per key `k0`…`k2`, good values with a bad one between them.
    static let input: [(key: String, value: String)] = (0..<12).map { index in
        (key: "k\(index % 3)", value: index % 4 == 1 ? "bad-\(index)" : "good-\(index)")
    }
    static var goodInput: [(key: String, value: String)] { input.filter { !$0.value.hasPrefix("bad") } }
    static var badValues: [String] { input.map(\.value).filter { $0.hasPrefix("bad") } }

    /// The final count per key over the good records only.
    static var expectedCounts: [String: String] {
        Dictionary(grouping: goodInput, by: \.key).mapValues { String($0.count) }
    }

    static let deadLetterPolicy = RetryPolicy(process: .deadLetter)
    static let skipPolicy = RetryPolicy(process: .skip)
    static let retryPolicy = RetryPolicy(process: .retry(maxAttempts: 2),
                                         backoff: Backoff(base: .milliseconds(10), multiplier: 1, cap: .milliseconds(10), jitter: 0))

    @Test("test driver: a failed record leaves no store write and no output behind")
    func testDriver() throws {
        let driver = PipelineTestDriver(PartialEffects(configuration: PipelineConfiguration()), partitions: 2)
        for record in Self.input { driver.sendRaw(to: "in", key: record.key, value: record.value) }
        #expect(driver.failures.compactMap { $0.source.map { String(decoding: $0.value ?? [], as: UTF8.self) } }.sorted() == Self.badValues.sorted())
        let side = driver.records(in: "side").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(side.sorted() == Self.goodInput.map(\.value).sorted(), "side output holds only the good records")
        let counts = driver.records(in: "counts").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(counts.count == Self.goodInput.count, "one count update per good record: \(counts)")
        var stored: [String: String] = [:]
        for (key, value) in driver.store("seen") { stored[String(decoding: key, as: UTF8.self)] = String(try Serde<Int64>.int64.decode(value)) }
        #expect(stored == Self.expectedCounts)
        #expect(driver.records(in: "out").count == Self.goodInput.count)
    }

    @Test("runtime: a failed record's store writes and outputs roll back, dead-letter, skip and exhausted retry alike",
          arguments: ["dead-letter", "skip", "retry"], [PipelineConfiguration.Guarantee.exactlyOnce, .atLeastOnce])
    func runtime(verdict: String, guarantee: PipelineConfiguration.Guarantee) throws {
        let policy = verdict == "skip" ? Self.skipPolicy : verdict == "retry" ? Self.retryPolicy : Self.deadLetterPolicy
        let engine = try TestEngine()
        let inTopic = try engine.createTopic("in", partitions: 2)
        let producer = try engine.producer("input")
        try producer.beginTransaction()
        for record in Self.input { try producer.send(topic: inTopic, key: Array(record.key.utf8), value: Array(record.value.utf8)) }
        try producer.commitTransaction()
        let pipeline = PartialEffects(configuration: PipelineConfiguration(guarantee: guarantee, retry: policy))
        let runner = try PipelineRunner(pipeline: pipeline, log: engine.log, coordinator: engine.coordinator, pollRecordsMax: 5)
        var steps = 0
        while !runner.isIdle && steps < 2000 {
            try runner.step()
            engine.clock.advance(byMilliseconds: 5)
            steps += 1
        }
        #expect(runner.isIdle, "idle after \(steps) steps")

        let side = try engine.values(TopicName(rawValue: "side")!)
        let out = try engine.values(TopicName(rawValue: "out")!)
        let counts = try engine.values(TopicName(rawValue: "counts")!)
        if verdict == "retry" && guarantee == .atLeastOnce {
            // A retry rewinds without aborting what earlier records of the pass wrote, so their
            // outputs may repeat (as at-least-once allows); the failed record's never appear.
            #expect(Set(side) == Set(Self.goodInput.map(\.value)), "side output holds only the good records")
            #expect(Set(out) == Set(Self.goodInput.map { $0.value.uppercased() }))
        } else {
            #expect(side.sorted() == Self.goodInput.map(\.value).sorted(), "side output holds only the good records")
            #expect(out.sorted() == Self.goodInput.map { $0.value.uppercased() }.sorted())
            #expect(counts.count == Self.goodInput.count, "one count update per good record: \(counts)")
        }
        var stored: [String: String] = [:]
        for entry in runner.committedEntries(of: "seen") {
            stored[String(decoding: entry.key, as: UTF8.self)] = String(try Serde<Int64>.int64.decode(entry.value))
        }
        #expect(stored == Self.expectedCounts)
        let deadLetters = try engine.values(TopicName(rawValue: "partial.dlq")!)
        if verdict == "skip" {
            #expect(deadLetters.isEmpty)
            #expect(runner.progress.skipped == Self.badValues.count)
        } else if verdict == "retry" && guarantee == .atLeastOnce {
            #expect(Set(deadLetters) == Set(Self.badValues), "at least once, a rewind may repeat a dead letter")
        } else {
            #expect(deadLetters.sorted() == Self.badValues.sorted(), "each failed record dead-lettered once")
            #expect(runner.progress.deadLettered == Self.badValues.count)
        }
    }
}
