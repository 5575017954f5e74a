import Foundation
import Testing
import Sluice
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import Simulation
import EngineTestSupport

/// Failure verdicts and retries with backoff in the runtime, on the simulated disk with virtual
/// time: a record in backoff holds back only its own partition and nothing past it commits; it
/// is retried after the backoff (its transaction's earlier records processed again, exactly
/// once); exhausted or permanent failures get the policy's final verdict with real attempts and
/// failure times.
@Suite("retry policy")
struct RetryPolicyTests {
    /// An error that says it may pass.
    struct Transient: ClassifiedError, CustomStringConvertible {
        var isRetryable: Bool { true }
        var description: String { "service unavailable" }
    }

    /// An error that says it never passes.
    struct Permanent: ClassifiedError {
        var isRetryable: Bool { false }
    }

    /// An error that says nothing.
    struct Unclassified: Error {}

    /// A downstream service that fails some values a number of times: `flaky-N` fails N times
    /// with ``Transient``, `perm…` always with ``Permanent``, `bug…` always with ``Unclassified``.
    final class FlakyService: @unchecked Sendable {
        private let lock = NSLock()
        private var failuresLeft: [String: Int] = [:]
        private var callCounts: [String: Int] = [:]

        func call(_ value: String) throws {
            lock.lock(); defer { lock.unlock() }
            callCounts[value, default: 0] += 1
            if value.hasPrefix("perm") { throw Permanent() }
            if value.hasPrefix("bug") { throw Unclassified() }
            if value.hasPrefix("flaky-"), let count = Int(value.dropFirst(6).prefix { $0.isNumber }) {
                let left = failuresLeft[value] ?? count
                if left > 0 {
                    failuresLeft[value] = left - 1
                    throw Transient()
                }
            }
        }

        func calls(_ value: String) -> Int {
            lock.lock(); defer { lock.unlock() }
            return callCounts[value] ?? 0
        }
    }

    /// `in` → call the service → upper-case → `out`.
    struct FlakyPipeline: PipelineDefinition {
        let name = "flaky"
        let summary = "calls a flaky service"
        let service: FlakyService
        let configuration: PipelineConfiguration

        var body: Topology {
            let service = self.service
            return Source("in", value: .string)
                .mapValues { value in
                    try service.call(value)
                    return value.uppercased()
                }
                .sink("out", value: .string)
        }
    }

    /// Deterministic backoff: 100 ms, 200 ms, 400 ms… no jitter.
    static let backoff = Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(1), jitter: 0)

    /// An engine with `in` (2 partitions) holding `values` per partition, and a runner.
    private static func setUp(_ values: [[String]], policy: RetryPolicy) throws -> (TestEngine, PipelineRunner, FlakyService) {
        let engine = try TestEngine()
        let input = try engine.createTopic("in", partitions: values.count)
        let producer = try engine.producer("input")
        try producer.beginTransaction()
        for (partition, list) in values.enumerated() {
            for value in list {
                try producer.send(topic: input, key: Array("k".utf8), value: Array(value.utf8), partition: PartitionID(Int32(partition)))
            }
        }
        try producer.commitTransaction()
        let service = FlakyService()
        let pipeline = FlakyPipeline(service: service, configuration: PipelineConfiguration(retry: policy))
        let runner = try PipelineRunner(pipeline: pipeline, log: engine.log, coordinator: engine.coordinator, pollRecordsMax: 10)
        return (engine, runner, service)
    }

    /// Steps the runner, advancing virtual time by `tickMilliseconds` after each step, until it
    /// is idle (or `stepsMax` steps).
    private static func runUntilIdle(_ runner: PipelineRunner, _ engine: TestEngine, tickMilliseconds: Int64 = 10, stepsMax: Int = 2000) throws {
        for _ in 0..<stepsMax {
            try runner.step()
            if runner.isIdle { return }
            engine.clock.advance(byMilliseconds: tickMilliseconds)
        }
        Issue.record("not idle after \(stepsMax) steps")
    }

    private static func committedOffset(_ engine: TestEngine, partition: Int32) -> Int64? {
        engine.log.offsets.committed(group: "flaky", TopicPartition(TopicName(rawValue: "in")!, PartitionID(partition)))?.offset.rawValue
    }

    private static func deadLetters(_ engine: TestEngine) throws -> [ConsumerRecord] {
        let topic = TopicName(rawValue: "flaky.dlq")!
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        let consumer = LogConsumer(log: engine.log, config: config)
        try consumer.assign(try engine.log.topic(topic).partitions.map(\.topicPartition))
        var records: [ConsumerRecord] = []
        while true {
            let batch = try consumer.poll()
            if batch.isEmpty { return records }
            records += batch
        }
    }

    private static func header(_ record: ConsumerRecord, _ name: String) -> String? {
        record.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("a record in backoff holds back only its partition, nothing past it commits, and it succeeds on a later attempt exactly once")
    func backoffThenSuccess() throws {
        let (engine, runner, service) = try Self.setUp([["a0", "flaky-2", "a2"], ["b0", "b1", "b2"]],
                                                       policy: RetryPolicy(process: .retry(maxAttempts: 3), backoff: Self.backoff))
        let out = TopicName(rawValue: "out")!
        // First failure of flaky-2: partition 0 aborts and waits 100 ms; partition 1 goes on.
        try runner.step()
        try runner.step()
        #expect(try engine.values(out).sorted() == ["B0", "B1", "B2"])
        #expect((Self.committedOffset(engine, partition: 0) ?? 0) <= 1, "committed past the record in backoff")
        // Three records and the input transaction's commit marker.
        #expect(Self.committedOffset(engine, partition: 1) == 4)
        #expect(service.calls("flaky-2") == 1)
        // Still in backoff at 99 ms: nothing happens on partition 0.
        engine.clock.advance(byMilliseconds: 99)
        try runner.step()
        #expect(service.calls("flaky-2") == 1)
        #expect(!runner.isIdle)
        // At 100 ms the second attempt fails too (backoff 200 ms), at 300 ms the third passes.
        engine.clock.advance(byMilliseconds: 1)
        try runner.step()
        #expect(service.calls("flaky-2") == 2)
        engine.clock.advance(byMilliseconds: 199)
        try runner.step()
        #expect(service.calls("flaky-2") == 2)
        engine.clock.advance(byMilliseconds: 1)
        try Self.runUntilIdle(runner, engine)
        #expect(service.calls("flaky-2") == 3)
        // a0 was processed again after each abort; its output committed once.
        #expect(service.calls("a0") == 3)
        #expect(try engine.values(out).sorted() == ["A0", "A2", "B0", "B1", "B2", "FLAKY-2"])
        #expect(Self.committedOffset(engine, partition: 0) == 4)
        #expect(try Self.deadLetters(engine).isEmpty)
        #expect(runner.progress.recordsProcessed == 6 && runner.progress.deadLettered == 0)
    }

    @Test("retries exhausted: dead-lettered once, with dlq.attempts and the first and last failure times")
    func exhaustedRetries() throws {
        let (engine, runner, service) = try Self.setUp([["a0", "flaky-9", "a2"]], policy: RetryPolicy(process: .retry(maxAttempts: 3), backoff: Self.backoff))
        let started = engine.clock.now().milliseconds
        try Self.runUntilIdle(runner, engine)
        #expect(service.calls("flaky-9") == 3)
        #expect(try engine.values(TopicName(rawValue: "out")!) == ["A0", "A2"])
        let letters = try Self.deadLetters(engine)
        try #require(letters.count == 1)
        let letter = letters[0]
        #expect(letter.value == Array("flaky-9".utf8))
        #expect(Self.header(letter, "dlq.attempts") == "3")
        #expect(Self.header(letter, "dlq.error.type") == "Transient")
        let first = try #require(Self.header(letter, "dlq.first.failure.time").flatMap(Int64.init))
        let last = try #require(Self.header(letter, "dlq.last.failure.time").flatMap(Int64.init))
        #expect(first == started)
        // Two backoffs, 100 ms and 200 ms, each ended within one 10 ms tick.
        #expect(last - first >= 300 && last - first <= 320, "first \(first), last \(last)")
        #expect(runner.progress.recordsProcessed == 3 && runner.progress.deadLettered == 1)
    }

    @Test("a permanent error is dead-lettered at its first attempt; an unclassified one too, unless the policy retries those")
    func permanentAndUnclassified() throws {
        let values = [["bug-1", "perm-1", "ok"]]
        let (engine, runner, service) = try Self.setUp(values, policy: RetryPolicy(backoff: Self.backoff))
        try Self.runUntilIdle(runner, engine)
        #expect(service.calls("perm-1") == 1 && service.calls("bug-1") == 1)
        let letters = try Self.deadLetters(engine)
        #expect(letters.map { Self.header($0, "dlq.attempts") } == ["1", "1"])
        #expect(letters.allSatisfy { Self.header($0, "dlq.first.failure.time") == Self.header($0, "dlq.last.failure.time") })

        let (engine2, runner2, service2) = try Self.setUp(values, policy: RetryPolicy(backoff: Self.backoff, unclassifiedErrorsAreRetryable: true))
        try Self.runUntilIdle(runner2, engine2)
        #expect(service2.calls("perm-1") == 1 && service2.calls("bug-1") == 3)
        let letters2 = try Self.deadLetters(engine2)
        #expect(letters2.map { Self.header($0, "dlq.attempts") } == ["3", "1"])
        #expect(try engine2.values(TopicName(rawValue: "out")!) == ["OK"])
    }

    @Test("skip-and-count drops and counts; fail stops the pipeline with nothing committed past the record")
    func skipAndFail() throws {
        let (engine, runner, _) = try Self.setUp([["a0", "perm-1", "a2"]], policy: RetryPolicy(process: .skip))
        try Self.runUntilIdle(runner, engine)
        #expect(try engine.values(TopicName(rawValue: "out")!) == ["A0", "A2"])
        #expect(try Self.deadLetters(engine).isEmpty)
        #expect(runner.progress.skipped == 1 && runner.progress.recordsProcessed == 3)

        let (engine2, runner2, _) = try Self.setUp([["a0", "perm-1", "a2"]], policy: RetryPolicy(process: .fail))
        #expect(throws: RecordFailure.self) { try runner2.step() }
        #expect(Self.committedOffset(engine2, partition: 0) == nil)
        #expect(try engine2.values(TopicName(rawValue: "out")!).isEmpty)
    }

    @Test("the defaults: decode → dead-letter, process → retry (3 attempts) then dead-letter, produce → fail")
    func defaults() {
        let policy = RetryPolicy()
        #expect(policy.decode == .deadLetter)
        #expect(policy.process == .retry(maxAttempts: 3, then: .deadLetter))
        #expect(policy.produce == .fail)
        #expect(policy.unclassifiedErrorsAreRetryable == false)
        #expect(PipelineConfiguration().retry == policy)
    }

    @Test("backoff: base × multiplier per failure, capped, jitter within its share")
    func backoffDelays() {
        let plain = Self.backoff
        #expect((1...6).map { plain.delayNanoseconds(afterFailures: $0, unit: 0.9) / 1_000_000 } == [100, 200, 400, 800, 1000, 1000])
        let jittered = Backoff(base: .milliseconds(100), multiplier: 3, cap: .seconds(2), jitter: 0.25)
        #expect(jittered.delayNanoseconds(afterFailures: 1, unit: 0) == 75_000_000)
        #expect(jittered.delayNanoseconds(afterFailures: 1, unit: 0.5) == 100_000_000)
        #expect(jittered.delayNanoseconds(afterFailures: 2, unit: 1) == 375_000_000)
        #expect(jittered.delayNanoseconds(afterFailures: 5, unit: 1) == 2_000_000_000)
        var random = SeededRandom(seed: 3)
        for failures in 1...8 {
            let unit = Double(random.next() % 1000) / 1000
            let delay = jittered.delayNanoseconds(afterFailures: failures, unit: unit)
            let raw = min(2_000_000_000.0, 100_000_000.0 * pow(3, Double(failures - 1)))
            #expect(Double(delay) >= raw * 0.75 - 1 && Double(delay) <= min(2_000_000_000, raw * 1.25) + 1, "failure \(failures): \(delay)")
        }
    }
}
