import Foundation
import Testing

/// `pipeline log dump`, damaged segment files, and opening a data directory after damage.
@Suite("pipeline log dump and recovery")
struct LogDumpAndRecoveryTests {
    /// A one-partition topic `t` with two batches: `"one"`, `"two"` (offsets 0–1), then `"three"` (2).
    private func twoBatches(codec: String = "none") throws -> Scratch {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--compression", codec])
        try scratch.produce("t", ["\"one\"", "\"two\""])
        try scratch.produce("t", ["\"three\""])
        return scratch
    }

    @Test("dump lists every batch: offsets, count, codec, producer, bits and a valid CRC", arguments: ["none", "lz4", "zstd"])
    func dump(_ codec: String) throws {
        let scratch = try twoBatches(codec: codec)
        let path = scratch.segmentPath("t")
        let result = try scratch.runBare(["log", "dump", path])
        expectSuccess(result)
        let dump = DumpOutput(result.stdout)
        try #require(dump.batchLines.count == 2, "\(result)")
        #expect(dump.totalLine == "2 batches")
        let (first, second) = (dump.batchLines[0], dump.batchLines[1])
        #expect(DumpOutput.field("baseOffset", in: first) == "0")
        #expect(DumpOutput.field("lastOffset", in: first) == "1")
        #expect(DumpOutput.field("count", in: first) == "2")
        #expect(DumpOutput.field("baseOffset", in: second) == "2")
        #expect(DumpOutput.field("count", in: second) == "1")
        for line in [first, second] {
            #expect(DumpOutput.field("codec", in: line) == codec)
            #expect(DumpOutput.field("producerId", in: line) == "-1")
            #expect(DumpOutput.field("producerEpoch", in: line) == "-1")
            #expect(DumpOutput.field("isTransactional", in: line) == "false")
            #expect(DumpOutput.field("isControl", in: line) == "false")
            #expect(DumpOutput.field("crcValid", in: line) == "true")
        }
        // Batch sizes add up to the file.
        let sizes = dump.batchLines.compactMap { DumpOutput.field("size", in: $0).flatMap(Int.init) }
        #expect(sizes.reduce(0, +) == (try fileSize(path)))
        #expect(DumpOutput.field("position", in: second) == String(sizes[0]))
    }

    @Test("dump --records prints each record")
    func dumpRecords() throws {
        let scratch = try twoBatches(codec: "lz4")
        let result = try scratch.runBare(["log", "dump", "--records", scratch.segmentPath("t")])
        expectSuccess(result)
        let records = result.stdoutLines.filter { $0.hasPrefix("| offset:") }
        #expect(records.count == 3, "\(result)")
        #expect(records.first?.contains("value: \"\\\"one\\\"\"") == true, "\(result)")
        #expect(records.last?.hasPrefix("| offset: 2 ") == true)
    }

    @Test("dump of an empty segment says 0 batches")
    func dumpEmpty() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.runBare(["log", "dump", scratch.segmentPath("t")])
        expectSuccess(result)
        #expect(DumpOutput(result.stdout).batchLines.isEmpty)
        #expect(DumpOutput(result.stdout).totalLine == "0 batches")
    }

    @Test("dump of a missing file is a one-line error")
    func dumpMissing() throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.runBare(["log", "dump", scratch.root.appendingPathComponent("none.log").path]), containing: ["none.log"])
    }

    @Test("a flipped byte inside a batch shows crcValid: false for that batch only", arguments: ["none", "lz4"])
    func flippedByte(_ codec: String) throws {
        let scratch = try twoBatches(codec: codec)
        let path = scratch.segmentPath("t")
        let before = DumpOutput(try scratch.runBare(["log", "dump", path]).stdout)
        let firstSize = try #require(before.batchLines.first.flatMap { DumpOutput.field("size", in: $0) }.flatMap(Int.init))
        // A payload byte: after the 61-byte header, inside the first batch.
        try flipByte(in: path, at: firstSize - 2)
        let result = try scratch.runBare(["log", "dump", path])
        #expect(result.exitCode != 0, "a damaged segment must not dump with success: \(result)")
        #expect(result.stderrErrorLines.count == 1 && result.stderrErrorLines[0].contains("CRC-32C")
                && result.stderrErrorLines[0].contains("position 0"), "\(result)")
        let after = DumpOutput(result.stdout)
        try #require(after.batchLines.count == 2, "\(result)")
        #expect(DumpOutput.field("crcValid", in: after.batchLines[0]) == "false", "\(result)")
        #expect(DumpOutput.field("crcValid", in: after.batchLines[1]) == "true", "\(result)")
    }

    /// Issue 18.10: a damaged header in the middle of a segment, or a file that is no segment,
    /// exits non-zero naming the position and the reason, after the batches before the damage.
    @Test("dump of a segment with a damaged header exits non-zero after the batches before it")
    func dumpDamagedHeader() throws {
        let scratch = try twoBatches()
        let path = scratch.segmentPath("t")
        let firstSize = try #require(DumpOutput(try scratch.runBare(["log", "dump", path]).stdout).batchLines.first
            .flatMap { DumpOutput.field("size", in: $0) }.flatMap(Int.init))
        try flipByte(in: path, at: firstSize + 16)  // the second batch's magic
        let result = try scratch.runBare(["log", "dump", path])
        #expect(result.exitCode != 0, "\(result)")
        #expect(DumpOutput(result.stdout).batchLines.count == 1, "\(result)")
        #expect(result.stderrErrorLines.count == 1 && result.stderrErrorLines[0].contains("position \(firstSize)")
                && result.stderrErrorLines[0].contains("magic"), "\(result)")
    }

    @Test("dump of a file that is no segment exits non-zero")
    func dumpNotASegment() throws {
        let scratch = try Scratch()
        let path = scratch.root.appendingPathComponent("notes.log").path
        try Data(String(repeating: "this is not a record batch\n", count: 10).utf8).write(to: URL(fileURLWithPath: path))
        let result = try scratch.runBare(["log", "dump", path])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.stderrErrorLines.count == 1 && result.stderrErrorLines[0].contains("not a segment")
                && result.stderrErrorLines[0].contains("position 0"), "\(result)")
    }

    @Test("a corrupt batch in the middle of the active segment is never served")
    func corruptMiddleBatchNotServed() throws {
        let scratch = try twoBatches()
        let path = scratch.segmentPath("t")
        try flipByte(in: path, at: 70)
        let result = try scratch.run(["consume", "t"])
        #expect(result.exitCode != 0, "a corrupt batch must not be read past silently: \(result)")
        #expect(!result.stdout.contains("one") && !result.stdout.contains("two"), "\(result)")
        #expect(result.stderrErrorLines.count == 1 && result.stderrErrorLines[0].hasPrefix("Error:"), "\(result)")
        #expect(result.stderrErrorLines.first?.contains("corrupt") == true)
        // Records after it can still be reached explicitly.
        #expect(try scratch.consumeLines("t", ["--offset", "2"]) == ["\"three\""])
    }

    @Test("a torn tail is cut off on the next open, with a warning; every complete batch stays", arguments: [1, 5, 20])
    func tornTail(_ bytes: Int) throws {
        let scratch = try twoBatches(codec: "lz4")
        let path = scratch.segmentPath("t")
        let dump = DumpOutput(try scratch.runBare(["log", "dump", path]).stdout)
        let firstSize = try #require(dump.batchLines.first.flatMap { DumpOutput.field("size", in: $0) }.flatMap(Int.init))
        try truncateFile(path, by: bytes)

        let described = try scratch.run(["topics", "describe", "t"])
        expectSuccess(described)
        #expect(described.stderrLogLines.contains { $0.contains("warning") && $0.contains("torn tail") }, "no warning: \(described)")
        #expect(described.stdoutLines.last == "total: 2 offsets, \(firstSize) B", "\(described)")

        let consumed = try scratch.run(["consume", "t"])
        expectSuccess(consumed)
        #expect(consumed.stdoutLines == ["\"one\"", "\"two\""])
        #expect(try fileSize(path) == firstSize)

        // The log goes on from the cut: the next record takes offset 2.
        try scratch.produce("t", ["\"four\""])
        let envelopes = try scratch.consumeEnvelopes("t")
        #expect(envelopes.map { $0["value"] as? String } == ["\"one\"", "\"two\"", "\"four\""])
        #expect(envelopes.map { $0["offset"] as? Int } == [0, 1, 2])
        let after = try scratch.runBare(["log", "dump", path])
        #expect(DumpOutput(after.stdout).batchLines.allSatisfy { DumpOutput.field("crcValid", in: $0) == "true" })
    }

    @Test("a torn tail inside the only batch leaves an empty, usable partition")
    func tornOnlyBatch() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        try scratch.produce("t", ["1", "2", "3"])
        try truncateFile(scratch.segmentPath("t"), by: 3)
        let consumed = try scratch.run(["consume", "t"])
        expectSuccess(consumed)
        #expect(consumed.stdoutLines.isEmpty)
        #expect(consumed.stderrLogLines.contains { $0.contains("torn tail") }, "\(consumed)")
        try scratch.produce("t", ["4"])
        #expect(try scratch.consumeLines("t") == ["4"])
    }

    /// Issue 18.1, as reported: 10,000 orders to an lz4 topic with 2 partitions, one bit of the
    /// `batchLength` field of a batch in the middle of each partition's active segment flipped.
    /// Neither the read-only `topics describe` nor `consume` cuts the batches after the damage;
    /// the damaged batch is reported with its position, and what follows it still reads.
    @Test("a flipped bit in a batch length field keeps the valid batches after it")
    func damagedLengthFieldKeepsWhatFollows() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2", "--compression", "lz4"])
        let orders = (0..<10_000).map { "{\"id\":\"o\($0)\",\"customer\":\"c\($0 % 97)\",\"amount\":\($0 % 500)}" }
        try scratch.produce("orders", orders, ["--key-field", "customer"])
        var damaged: [(path: String, size: Int, position: String, resume: Int, end: Int)] = []
        for partition in 0..<2 {
            let path = scratch.segmentPath("orders", partition: partition)
            let lines = DumpOutput(try scratch.runBare(["log", "dump", path]).stdout).batchLines
            try #require(lines.count >= 6, "too few batches to damage one in the middle: \(lines.count)")
            let middle = lines[lines.count / 2]
            let position = try #require(DumpOutput.field("position", in: middle).flatMap(Int.init))
            let resume = try #require(DumpOutput.field("baseOffset", in: lines[lines.count / 2 + 1]).flatMap(Int.init))
            let end = try #require(DumpOutput.field("lastOffset", in: lines[lines.count - 1]).flatMap(Int.init)) + 1
            try flipBit(in: path, at: position + 10, mask: 0x04)  // one bit of batchLength
            damaged.append((path, try fileSize(path), String(position), resume, end))
        }

        let described = try scratch.run(["topics", "describe", "orders"])
        expectSuccess(described)
        for file in damaged { #expect(try fileSize(file.path) == file.size, "topics describe cut \(file.path): \(described)") }
        #expect(!described.stderr.contains("torn tail"), "\(described)")

        let consumed = try scratch.run(["consume", "orders", "--partition", "0"])
        #expect(consumed.exitCode != 0, "\(consumed)")
        #expect(consumed.stderrErrorLines.first?.contains("position \(damaged[0].position)") == true, "\(consumed)")
        #expect(try fileSize(damaged[0].path) == damaged[0].size, "consume cut the valid batches after the damage")
        // After a clean open the offset index may have no entry between the damage and the
        // offset asked for: the read resumes at the first valid batch after the damage.
        let after = try scratch.consumeLines("orders", ["--partition", "0", "--offset", String(damaged[0].resume)])
        #expect(after.count == damaged[0].end - damaged[0].resume)
    }
}
