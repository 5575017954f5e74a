import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// Process-level exactly-once: a real `pipeline copy` SIGKILLed at random instants and restarted
/// with the same arguments must leave every source record in the read-committed target exactly
/// once; a transaction cut short is aborted by whichever command opens the directory next.
@Suite("copy under SIGKILL", .serialized)
struct CopyCrashTests {
    private static let copyArguments = ["copy", "source", "target", "--group", "g", "--until-idle"]

    @Test("copy SIGKILLed 20+ times at random instants ends with every source record exactly once",
          .timeLimit(.minutes(5)))
    func killedManyTimes() throws {
        let seed = crashTestSeed()
        print("[CopyCrashTests] seed \(seed) (rerun with SLUICE_CRASH_SEED=\(seed))")
        var random = SeededRandom(seed: seed)
        let started = Date()
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "8", "--compression", "lz4"])
        var corpus = CopyCorpus()
        // Values of ~120 bytes make each 100 ms transaction write batches to the target before
        // it commits, so that kills also leave aborted data behind.
        try scratch.produce(corpus.add(prefix: "a", keyed: 150_000, keyless: 50_000, padding: 80), to: "source")

        // The debug build copies ~150k records/s (a transaction of ~20k records per 100 ms), so a
        // run given up to 600 ms often gets through the backlog. Delays are uniform in 50–600 ms
        // while the first 200k records last. Once a run finishes before its kill, the source is
        // topped up with 40k new records, and the kills come earlier: uniform in 50 ms to 90% of
        // the time a run took to copy such a top-up (measured, so it adapts to the machine's
        // speed; 400 ms until measured). Only kills that landed while copy was running count.
        var kills = 0, finishedEarly = 0, topUps = 0, iterations = 0
        var killsAfterCommit = 0
        var longestDelay = 600
        var toppedUp = false
        while (iterations < 20 || kills < 20) && iterations < 100 {
            iterations += 1
            let delay = Int.random(in: 50...longestDelay, using: &random)
            let runStarted = Date()
            let copy = try PipelineProcess(Self.copyArguments + ["--data-dir", scratch.dataDir], in: scratch.root, timeout: 120)
            let killAt = runStarted.addingTimeInterval(Double(delay) / 1000)
            while copy.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            let duration = Int(Date().timeIntervalSince(runStarted) * 1000)  // how long a finished run took
            let result = copy.killAndWait()
            if result.signaled {
                #expect(result.exitCode == 128 + SIGKILL, "run \(iterations) ended by an unexpected signal: \(result)")
                kills += 1
                if lastReportedLag(result.stderr) != nil { killsAfterCommit += 1 }
                toppedUp = false
            } else {
                finishedEarly += 1
                #expect(result.exitCode == 0, "run \(iterations): copy failed instead of finishing: \(result)")
                #expect(result.stdout.hasPrefix("copied "), "run \(iterations): \(result)")
                if toppedUp {
                    longestDelay = min(600, max(100, duration * 9 / 10))
                } else {
                    longestDelay = min(longestDelay, 400)
                }
                topUps += 1
                let batch = topUps % 2 == 0
                    ? corpus.add(prefix: "t\(topUps)", keyed: 40_000, keyless: 0, padding: 80)
                    : corpus.add(prefix: "t\(topUps)", keyed: 25_000, keyless: 15_000, padding: 80)
                try scratch.produce(batch, to: "source")
                toppedUp = true
            }
        }
        print("[CopyCrashTests] \(iterations) runs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(kills) SIGKILLs landed (\(killsAfterCommit) after the run committed a transaction), last delay range 50–\(longestDelay) ms, \(finishedEarly) runs finished first, \(topUps) top-ups, \(corpus.count) source records")
        #expect(kills >= 20, "only \(kills) of \(iterations) kills landed while copy was running")

        // Restarted with the same arguments, it runs to completion.
        let final = try scratch.run(Self.copyArguments, timeout: 240)
        try #require(final.exitCode == 0, "the final copy failed: \(final)")
        #expect(final.stdout.hasPrefix("copied "), "\(final)")

        // Read-committed (the default): every source value exactly once, nothing else, same key.
        let committed = try scratch.envelopes("target")
        var seen: [String: Int] = [:]
        seen.reserveCapacity(committed.count)
        var wrongKeys = 0, wrongTopic = 0, withHeaders = 0
        var sampleWrongKey = ""
        for envelope in committed {
            let value = envelope.value ?? "<null>"
            seen[value, default: 0] += 1
            if envelope.topic != "target" { wrongTopic += 1 }
            if !envelope.headers.isEmpty { withHeaders += 1 }
            if let expected = corpus.keys[value], expected != envelope.key {
                wrongKeys += 1
                sampleWrongKey = "value \(value): key \(envelope.key ?? "null"), expected \(expected ?? "null")"
            }
        }
        let duplicated = seen.filter { $0.value > 1 }
        let unexpected = seen.keys.filter { corpus.keys[$0] == nil }
        let missing = corpus.values.filter { seen[$0] == nil }
        print("[CopyCrashTests] read-committed target: \(committed.count) records; \(duplicated.count) duplicated, \(missing.count) missing, \(unexpected.count) unexpected")
        #expect(committed.count == corpus.count, "read-committed target has \(committed.count) records, source has \(corpus.count)")
        #expect(duplicated.isEmpty, "\(duplicated.count) values appear more than once, e.g. \(duplicated.prefix(3).map { "\($0.key) ×\($0.value)" })")
        #expect(missing.isEmpty, "\(missing.count) source values are missing, e.g. \(missing.prefix(3))")
        #expect(unexpected.isEmpty, "\(unexpected.count) values are not source values, e.g. \(unexpected.prefix(3))")
        #expect(wrongKeys == 0, "\(wrongKeys) records lost their key, e.g. \(sampleWrongKey)")
        #expect(wrongTopic == 0 && withHeaders == 0)

        // Read-uncommitted also sees what the killed runs wrote and had aborted.
        let uncommitted = try scratch.values("target", ["--isolation", "read-uncommitted"])
        print("[CopyCrashTests] read-uncommitted target: \(uncommitted.count) records (\(uncommitted.count - committed.count) from aborted transactions)")
        #expect(uncommitted.count >= committed.count)
        let uncommittedSet = Set(uncommitted)
        #expect(corpus.values.allSatisfy(uncommittedSet.contains), "read-uncommitted misses committed values")
        #expect(uncommittedSet.isSubset(of: Set(corpus.values)), "read-uncommitted shows values no source record has")

        // The group's committed offsets are at the end of the source.
        let rest = try scratch.run(["consume", "source", "--group", "g"], timeout: 120)
        #expect(rest.exitCode == 0, "\(rest)")
        #expect(rest.stdoutLines.isEmpty, "the group's committed offsets are not at the end: \(rest.stdoutLines.count) records left")

        // Nothing is left open.
        let rows = try scratch.transactionRows()
        let row = try #require(rows.first { $0.transactionalID == "copy-g-source-target" }, "\(rows)")
        #expect(["Empty", "CompleteCommit", "CompleteAbort"].contains(row.state), "\(row)")
        #expect(row.participants == "-")
    }

    @Test("a copy SIGKILLed mid-transaction: read-uncommitted shows the aborted output, read-committed never does",
          .timeLimit(.minutes(3)))
    func isolationAfterKill() throws {
        let seed = crashTestSeed()
        print("[CopyCrashTests.isolation] seed \(seed) (rerun with SLUICE_CRASH_SEED=\(seed))")
        var random = SeededRandom(seed: seed)
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "4", "--compression", "lz4"])
        var corpus = CopyCorpus()
        try scratch.produce(corpus.add(prefix: "first", keyed: 20_000, keyless: 0), to: "source")
        let firstCopy = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"], timeout: 120)
        try #require(firstCopy.exitCode == 0, "\(firstCopy)")
        let firstCount = corpus.count

        // A long commit interval keeps the transaction open while the backlog is copied; its
        // data is written to the target (in 256 KiB batches) before the kill.
        var caught: (uncommitted: Int, committed: Int, attempt: Int)?
        var openTailPartitions: Set<Int> = []
        for attempt in 1...8 {
            try scratch.produce(corpus.add(prefix: "more\(attempt)", keyed: 100_000, keyless: 0), to: "source")
            let copy = try PipelineProcess(
                ["copy", "source", "target", "--group", "g", "--until-idle", "--commit-interval", "10s", "--data-dir", scratch.dataDir],
                in: scratch.root, timeout: 120)
            Thread.sleep(forTimeInterval: Double(Int.random(in: 200...450, using: &random)) / 1000)
            let killed = copy.killAndWait()
            guard killed.signaled else { continue }

            // Before anything opens the directory: `log dump` (which opens none) sees
            // transactional data after the last marker of a partition — the open transaction.
            openTailPartitions = []
            for partition in 0..<4 {
                let lines = try scratch.dumpBatchLines("target", partition: partition)
                if let last = lines.last, DumpOutput.field("isControl", in: last) == "false",
                   DumpOutput.field("isTransactional", in: last) == "true" {
                    openTailPartitions.insert(partition)
                }
            }

            // The first command to open the directory runs recovery, which aborts the open transaction.
            let uncommitted = try scratch.values("target", ["--isolation", "read-uncommitted"])
            let committed = try scratch.values("target")
            print("[CopyCrashTests.isolation] attempt \(attempt): read-uncommitted \(uncommitted.count), read-committed \(committed.count), open partitions before recovery \(openTailPartitions.sorted())")
            #expect(uncommitted.count >= committed.count)
            #expect(Set(committed).count == committed.count, "read-committed shows duplicates")
            if uncommitted.count > committed.count {
                caught = (uncommitted.count, committed.count, attempt)
                break
            }
        }
        let found = try #require(caught, "no kill landed inside a transaction that had written data")

        // The open transaction was on disk, and recovery ended each of its partitions with an ABORT marker.
        #expect(!openTailPartitions.isEmpty, "log dump saw no open transactional data before recovery")
        for partition in openTailPartitions.sorted() {
            let last = try #require(try scratch.dumpBatchLines("target", partition: partition).last)
            #expect(DumpOutput.field("isControl", in: last) == "true", "partition \(partition): \(last)")
            #expect(last.contains("marker: ABORT"), "partition \(partition) does not end with an ABORT marker: \(last)")
        }
        let rows = try scratch.transactionRows()
        let row = try #require(rows.first { $0.transactionalID == "copy-g-source-target" }, "\(rows)")
        #expect(row.state == "CompleteAbort", "recovery should have aborted the killed transaction: \(row)")
        // Nothing is open any more, so an operator's abort has nothing to do.
        let abort = try scratch.run(["transactions", "abort", "copy-g-source-target"])
        expectOneLineError(abort, containing: ["nothing open"])

        // Read-committed holds only whole committed transactions: source values, no duplicates.
        let committed = try scratch.values("target")
        let sourceValues = Set(corpus.values)
        #expect(committed.count == found.committed)
        #expect(committed.count >= firstCount)
        #expect(Set(committed).count == committed.count)
        #expect(Set(committed).isSubset(of: sourceValues))

        // Finishing the copy gives exactly once; the aborted records stay visible read-uncommitted only.
        let finish = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"], timeout: 180)
        try #require(finish.exitCode == 0, "\(finish)")
        let all = try scratch.values("target")
        #expect(all.count == corpus.count)
        #expect(Set(all) == sourceValues)
        let allUncommitted = try scratch.values("target", ["--isolation", "read-uncommitted"])
        #expect(allUncommitted.count >= all.count + (found.uncommitted - found.committed))

        // A copy whose source holds aborted transactions and markers copies only committed records.
        let chained = try scratch.run(["copy", "target", "target2", "--group", "g2", "--until-idle"], timeout: 180)
        try #require(chained.exitCode == 0, "\(chained)")
        let second = try scratch.values("target2", ["--isolation", "read-uncommitted"])
        #expect(second.count == corpus.count, "target2 should hold only the committed records of target")
        #expect(Set(second) == sourceValues)
    }
}
