import Foundation
import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Synchronization
import Testing

/// The latest non-null value of every key (a tombstone or no record at all both mean "absent").
func latestValues(_ records: [PlacedRecord]) -> [[UInt8]: [UInt8]] {
    var map: [[UInt8]: [UInt8]] = [:]
    for placed in records.sorted(by: { $0.offset < $1.offset }) {
        guard let key = placed.record.key else { continue }
        map[key] = placed.record.value
    }
    return map
}

@Suite struct CompactionTests {
    static let compacted = TopicPartition(topicName("c"), 0)
    static let deleteRetention: Int64 = 60_000
    static let config = TopicConfig(
        segmentBytesMax: 64 << 10, cleanupPolicy: .compact, deleteRetentionMilliseconds: deleteRetention,
        batchBytesMax: 4096, indexIntervalBytes: 256)

    /// Twenty batches of three keyed records over keys k0...k6 in four sealed segments, with
    /// tombstones (the latest k0, old; the latest k6, recent; an earlier k0), then two batches in
    /// the active segment; all synced.
    /// (The log stays open: a partition's first use after an open runs a maintenance pass, which would compact it.)
    /// - Returns: the open log, the batches, and the active segment's base offset.
    static func buildLog(_ disk: SimulatedDisk, clock: SimulatedClock, codec: CompressionCodec = .none) throws
        -> (LogManager, [[TestRecord]], Int64)
    {
        let log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("c"), config: config).partition(0)
        var batches: [[TestRecord]] = []
        for index in 0..<22 {
            let records = (0..<3).map { slot -> TestRecord in
                let key = "k\((index * 3 + slot) % 7)"
                // The latest k0 and k6 in the sealed segments are tombstones, k0's an old one.
                if index == 18 && slot == 2 { return TestRecord(key: "k0", value: nil, timestamp: clockStart - 2 * deleteRetention) }
                if index == 18 && slot == 1 { return TestRecord(key: "k6", value: nil, timestamp: clockStart) }
                // An older tombstone that a later value replaces.
                if index == 7 && slot == 0 { return TestRecord(key: "k0", value: nil, timestamp: clockStart) }
                return TestRecord(key: key, value: "v\(index).\(slot)", timestamp: clockStart + Int64(index))
            }
            try partition.append(makeBatch(records, codec: codec))
            batches.append(records)
            if index % 5 == 4 && index < 20 { try partition.rollNow() }
        }
        try partition.sync()
        #expect(partition.segmentBaseOffsets == [0, 15, 30, 45, 60])
        return (log, batches, 60)
    }

    /// What a first compaction pass must leave: in the sealed segments, the latest record of
    /// each key (tombstones included, whatever their timestamps: the pass starts their delete
    /// horizon) plus the whole last batch of the sealed segments, which keeps the log's offsets;
    /// the active segment untouched.
    static func expectedAfterCompaction(_ batches: [[TestRecord]], activeBase: Int64, now: Int64) -> [PlacedRecord] {
        let all = placed(batches)
        let inactive = all.filter { $0.offset < activeBase }
        var latest: [[UInt8]: Int64] = [:]
        for record in inactive { latest[record.record.key!] = record.offset }
        let tailStart = activeBase - Int64(batches[19].count)
        return all.filter { placed in placed.offset >= tailStart || latest[placed.record.key!] == placed.offset }
    }

    @Test(arguments: [CompressionCodec.none, .lz4, .zstd])
    func latestValuePerKeySurvivesAtItsOffset(codec: CompressionCodec) throws {
        let disk = SimulatedDisk(seed: 41)
        let clock = makeClock()
        let (log, batches, activeBase) = try Self.buildLog(disk, clock: clock, codec: codec)
        let before = placed(batches)
        #expect(try readAll(log.partition(Self.compacted)) == before)
        let partition = try log.partition(Self.compacted)
        #expect(partition.needsCompaction)
        let report = try partition.compact()
        let expected = Self.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue)
        let after = try readAll(partition)
        #expect(after == expected)
        #expect(latestValues(after) == latestValues(before))
        #expect(report.recordsRemoved + report.tombstonesRemoved == before.count - after.count)
        #expect(report.tombstonesRemoved == 0, "the first pass that sees a tombstone starts its delete horizon")
        #expect(report.horizonsSet == 1, "one batch holds the two surviving tombstones")
        #expect(report.bytesAfter < report.bytesBefore)
        #expect(partition.logStartOffset == 0 && partition.logEndOffset == 66)
        #expect(partition.segmentBaseOffsets == [Offset(0), Offset(activeBase)])
        #expect(!partition.needsCompaction)
        #expect(try readHeaders(partition).allSatisfy { $0.codec == codec })
        // Reads from any offset, including ones compacted away, lead to the next survivor.
        for offset in Int64(0)..<66 {
            let first = try readAll(partition, from: Offset(offset)).first?.offset
            #expect(first == expected.first { $0.offset >= offset }?.offset, "read from \(offset)")
            #expect(try partition.read(from: Offset(offset), maxBytes: 1).batches.first?.header.lastOffset ?? -1 >= Offset(offset))
        }
        // Appends continue at the same offset; the view survives a reopen (whose maintenance pass
        // finds nothing more to remove).
        let next = [TestRecord(key: "k1", value: "new", timestamp: clockStart)]
        #expect(try partition.append(makeBatch(next)).baseOffset == 66)
        log.close()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        #expect(try readAll(reopened.partition(Self.compacted)) == expected + placed([next], from: 66))
    }

    @Test func tombstonesStayUntilTheDeleteRetentionThenGo() throws {
        let disk = SimulatedDisk(seed: 42)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("c"), config: Self.config).partition(0)
        let batches: [[TestRecord]] = [
            [TestRecord(key: "a", value: "1", timestamp: clockStart), TestRecord(key: "b", value: "1", timestamp: clockStart)],
            [TestRecord(key: "a", value: nil, timestamp: clockStart)],
            [TestRecord(key: "c", value: "1", timestamp: clockStart)],
        ]
        for batch in batches { try partition.append(makeBatch(batch)) }
        try partition.rollNow()
        try partition.append(makeBatch([TestRecord(key: "d", value: "1", timestamp: clockStart)]))
        try partition.compact()
        #expect(try readAll(partition).map { $0.offset } == [1, 2, 3, 4], "a's value goes at once, its tombstone stays")
        clock.advance(byMilliseconds: Self.deleteRetention - 1)
        try partition.compact()
        #expect(try readAll(partition).map { $0.offset } == [1, 2, 3, 4])
        clock.advance(byMilliseconds: 2)
        let report = try partition.compact()
        #expect(report.tombstonesRemoved == 1)
        let left = try readAll(partition)
        #expect(left.map { $0.offset } == [1, 3, 4])
        #expect(latestValues(left) == [Array("b".utf8): Array("1".utf8), Array("c".utf8): Array("1".utf8), Array("d".utf8): Array("1".utf8)])
    }

    @Test func nullKeysAreRefusedOnCompactedTopics() throws {
        let disk = SimulatedDisk(seed: 43)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("c"), config: Self.config).partition(0)
        let mixed = makeBatch([TestRecord(key: "a", value: "1", timestamp: clockStart), TestRecord(key: nil, value: "2", timestamp: clockStart)])
        let error = logError { try partition.append(mixed) }
        #expect(error?.code == .invalidBatch)
        #expect(error?.message.contains("key") == true)
        #expect(partition.logEndOffset == 0)
        // Through the producer: the record's send fails, nothing lands.
        var producerConfig = ProducerConfig()
        producerConfig.lingerMilliseconds = 0
        let producer = LogProducer(log: log, config: producerConfig)
        let sent = Result { try producer.send(topic: topicName("c"), key: nil, value: Array("x".utf8), partition: 0) }
        if case .success(let pending) = sent {
            #expect(logErrorCode { try pending.wait() } == .invalidBatch)
        } else if case .failure(let failure) = sent {
            #expect((failure as? LogError)?.code == .invalidBatch)
        }
        #expect(partition.logEndOffset == 0)
        // Tombstones (null values) with keys are fine.
        #expect(try partition.append(makeBatch([TestRecord(key: "a", value: nil, timestamp: clockStart)])).baseOffset == 0)
    }

    @Test func maintainCompactsOnlyWhenDirtyEnough() throws {
        let disk = SimulatedDisk(seed: 44)
        let clock = makeClock()
        let (log, batches, activeBase) = try Self.buildLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(Self.compacted)
        #expect(partition.needsCompaction)
        try log.maintain()
        #expect(try readAll(partition) == Self.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue))
        #expect(!partition.needsCompaction)
        // New dirty data makes a pass worth it again.
        for index in 0..<30 { try partition.append(makeBatch([TestRecord(key: "k\(index % 3)", value: "y\(index)", timestamp: clockStart)])) }
        try partition.rollNow()
        #expect(partition.needsCompaction)
        // Delete-policy topics are never compacted.
        let plain = try log.createTopic(topicName("plain"), config: TopicConfig()).partition(0)
        try plain.append(makeBatch([TestRecord(key: "a", value: "1", timestamp: clockStart)]))
        try plain.append(makeBatch([TestRecord(key: "a", value: "2", timestamp: clockStart)]))
        try plain.rollNow()
        #expect(!plain.needsCompaction)
        #expect(try plain.compact().recordsRemoved == 0)
        #expect(try readAll(plain).count == 2)
    }

    @Test(arguments: [".log.cleaned", ".log.deleted", ".index.cleaned", ".tmp"])
    func leftoversOfAnInterruptedPassAreRemoved(suffix: String) throws {
        let disk = SimulatedDisk(seed: 45)
        let clock = makeClock()
        let (built, batches, activeBase) = try Self.buildLog(disk, clock: clock)
        built.close()
        let leftover = segmentPath("c", base: 15, suffix)
        let file = try disk.openFile(leftover, mode: .create)
        try file.write(Array(repeating: 0xAB, count: 300), at: 0)
        try file.sync()
        file.close()
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        #expect(disk.exists(leftover), "opening the directory opened the partition")
        // The partition's first use removes the leftover, and its first maintenance pass compacts
        // the (dirty) log.
        let records = try readAll(log.partition(Self.compacted))
        #expect(!disk.exists(leftover))
        #expect(records == Self.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue))
    }

    /// A crash after the swap point, before the originals are all gone: the partition's first
    /// open completes the swap.
    @Test func anInterruptedSwapIsCompletedOnOpen() throws {
        let disk = SimulatedDisk(seed: 46)
        let clock = makeClock()
        let (log, batches, activeBase) = try Self.buildLog(disk, clock: clock)
        disk.crashWhen { $0.kind == .removeFile && $0.path.hasSuffix("00000000000000000015.log") }
        #expect(logError { try log.partition(Self.compacted).compact() } != nil)
        #expect(disk.isCrashed)
        disk.restart()
        let directory = partitionDirectory("c")
        #expect(try disk.listDirectory(directory).contains("00000000000000000000.log.swap"))
        let capture = LogCapture()
        let reopened = try openLog(disk, clock: clock, capture: capture)
        defer { reopened.close() }
        let partition = try reopened.partition(Self.compacted)
        #expect(capture.contains("completed an interrupted compaction swap"))
        let names = try disk.listDirectory(directory)
        #expect(!names.contains { $0.hasSuffix(".swap") || $0.hasSuffix(".cleaned") }, "\(names)")
        #expect(partition.segmentBaseOffsets == [0, 60])
        #expect(try readAll(partition) == Self.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue))
    }

    /// (6) A crash at every mutating operation of a compaction pass: the reopened partition shows
    /// the view before or the view after the pass, with the same latest value per key, no
    /// leftovers, and a later pass reaches the view after.
    @Test func crashAtEveryOperationOfACompactionPass() throws {
        let clock = makeClock()
        let probe = SimulatedDisk(seed: 47)
        let (log, batches, activeBase) = try Self.buildLog(probe, clock: clock)
        let preView = placed(batches)
        let postView = Self.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue)
        let operationCount: Int
        do {
            let start = probe.mutatingOperationCount
            try log.partition(Self.compacted).compact()
            operationCount = probe.mutatingOperationCount - start
            #expect(try readAll(log.partition(Self.compacted)) == postView)
            log.close()
        }
        #expect(operationCount > 8)
        var failures: [String] = []
        var sawPre = 0, sawPost = 0, sawSwap = 0
        for point in 0..<operationCount {
            let seed = UInt64(1_000 + point)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let (log, _, _) = try Self.buildLog(disk, clock: clock)
            disk.crash(afterOperations: point)
            let error = logError { try log.partition(Self.compacted).compact() }
            let context = "crash point \(point) (seed \(seed)) at \(disk.lastCrashOperation.map(String.init(describing:)) ?? "?")"
            guard error != nil, disk.isCrashed else { failures.append("\(context): the pass did not crash"); continue }
            disk.restart()
            if try disk.listDirectory(partitionDirectory("c")).contains(where: { $0.hasSuffix(".swap") }) { sawSwap += 1 }
            let reopened: LogManager
            do { reopened = try openLog(disk, clock: clock) } catch { failures.append("\(context): reopen failed: \(error)"); continue }
            defer { reopened.close() }
            let partition = try reopened.partition(Self.compacted)
            let view = try readAll(partition)
            if view == preView { sawPre += 1 } else if view == postView { sawPost += 1 } else {
                failures.append("\(context): neither view: \(view.count) records, offsets \(view.map(\.offset).prefix(20))…")
            }
            if latestValues(view) != latestValues(preView) { failures.append("\(context): latest values changed") }
            let leftovers = try disk.listDirectory(partitionDirectory("c")).filter {
                $0.hasSuffix(".swap") || $0.hasSuffix(".cleaned") || $0.hasSuffix(".deleted")
            }
            if !leftovers.isEmpty { failures.append("\(context): leftovers \(leftovers)") }
            if partition.logEndOffset != 66 { failures.append("\(context): log end \(partition.logEndOffset)") }
            try partition.compact()
            if try readAll(partition) != postView { failures.append("\(context): a later pass does not reach the compacted view") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(operationCount) crash points failed:\n\(failures.prefix(6).joined(separator: "\n"))")
        // Opening runs a maintenance pass, so a crash before the swap point usually shows the
        // compacted view too, once reopened; what matters is that it is one of the two.
        #expect(sawPost > 0 && sawSwap > 0, "coverage: pre \(sawPre), post \(sawPost), swap \(sawSwap)")
    }

    /// Compaction passes running while another thread appends and rolls: no append is lost or
    /// misplaced, and the latest value of every key is the last one written.
    @Test func compactionRunsSafelyBesideAppends() throws {
        let log = try openLog(SimulatedDisk(seed: 48), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("c"), config: Self.config).partition(0)
        let appended = Mutex<[PlacedRecord]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for index in 0..<300 {
                    let record = TestRecord(key: "k\(index % 13)", value: "v\(index)", timestamp: clockStart)
                    do {
                        let result = try partition.append(makeBatch([record]))
                        appended.withLock { $0.append(PlacedRecord(offset: result.baseOffset.rawValue, record: record)) }
                        if index % 20 == 19 { try partition.rollNow() }
                    } catch { failures.withLock { $0.append("append \(index): \(error)") } }
                }
            } else {
                for _ in 0..<30 {
                    do { try partition.compact() } catch { failures.withLock { $0.append("compact: \(error)") } }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        let written = appended.withLock { $0 }
        #expect(written.map(\.offset) == Array(0..<300))
        try partition.rollNow()
        try partition.compact()
        let left = try readAll(partition)
        #expect(latestValues(left) == latestValues(written))
        #expect(Set(left).isSubset(of: Set(written)), "compaction invented or moved a record")
    }

    /// A damaged batch in a sealed segment of a compacted topic must not keep the data directory
    /// from opening (opening runs a maintenance pass): the partition stays readable around the
    /// damage and the damaged batch reports itself.
    @Test
    func aDamagedCompactedSegmentDoesNotPreventTheOpen() throws {
        let disk = SimulatedDisk(seed: 49)
        let clock = makeClock()
        let (log, batches, _) = try Self.buildLog(disk, clock: clock)
        log.close()
        let firstBatchBytes = makeBatch(batches[0]).count
        disk.corruptByte(path: segmentPath("c", base: 15, ".log"), position: Int64(firstBatchBytes + 70))  // batch 6, offsets 18...20
        let opened = Result { try openLog(disk, clock: clock) }
        guard case .success(let reopened) = opened else {
            Issue.record("one damaged batch of a compacted topic failed the whole open: \(opened)")
            return
        }
        defer { reopened.close() }
        let partition = try reopened.partition(Self.compacted)
        #expect(logErrorCode { try partition.read(from: 18, maxBytes: 1) } == .corruptBatch)
        #expect(try readAll(partition, from: 60) == placed(batches).filter { $0.offset >= 60 })
    }
}
