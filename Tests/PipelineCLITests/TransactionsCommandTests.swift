import Foundation
import Testing
import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline transactions list|abort`, and the transactional batches and control markers a copy
/// leaves in `log dump`.
@Suite("pipeline transactions")
struct TransactionsCommandTests {
    @Test("list on a fresh data directory says there are none")
    func listEmpty() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["transactions", "list"])
        expectSuccess(result)
        #expect(result.stdoutLines == ["no transactions"])
    }

    @Test("after a copy, list shows the default transactional id, a producer id, an epoch, CompleteCommit")
    func listAfterCopy() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "2"])
        try scratch.produce("source", (0..<100).map { "\($0)" })
        let copy = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(copy.exitCode == 0, "\(copy)")

        let result = try scratch.run(["transactions", "list"])
        expectSuccess(result)
        let header = try #require(result.stdoutLines.first)
        for column in ["TRANSACTIONAL ID", "PRODUCER ID", "EPOCH", "STATE", "PARTICIPANTS", "AGE"] {
            #expect(header.contains(column), "header lacks \(column): \(header)")
        }
        let rows = TransactionRow.parse(result.stdout)
        try #require(rows.count == 1, "\(result)")
        let row = rows[0]
        #expect(row.transactionalID == "copy-g-source-target")
        #expect(row.producerID >= 0)
        #expect(row.epoch >= 0)
        #expect(row.state == "CompleteCommit")
        #expect(row.participants == "-", "a completed transaction has no participants")
        #expect(row.age != "-", "\(row)")
    }

    @Test("--transactional-id-expiration: an idle id expires when the directory is next opened, durably; a bad value is a usage error")
    func transactionalIDExpiration() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        try scratch.produce("source", (0..<10).map { "\($0)" })
        let copy = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(copy.exitCode == 0, "\(copy)")
        let kept = try scratch.run(["transactions", "list", "--transactional-id-expiration", "1h"])
        expectSuccess(kept)
        #expect(TransactionRow.parse(kept.stdout).map(\.transactionalID) == ["copy-g-source-target"])
        Thread.sleep(forTimeInterval: 0.05)
        let expired = try scratch.run(["transactions", "list", "--transactional-id-expiration", "10ms"])
        expectSuccess(expired)
        #expect(expired.stdoutLines == ["no transactions"], "\(expired)")
        let later = try scratch.run(["transactions", "list"])
        #expect(later.stdoutLines == ["no transactions"], "the expiry is durable: \(later)")
        let bad = try scratch.run(["transactions", "list", "--producer-id-expiration", "0"])
        #expect(bad.exitCode != 0)
        #expect(bad.stderr.contains("--producer-id-expiration"), "\(bad)")
    }

    @Test("the epoch increases on every restart of copy with the same transactional id; the producer id stays")
    func epochBumps() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        var epochs: [Int] = []
        var producerIDs: Set<Int64> = []
        for run in 0..<4 {
            try scratch.produce("source", (0..<10).map { "\"run \(run) record \($0)\"" })
            let copy = try scratch.run(["copy", "source", "target", "--group", "g", "--transactional-id", "tx", "--until-idle"])
            #expect(copy.stdout.hasPrefix("copied 10 records"), "\(copy)")
            let row = try #require(try scratch.transactionRows().first { $0.transactionalID == "tx" })
            #expect(row.state == "CompleteCommit", "\(row)")
            epochs.append(row.epoch)
            producerIDs.insert(row.producerID)
        }
        // A restart with nothing to copy still takes the id over (and so fences the older holder).
        let idle = try scratch.run(["copy", "source", "target", "--group", "g", "--transactional-id", "tx", "--until-idle"])
        #expect(idle.stdout.hasPrefix("copied 0 records"), "\(idle)")
        let idleRow = try #require(try scratch.transactionRows().first { $0.transactionalID == "tx" })
        epochs.append(idleRow.epoch)
        producerIDs.insert(idleRow.producerID)

        #expect(zip(epochs, epochs.dropFirst()).allSatisfy { $0 < $1 }, "epochs must increase: \(epochs)")
        #expect(producerIDs.count == 1, "the producer id should stay: \(producerIDs)")
        #expect(try scratch.values("target").count == 40)
    }

    @Test("the epoch is bumped past a SIGKILLed holder, whose open transaction recovery aborted")
    func epochAfterKill() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "2", "--compression", "lz4"])
        try scratch.produce("source", (0..<10).map { "\"warm-up \($0)\"" })
        let warmUp = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(warmUp.exitCode == 0, "\(warmUp)")
        let before = try #require(try scratch.transactionRows().first)

        var corpus = CopyCorpus()
        var after: TransactionRow?
        for attempt in 0..<6 {
            try scratch.produce(corpus.add(prefix: "big\(attempt)", keyed: 100_000, keyless: 0), to: "source")
            let copy = try PipelineProcess(["copy", "source", "target", "--group", "g", "--until-idle", "--commit-interval", "10s",
                                            "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
            Thread.sleep(forTimeInterval: 0.25 + 0.1 * Double(attempt))  // later if startup is slow
            guard copy.killAndWait().signaled else { continue }
            let row = try #require(try scratch.transactionRows().first)
            if row.state == "CompleteAbort" {
                after = row
                break
            }
        }
        let aborted = try #require(after, "no kill landed inside an open transaction")
        // The killed run's initTransactions bumped the epoch once, recovery's abort once more.
        #expect(aborted.epoch >= before.epoch + 2, "before \(before), after \(aborted)")
        #expect(aborted.producerID == before.producerID)
        #expect(aborted.participants == "-")

        let resumed = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(resumed.exitCode == 0, "\(resumed)")
        let last = try #require(try scratch.transactionRows().first)
        #expect(last.epoch > aborted.epoch)
        #expect(last.state == "CompleteCommit")
        #expect(try scratch.values("target").count == 10 + corpus.count)
    }

    @Test("abort of an unknown transactional id is a one-line error")
    func abortUnknown() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["transactions", "abort", "nope"])
        expectOneLineError(result, containing: ["unknown transactional id", "nope"])

        try scratch.createTopic("source")
        try scratch.produce("source", ["1"])
        _ = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        expectOneLineError(try scratch.run(["transactions", "abort", "copy-g-source-targe"]), containing: ["unknown transactional id"])
    }

    @Test("abort of a finished transaction says it has nothing open, and changes nothing")
    func abortFinished() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        try scratch.produce("source", ["1", "2"])
        _ = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        let before = try scratch.transactionRows()
        let result = try scratch.run(["transactions", "abort", "copy-g-source-target"])
        expectOneLineError(result, containing: ["nothing open", "CompleteCommit"])
        let after = try scratch.transactionRows()
        #expect(after.map(\.epoch) == before.map(\.epoch) && after.map(\.state) == before.map(\.state))
        #expect(try scratch.values("target") == ["1", "2"])
    }

    @Test("usage errors: abort without an id, an unknown subcommand")
    func usage() throws {
        let scratch = try Scratch()
        expectUsageError(try scratch.run(["transactions", "abort"]))
        let unknown = try scratch.run(["transactions", "frobnicate"])
        #expect(unknown.exitCode != 0 && !unknown.signaled, "\(unknown)")
    }

    @Test("log dump of the target shows transactional data batches and COMMIT markers of the listed producer")
    func dumpShowsMarkers() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "1", "--compression", "lz4"])
        try scratch.produce("source", (0..<300).map { "\"first \($0)\"" })
        _ = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        try scratch.produce("source", (0..<200).map { "\"second \($0)\"" })
        _ = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        let row = try #require(try scratch.transactionRows().first)

        let result = try scratch.runBare(["log", "dump", scratch.segmentPath("target")])
        expectSuccess(result)
        let batches = DumpOutput(result.stdout).batchLines
        let data = batches.filter { DumpOutput.field("isControl", in: $0) == "false" }
        let markers = batches.filter { DumpOutput.field("isControl", in: $0) == "true" }
        #expect(!data.isEmpty && markers.count == 2, "two copies, one transaction each: \(result)")
        for line in data {
            #expect(DumpOutput.field("isTransactional", in: line) == "true", "\(line)")
            #expect(DumpOutput.field("producerId", in: line) == String(row.producerID), "\(line)")
            #expect(DumpOutput.field("codec", in: line) == "lz4", "\(line)")
            #expect(DumpOutput.field("crcValid", in: line) == "true", "\(line)")
        }
        #expect(data.compactMap { DumpOutput.field("count", in: $0).flatMap(Int.init) }.reduce(0, +) == 500)
        for line in markers {
            #expect(line.contains("isControl: true"))
            #expect(DumpOutput.field("marker", in: line) == "COMMIT", "\(line)")
            #expect(DumpOutput.field("isTransactional", in: line) == "true", "\(line)")
            #expect(DumpOutput.field("count", in: line) == "1", "\(line)")
            #expect(DumpOutput.field("producerId", in: line) == String(row.producerID), "\(line)")
        }
        // Each copy's data is followed by its marker, under that run's epoch; the last batch is a marker.
        #expect(batches.last.map { DumpOutput.field("isControl", in: $0) } == "true")
        let epochs = batches.compactMap { DumpOutput.field("producerEpoch", in: $0).flatMap(Int.init) }
        #expect(epochs == epochs.sorted(), "epochs never go back: \(epochs)")
        #expect(epochs.last == row.epoch)
        let markerIndexes = batches.indices.filter { DumpOutput.field("isControl", in: batches[$0]) == "true" }
        if markerIndexes.count == 2 {
            let firstEpoch = DumpOutput.field("producerEpoch", in: batches[markerIndexes[0]])
            #expect(batches[..<markerIndexes[0]].allSatisfy { DumpOutput.field("producerEpoch", in: $0) == firstEpoch })
        }

        // The consumed offsets were committed in the same transactions: the group's
        // __consumer_offsets partition holds transactional batches and COMMIT markers of that producer.
        var offsetMarkers = 0, offsetTransactional = 0
        for partition in 0..<8 {
            let path = URL(fileURLWithPath: scratch.dataDir)
                .appendingPathComponent("topics/__consumer_offsets/\(partition)/00000000000000000000.log").path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let dump = try scratch.runBare(["log", "dump", path])
            for line in DumpOutput(dump.stdout).batchLines where DumpOutput.field("producerId", in: line) == String(row.producerID) {
                if DumpOutput.field("isControl", in: line) == "true" {
                    if DumpOutput.field("marker", in: line) == "COMMIT" { offsetMarkers += 1 }
                } else if DumpOutput.field("isTransactional", in: line) == "true" {
                    offsetTransactional += 1
                }
            }
        }
        #expect(offsetTransactional == 2, "one transactional offsets batch per transaction")
        #expect(offsetMarkers == 2, "one COMMIT marker per transaction in __consumer_offsets")
    }
}
