import Foundation
import Testing
import StreamCore

/// The crash quarantine on real processes: `poison-trap` (a test-only pipeline of the
/// `PipelineFixtures` executable) traps on a value starting with `trap`, which no `catch` can
/// stop. Run again and again, the process dies a few times, then the trapping record is in the
/// DLQ as a `Crash` and every other record is processed exactly once.
@Suite("crash quarantine", .serialized)
struct CrashQuarantineTests {
    /// `pipeline-fixtures arguments… --data-dir <dataDir>`, without the runtime's backtrace
    /// (seconds per crash).
    private static func fixtures(_ scratch: Scratch, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> ProcessResult {
        try PipelineProcess(arguments + ["--data-dir", scratch.dataDir], in: scratch.root, stdin: input.map { Data($0.utf8) },
                            environment: ["SWIFT_BACKTRACE": "enable=no"], timeout: timeout, binary: PipelineBinary.fixturesURL).wait()
    }

    /// A key that Kafka's partitioner puts in `partition` of 2.
    private static func key(forPartition partition: Int) -> String {
        (0..<100).map { "key-\($0)" }.first { KafkaMurmur2.partition($0, count: 2) == partition } ?? "key-0"
    }

    @Test("a record that traps the process: a few deaths, then it is dead-lettered as Crash with its signal; every other record exactly once")
    func trappingRecordIsQuarantined() throws {
        let scratch = try Scratch()
        let created = try Self.fixtures(scratch, ["topics", "create", "in", "--partitions", "2"])
        try #require(created.exitCode == 0, "\(created)")
        let poisoned = Self.key(forPartition: 0)
        let clean = Self.key(forPartition: 1)
        let poisonedValues = (0..<40).map { $0 == 23 ? "trap-23" : "p-\($0)" }
        let cleanValues = (0..<40).map { "c-\($0)" }
        for (key, values) in [(poisoned, poisonedValues), (clean, cleanValues)] {
            let produced = try Self.fixtures(scratch, ["produce", "in", "--format", "raw", "--key", key], input: values.joined(separator: "\n") + "\n")
            try #require(produced.exitCode == 0, "\(produced)")
        }

        var crashes: [ProcessResult] = []
        var finished: ProcessResult?
        for _ in 0..<25 {
            let run = try Self.fixtures(scratch, ["run", "poison-trap", "--until-idle", "--threads", "2"], timeout: 120)
            if run.exitCode == 0 {
                finished = run
                break
            }
            crashes.append(run)
        }
        let final = try #require(finished, "still crashing after \(crashes.count) runs: \(crashes.last.map(\.description) ?? "")")
        // Each death was the trap while the poisoned record was in flight (SIGILL, 132), at least
        // twice before the quarantine could narrow it down.
        #expect(crashes.count >= 2, "\(crashes.count) crashes")
        #expect(crashes.allSatisfy { $0.signaled && $0.exitCode == 132 && $0.stderr.contains("poison-trap: the poisoned value trap-23") },
                "\(crashes.map(\.description))")

        let letters = try scratch.envelopes("poison-trap.dlq")
        try #require(letters.count == 1, "\(letters)")
        let letter = letters[0]
        #expect(letter.value == "trap-23")
        #expect(letter.key == poisoned)
        #expect(letter.header("dlq.stage") == "process")
        #expect(letter.header("dlq.error.type") == "Crash")
        #expect(letter.header("dlq.crash.signal") == "SIGILL", "\(letter.headers)")
        #expect(letter.header("dlq.attempts") == String(crashes.count), "\(letter.headers)")
        #expect(letter.header("dlq.source.topic") == "in" && letter.header("dlq.source.partition") == "0")
        #expect(letter.header("dlq.source.offset") == "23", "\(letter.headers)")

        let good = (poisonedValues + cleanValues).filter { !$0.hasPrefix("trap") }
        #expect(try scratch.envelopes("out").compactMap(\.value).sorted() == good.map { $0.uppercased() }.sorted(),
                "every other record's output exactly once")
        let counts = try scratch.envelopes("counts")
        #expect(counts.count == good.count, "one count update per good record, none for the trapping one")
        #expect(counts.filter { $0.key == poisoned }.compactMap(\.value).last == "39")
        #expect(counts.filter { $0.key == clean }.compactMap(\.value).last == "40")
        #expect(runSummary(final.stdout, pipeline: "poison-trap")?.deadLettered == 1, "\(final)")

        // A later run has nothing left to do.
        let again = try Self.fixtures(scratch, ["run", "poison-trap", "--until-idle"])
        #expect(again.exitCode == 0 && runSummary(again.stdout, pipeline: "poison-trap")?.processed == 0, "\(again)")
    }
}
