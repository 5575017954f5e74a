import Foundation
import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Synchronization
import Testing

/// Compaction builds its cleaned segments outside the partition lock (issue 10.8): appends and
/// rolls go on while a pass reads and writes, and `LogManager.close()` waits for a running pass.
@Suite struct CompactionConcurrencyTests {
    /// How long a test waits for something that should happen at once before it calls it stuck.
    static let stuckSeconds = 20.0

    /// A compacted partition with four sealed segments of overwritten keys and a small active one.
    static func dirtyPartition(_ log: LogManager) throws -> PartitionLog {
        let partition = try log.createTopic(topicName("c"), config: CompactionTests.config).partition(0)
        for index in 0..<20 {
            let records = (0..<3).map { TestRecord(key: "k\((index * 3 + $0) % 5)", value: "v\(index).\($0)", timestamp: clockStart) }
            try partition.append(makeBatch(records))
            if index % 5 == 4 { try partition.rollNow() }
        }
        try partition.append(makeBatch([TestRecord(key: "k0", value: "active", timestamp: clockStart)]))
        try partition.sync()
        #expect(partition.segmentBaseOffsets == [0, 15, 30, 45, 60])
        return partition
    }

    @Test func appendsAndRollsCompleteWhileAPassBuildsAndSurviveTheSwap() throws {
        let storage = GatedStorage(disk: SimulatedDisk(seed: 51))
        let log = try openLog(storage, clock: makeClock())
        defer { log.close() }
        let partition = try Self.dirtyPartition(log)
        let before = try readAll(partition)

        storage.arm(pathSuffix: "/c/0/" + segmentFileName(15, ".log"))
        let passDone = DispatchSemaphore(value: 0)
        let passResult = Mutex<Result<CompactionReport, LogError>?>(nil)
        Thread {
            let result = Result(catching: { () throws(LogError) -> CompactionReport in try partition.compact() })
            passResult.withLock { $0 = result }
            passDone.signal()
        }.start()
        #expect(storage.waitUntilHeld(seconds: Self.stuckSeconds), "the pass never read segment 15")

        // While the pass is held in the middle of its reads: appends and a roll.
        let during = (0..<6).map { TestRecord(key: "k\($0 % 5)", value: "during-\($0)", timestamp: clockStart) }
        let appended = Mutex<[Offset]>([])
        let appendsDone = DispatchSemaphore(value: 0)
        Thread {
            for (index, record) in during.enumerated() {
                if let result = try? partition.append(makeBatch([record])) { appended.withLock { $0.append(result.baseOffset) } }
                if index == 2 { try? partition.rollNow() }
            }
            appendsDone.signal()
        }.start()
        let appendsFinished = appendsDone.wait(timeout: .now() + Self.stuckSeconds) == .success
        #expect(appendsFinished, "appends stalled behind a compaction pass")
        storage.release()
        #expect(passDone.wait(timeout: .now() + Self.stuckSeconds) == .success, "the pass never finished")
        if !appendsFinished { _ = appendsDone.wait(timeout: .now() + Self.stuckSeconds) }

        let report = try #require(try passResult.withLock { $0 }?.get())
        #expect(report.recordsRemoved > 0)
        #expect(appended.withLock { $0 } == (61..<67).map { Offset($0) })
        let after = try readAll(partition)
        let duringPlaced = during.enumerated().map { PlacedRecord(offset: Int64(61 + $0.offset), record: $0.element) }
        #expect(Array(after.suffix(7)) == [before.last!] + duringPlaced, "what was appended during the pass is kept as it was")
        #expect(latestValues(after) == latestValues(before + duringPlaced))
        #expect(partition.logEndOffset == 67)
        #expect(partition.segmentBaseOffsets == [0, 60, 64], "the cleaned segment replaced the four sealed ones; the roll stayed")
        // A second pass leaves no stray files and the reopened partition shows the same records.
        try partition.rollNow()
        try partition.compact()
        let names = try storage.listDirectory(partitionDirectory("c"))
        #expect(!names.contains { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }, "\(names)")
    }

    @Test func closeWaitsForARunningMaintenancePass() throws {
        let disk = SimulatedDisk(seed: 52)
        let storage = GatedStorage(disk: disk)
        let log = try openLog(storage, clock: makeClock())
        let partition = try Self.dirtyPartition(log)
        let before = try readAll(partition)

        storage.arm(pathSuffix: "/c/0/" + segmentFileName(15, ".log"))
        log.startBackgroundMaintenance(intervalMilliseconds: 1)
        #expect(storage.waitUntilHeld(seconds: Self.stuckSeconds), "the maintenance pass never read segment 15")
        let closed = DispatchSemaphore(value: 0)
        Thread {
            log.close()
            storage.noteClosed()
            closed.signal()
        }.start()
        // While the pass is held, close must not return (no timing assertion: if close is merely
        // slow to return, the test passes; it fails only when close returned under a running pass).
        let returnedUnderPass = closed.wait(timeout: .now() + 0.5) == .success
        #expect(!returnedUnderPass, "close returned while a compaction pass was still running")
        storage.release()
        #expect(returnedUnderPass || closed.wait(timeout: .now() + Self.stuckSeconds) == .success, "close never returned")
        #expect(storage.operationsAfterClose.isEmpty, "the directory was used after close: \(storage.operationsAfterClose.prefix(5))")

        // The directory lock is free and the pass either finished or left nothing behind.
        let reopened = try openLog(disk, clock: makeClock())
        defer { reopened.close() }
        let view = try readAll(reopened.partition(CompactionTests.compacted))
        #expect(latestValues(view) == latestValues(before))
        let names = try disk.listDirectory(partitionDirectory("c"))
        #expect(!names.contains { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }, "\(names)")
    }
}
