import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Completing a compaction swap that a crash interrupted, when the read of the `.log.swap` is
/// not exact (order-totals simulation seed 98).
///
/// The open finds which originals the swap replaces from the swap's last offset, and a batch's
/// base offset lies outside its CRC: a bit flipped in it by one read must not decide which
/// segments are deleted.
@Suite struct InterruptedSwapTests {
    /// A crash after the swap point of a pass over the four sealed segments (`0.log.swap` synced,
    /// the originals of base 0 deleted, 15, 30 and 45 still there), then the disk's files as the
    /// reopen finds them.
    static func crashAfterTheSwapPoint(_ disk: SimulatedDisk, clock: SimulatedClock) throws -> (batches: [[TestRecord]], activeBase: Int64) {
        let (log, batches, activeBase) = try CompactionTests.buildLog(disk, clock: clock)
        disk.crashWhen { $0.kind == .removeFile && $0.path.hasSuffix("00000000000000000015.log") }
        #expect(logError { try log.partition(CompactionTests.compacted).compact() } != nil)
        #expect(disk.isCrashed, "the crash did not land inside the swap")
        disk.restart()
        let names = try disk.listDirectory(partitionDirectory("c"))
        #expect(names.contains("00000000000000000000.log.swap") && !names.contains("00000000000000000000.log"), "\(names)")
        #expect(names.contains("00000000000000000015.log") && names.contains(segmentFileName(activeBase, ".log")), "\(names)")
        return (batches, activeBase)
    }

    /// The damage: bit 30 of the first batch's base offset (offset 0 reads as 2^30), which no CRC covers.
    static func baseOffsetFlip(remaining: Int) -> FlakyStorage.Flip {
        .init(pathSuffix: "c/0/00000000000000000000.log.swap", position: 4, xor: 0x40, remaining: remaining)
    }

    /// One transient flip in a base offset of the swap file while the open completes the swap:
    /// it deletes exactly the originals the swap replaces. (Before, the scan took no offset
    /// expectation and its problem was ignored: the swap's last offset read as 2^30 + 2, and the
    /// open deleted every segment up to it, the active one included, with offsets 60...65.)
    @Test func aTransientFlipInTheSwapsBaseOffsetDeletesOnlyTheReplacedSegments() throws {
        let disk = SimulatedDisk(seed: 98)
        let clock = makeClock()
        let (batches, activeBase) = try Self.crashAfterTheSwapPoint(disk, clock: clock)
        let flaky = FlakyStorage(disk: disk, flips: [Self.baseOffsetFlip(remaining: 1)])
        let capture = LogCapture()
        let log = try openLog(flaky, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(CompactionTests.compacted)  // the swap completes at first use
        #expect(flaky.appliedCount == 1, "the flip did not land on the swap's scan")
        #expect(capture.contains("completed an interrupted compaction swap"))
        #expect(partition.segmentBaseOffsets == [0, Offset(activeBase)])
        #expect(partition.logEndOffset == 66)
        let view = try readAll(partition)
        #expect(latestValues(view) == latestValues(placed(batches)), "the latest value of a key was lost")
        #expect(view == CompactionTests.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue))
    }

    /// A swap file whose offsets read wrong every time is damage: the open fails naming it and
    /// deletes nothing, and an open that reads it right completes the swap.
    @Test func aSwapWhoseOffsetsNeverReadRightFailsTheOpenAndDeletesNothing() throws {
        let disk = SimulatedDisk(seed: 99)
        let clock = makeClock()
        let (batches, activeBase) = try Self.crashAfterTheSwapPoint(disk, clock: clock)
        let before = try disk.listDirectory(partitionDirectory("c")).sorted()
        let flaky = FlakyStorage(disk: disk, flips: [Self.baseOffsetFlip(remaining: Int.max)])
        let error = logError { () throws in
            let log = try openLog(flaky, clock: clock)
            defer { log.close() }
            _ = try log.partition(CompactionTests.compacted)  // the swap completes at first use
        }
        #expect(flaky.appliedCount >= 2, "the damaged read was not retried")
        #expect(error?.code == .corruptBatch, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("00000000000000000000.log.swap") } == true, "\(String(describing: error))")
        #expect(try disk.listDirectory(partitionDirectory("c")).sorted() == before)
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(CompactionTests.compacted)
        #expect(partition.segmentBaseOffsets == [0, Offset(activeBase)])
        #expect(try readAll(partition) == CompactionTests.expectedAfterCompaction(batches, activeBase: activeBase, now: clock.now().rawValue))
    }

    /// A compacted partition whose sealed segment holds a superseded value (so a pass rewrites
    /// it), a transaction of producer 1 open across the pass (offset 2), and an aborted one of
    /// producer 2 after it (data at 3, ABORT at 4), which the pass must keep as it is; the active
    /// segment is empty. All synced.
    static func buildTransactionalLog(_ disk: SimulatedDisk, clock: SimulatedClock) throws -> LogManager {
        let log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("c"), config: CompactionTests.config).partition(0)
        try partition.append(makeBatch([TestRecord(key: "k", value: "v1", timestamp: clockStart)]))
        try partition.append(makeBatch([TestRecord(key: "k", value: "v2", timestamp: clockStart)]))
        for (producer, value) in [(Int64(1), "open"), (2, "aborted")] {
            var builder = RecordBatchBuilder(producerID: ProducerID(producer), producerEpoch: ProducerEpoch(0), baseSequence: 0, isTransactional: true)
            builder.append(key: Array(value.utf8), value: Array(value.utf8), headers: [], timestamp: Timestamp(milliseconds: clockStart))
            try partition.append(try builder.build())
        }
        try partition.append(Self.marker(.abort, producer: 2))
        try partition.rollNow()
        try partition.sync()
        return log
    }

    static func marker(_ type: ControlRecordType, producer: Int64) -> [UInt8] {
        RecordBatchBuilder.controlBatch(type: type, producerID: ProducerID(producer), producerEpoch: ProducerEpoch(0),
                                        coordinatorEpoch: 0, timestamp: Timestamp(milliseconds: clockStart))
    }

    /// The values a read-committed reader sees: data records outside the aborted transactions
    /// the read returned.
    static func readCommittedValues(_ partition: PartitionLog) throws -> [String] {
        let fetched = try partition.read(from: partition.logStartOffset, maxBytes: 1 << 20, isolation: .readCommitted)
        var values: [String] = []
        for batch in fetched.batches where !batch.header.isControl {
            let aborted = fetched.abortedTransactions.contains {
                $0.producerID == batch.header.producerID && $0.firstOffset <= batch.header.baseOffset && batch.header.baseOffset <= $0.lastOffset
            }
            guard !aborted else { continue }
            for record in try batch.records() { values.append(String(decoding: record.value ?? [], as: UTF8.self)) }
        }
        return values
    }

    /// A crash at every mutating operation of a pass that keeps an aborted transaction (it lies
    /// past the last stable offset): once reopened and the open transaction committed, a
    /// read-committed reader sees exactly the committed values. (Before, a crash after the
    /// cleaned `.log` was in place and before its `.txnindex` was rewritten left that file empty,
    /// the clean open that followed trusted it, and "aborted" was read as committed.)
    @Test func aCrashAnywhereInAPassNeverLosesTheAbortedTransactionsItKept() throws {
        let clock = makeClock()
        let expected = ["v2", "open"]
        let operationCount: Int
        do {
            let probe = SimulatedDisk(seed: 100)
            let log = try Self.buildTransactionalLog(probe, clock: clock)
            let partition = try log.partition(CompactionTests.compacted)
            let start = probe.mutatingOperationCount
            let report = try partition.compact()
            operationCount = probe.mutatingOperationCount - start
            #expect(report.recordsRemoved == 1)
            try partition.append(Self.marker(.commit, producer: 1))
            #expect(try Self.readCommittedValues(partition) == expected)
            log.close()
        }
        #expect(operationCount > 8)
        var failures: [String] = []
        var crashesAtTheTxnIndex = 0
        for point in 0..<operationCount {
            let seed = UInt64(2_000 + point)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let log = try Self.buildTransactionalLog(disk, clock: clock)
            disk.crash(afterOperations: point)
            let error = logError { try log.partition(CompactionTests.compacted).compact() }
            let at = disk.lastCrashOperation.map(String.init(describing:)) ?? "?"
            guard error != nil, disk.isCrashed else {
                failures.append("crash point \(point): the pass did not crash")
                continue
            }
            if at.contains("00000000000000000000.txnindex") { crashesAtTheTxnIndex += 1 }
            disk.restart()
            let reopened = try openLog(disk, clock: clock)
            defer { reopened.close() }
            let partition = try reopened.partition(CompactionTests.compacted)
            try partition.append(Self.marker(.commit, producer: 1))
            let values = try Self.readCommittedValues(partition)
            if values != expected { failures.append("crash point \(point) at \(at): a read-committed reader sees \(values)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(operationCount) crash points failed:\n\(failures.prefix(6).joined(separator: "\n"))")
        #expect(crashesAtTheTxnIndex > 0, "no crash landed on the cleaned segment's .txnindex")
    }

    /// A segment whose `.txnindex` is missing (lost, or removed by hand) is rebuilt from its
    /// `.log` at the partition's first use; a crash anywhere in that open must leave the file
    /// missing or whole, never an empty file the next open trusts. (Before, the open created the
    /// missing file empty first and rebuilt it later: a crash in between left "no aborted
    /// transactions", and "aborted" was read as committed.)
    @Test func aCrashWhileAMissingTxnIndexIsRebuiltNeverTrustsAnEmptyOne() throws {
        let clock = makeClock()
        // The first use's maintenance pass compacts "v1" away.
        let expected = ["v2", "open"]
        let txnIndex = segmentPath("c", base: 0, ".txnindex")
        func prepared(_ disk: SimulatedDisk) throws {
            let log = try Self.buildTransactionalLog(disk, clock: clock)
            log.close()
            try disk.removeFile(txnIndex)
            try disk.syncDirectory(parentPath(txnIndex))
        }
        let operationCount: Int
        do {
            let probe = SimulatedDisk(seed: 300)
            try prepared(probe)
            let log = try openLog(probe, clock: clock)
            let start = probe.mutatingOperationCount
            let partition = try log.partition(CompactionTests.compacted)
            operationCount = probe.mutatingOperationCount - start
            try partition.append(Self.marker(.commit, producer: 1))
            #expect(try Self.readCommittedValues(partition) == expected)
            log.close()
        }
        #expect(operationCount > 0, "the first use rebuilds the .txnindex")
        var failures: [String] = []
        for point in 0..<operationCount {
            let disk = SimulatedDisk(seed: UInt64(3_000 + point))
            try prepared(disk)
            let log = try openLog(disk, clock: clock)
            disk.crash(afterOperations: point)
            _ = try? log.partition(CompactionTests.compacted)
            let at = disk.lastCrashOperation.map(String.init(describing:)) ?? "?"
            guard disk.isCrashed else {
                failures.append("crash point \(point): the open did not crash")
                continue
            }
            log.close()
            disk.restart()
            let reopened = try openLog(disk, clock: clock)
            defer { reopened.close() }
            let partition = try reopened.partition(CompactionTests.compacted)
            try partition.append(Self.marker(.commit, producer: 1))
            let values = try Self.readCommittedValues(partition)
            if values != expected { failures.append("crash point \(point) at \(at): a read-committed reader sees \(values)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(operationCount) crash points failed:\n\(failures.prefix(6).joined(separator: "\n"))")
    }
}
