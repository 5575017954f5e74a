import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline dlq redrive` SIGKILLed at random moments over 20,000 dead letters and rerun until it
/// completes: the read-committed target holds each dead letter exactly once.
@Suite("pipeline dlq redrive under SIGKILL", .serialized)
struct DeadLetterRedriveCrashTests {
    static let deadLetterCount = 20_000

    /// Read-committed: the target's DLQ positions (each must appear once) and the markers' keys.
    private static func committedState(_ scratch: Scratch) throws -> (positions: [String], markers: Set<String>) {
        let target = try scratch.envelopes("redriven")
        let positions = target.map { "\($0.header("dlq.redrive.partition") ?? "?"):\($0.header("dlq.redrive.offset") ?? "?")" }
        let markerTopic = try scratch.run(["topics", "describe", "order-totals.dlq.redriven"])
        guard markerTopic.exitCode == 0 else { return (positions, []) }
        let markers = try scratch.envelopes("order-totals.dlq.redriven").compactMap(\.key)
        return (positions, Set(markers))
    }

    @Test("SIGKILLed redrive runs, rerun until done: every dead letter in the target exactly once")
    func killedAndRerun() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4"])
        // 20,000 records that are not JSON, under 8 keys: order-totals dead-letters them all.
        for key in 0..<8 {
            let padding = String(repeating: "x", count: 280)
            let lines = (0..<(Self.deadLetterCount / 8)).map { "broken-\(key)-\($0) {\(padding)" }
            let path = try scratch.writeLines(lines, name: "poison-\(key).txt")
            let result = try scratch.run(["produce", "orders", "--format", "raw", "--key", "KEY-\(key)", "--file", path], timeout: 120)
            #expect(result.exitCode == 0, "\(result)")
        }
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 300), pipeline: "order-totals")
        let letters = try scratch.envelopes("order-totals.dlq")
        try #require(letters.count == Self.deadLetterCount)
        let allPositions = Set(letters.map(\.position))

        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SeededRandom(seed: seed)
        var longestDelay = 800
        var kills = 0, killsMidway = 0, killsWithAbortedData = 0, abortedBefore = 0, rounds = 1, iterations = 0
        let arguments = ["dlq", "redrive", "order-totals", "--to", "redriven", "--data-dir", scratch.dataDir]
        try scratch.createTopic("redriven", ["--partitions", "4"])
        // Kills at random moments until at least 8 landed, 4 of them after the run had committed
        // part of the DLQ. A run that finishes first starts a new round (markers and target
        // deleted) with earlier kills; a kill before any commit makes later kills a bit later.
        while (kills < 8 || killsMidway < 4) && iterations < 60 {
            iterations += 1
            let delay = Int.random(in: 20...max(21, longestDelay), using: &random)
            let committedBefore = try Self.committedState(scratch).positions.count
            let started = Date()
            let process = try PipelineProcess(arguments, in: scratch.root, timeout: 120)
            let killAt = started.addingTimeInterval(Double(delay) / 1000)
            while process.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            let duration = Int(Date().timeIntervalSince(started) * 1000)
            let result = process.killAndWait()
            let state = try Self.committedState(scratch)
            // After every kill (its open transaction aborted by the next opener): the committed
            // target and the committed markers name the same DLQ positions, each once.
            #expect(state.positions.count == Set(state.positions).count, "iteration \(iterations): \(state.positions.count - Set(state.positions).count) records redriven twice")
            let agree = Set(state.positions) == state.markers
            #expect(agree, "iteration \(iterations): target and markers disagree (\(state.positions.count) records, \(state.markers.count) markers)")
            let known = Set(state.positions).isSubset(of: allPositions)
            #expect(known, "iteration \(iterations): the target names positions that hold no dead letter")
            if result.signaled {
                #expect(result.exitCode == 128 + SIGKILL, "\(result)")
                kills += 1
                // This run committed part of the DLQ, not all of it.
                if state.positions.count > committedBefore && state.positions.count < Self.deadLetterCount { killsMidway += 1 }
                if state.positions.count == committedBefore { longestDelay = min(5000, longestDelay * 5 / 4) }
                // Transactions are written as they go: a kill mid-transaction leaves aborted records.
                let aborted = try scratch.values("redriven", ["--isolation", "read-uncommitted"]).count - state.positions.count
                if aborted > abortedBefore { killsWithAbortedData += 1 }
                abortedBefore = aborted
                continue
            }
            #expect(result.exitCode == 0, "iteration \(iterations): \(result)")
            let counts = RedriveCounts(result.stdout)
            #expect(counts.map { $0.redriven + $0.alreadyRedriven == Self.deadLetterCount && $0.filteredOut == 0 } == true, "\(result)")
            longestDelay = max(60, duration * 9 / 10)
            rounds += 1
            expectSuccess(try scratch.run(["topics", "delete", "order-totals.dlq.redriven", "--force"]))
            expectSuccess(try scratch.run(["topics", "delete", "redriven"]))
            abortedBefore = 0
            try scratch.createTopic("redriven", ["--partitions", "4"])
        }
        print("[DeadLetterRedriveCrashTests] seed \(seed): \(iterations) runs, \(rounds) rounds, \(kills) SIGKILLs (\(killsMidway) after committing part of the DLQ, \(killsWithAbortedData) leaving aborted records), last delay range 20–\(longestDelay) ms")
        #expect(kills >= 8 && killsMidway >= 4, "seed \(seed): only \(kills) kills, \(killsMidway) midway")
        #expect(killsWithAbortedData >= 1, "seed \(seed): no kill landed inside a transaction that had written records")

        // Rerun without a kill: it completes.
        let last = try scratch.redrive(["--to", "redriven"], timeout: 300)
        #expect(last.redriven + last.alreadyRedriven == Self.deadLetterCount && last.filteredOut == 0, "\(last)")

        let final = try Self.committedState(scratch)
        #expect(final.positions.count == Self.deadLetterCount)
        let missing = allPositions.subtracting(final.positions).count
        #expect(missing == 0, "\(missing) dead letters missing")
        let target = try scratch.envelopes("redriven")
        let problems = DeadLetterRedriveTests.redriveProblems(target, letters: letters, partitions: 4)
        #expect(problems.isEmpty, "\(problems.count) problems, e.g. \(problems.prefix(5))")
        let uncommitted = try scratch.values("redriven", ["--isolation", "read-uncommitted"])
        print("[DeadLetterRedriveCrashTests] read-uncommitted target: \(uncommitted.count) records (\(uncommitted.count - target.count) from aborted transactions)")
        #expect(try scratch.redrive(["--to", "redriven"]) == RedriveCounts(redriven: 0, alreadyRedriven: Self.deadLetterCount, filteredOut: 0))
    }
}
