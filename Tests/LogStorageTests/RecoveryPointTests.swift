import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// The recovery point (issue 10.10): below it damage is reported and kept, past it the first
/// invalid batch starts a torn tail, and nothing synced is ever cut.
@Suite struct RecoveryPointTests {
    static let events = TopicPartition(topicName("t"), 0)

    /// What a crash can leave past the last sync when the disk writes pages back in any order:
    /// a batch whose header survived but whose records did not (zeros), or bytes of nothing at
    /// all, and after it a whole, valid batch that happened to reach the disk.
    enum UnsyncedDamage: String, CaseIterable, Sendable {
        case batchWithLostPage, garbage
    }

    @Test(arguments: UnsyncedDamage.allCases)
    func unsyncedDamageFollowedByAValidBatchPastTheRecoveryPointIsCut(damage: UnsyncedDamage) throws {
        let disk = SimulatedDisk(seed: 41)
        let clock = makeClock()
        let batches = (0..<3).map { makeRecords("b\($0)", count: 2, timestamp: clockStart, valueBytes: 80) }
        let path = segmentPath("t", base: 0, ".log")
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            for batch in batches { try partition.append(makeBatch(batch)) }
            try partition.sync()
            disk.crash()
            disk.restart()
        }
        let synced = disk.currentContents(path: path)!.count
        var tail: [UInt8]
        switch damage {
        case .batchWithLostPage:
            tail = makeBatch(makeRecords("torn", count: 3, timestamp: clockStart, valueBytes: 200))
            RecordBatch.setBaseOffset(6, in: &tail)
            for index in 70..<tail.count - 10 { tail[index] = 0 }
        case .garbage:
            tail = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        }
        var valid = makeBatch(makeRecords("after", count: 2, timestamp: clockStart))
        RecordBatch.setBaseOffset(9, in: &valid)
        let file = try disk.openFile(path, mode: .readWrite)
        try file.write(tail + valid, at: Int64(synced))
        try file.sync()
        file.close()

        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(disk.currentContents(path: path)?.count == synced, "\(damage): the unsynced tail was kept")
        #expect(capture.contains("truncated a torn tail"), "\(damage)")
        #expect(!capture.contains("corrupt batch"), "\(damage): unsynced damage reported as corruption")
        #expect(partition.logEndOffset == 6)
        #expect(try readAll(partition) == placed(batches))
        let next = makeRecords("next", count: 2, timestamp: clockStart)
        #expect(try partition.append(makeBatch(next)).baseOffset == 6)
        try partition.sync()
        #expect(try readAll(partition) == placed(batches + [next]))
    }

    /// Damage below the recovery point (a bit flipped on the disk after the sync) is reported and
    /// kept, with everything after it, even when an unsynced tail past the point is cut.
    @Test(arguments: [false, true])
    func damageBelowTheRecoveryPointIsReportedAndKept(withUnsyncedTail: Bool) throws {
        let disk = SimulatedDisk(seed: 42)
        let clock = makeClock()
        let batches = (0..<6).map { makeRecords("b\($0)", count: 2, timestamp: clockStart, valueBytes: 50) }
        let path = segmentPath("t", base: 0, ".log")
        var positions: [Int64] = []
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
            for batch in batches {
                positions.append(Int64(disk.currentContents(path: path)!.count))
                try partition.append(makeBatch(batch))
            }
            try partition.sync()
            disk.crash()
            disk.restart()
        }
        let synced = disk.currentContents(path: path)!.count
        disk.corruptByte(path: path, position: positions[2] + 10, xor: 0x20)  // batch 2's length field
        if withUnsyncedTail {
            var torn = makeBatch(makeRecords("torn", count: 2, timestamp: clockStart))
            RecordBatch.setBaseOffset(12, in: &torn)
            let file = try disk.openFile(path, mode: .readWrite)
            try file.write(Array(torn.prefix(40)), at: Int64(synced))
            try file.sync()
            file.close()
        }
        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(disk.currentContents(path: path)?.count == synced)
        let report = capture.entries.first { $0.message.contains("corrupt batch in the middle of a segment") }
        #expect(report?.metadata["position"] == "\(positions[2])")
        #expect(partition.logEndOffset == 12)
        let error = logError { try partition.read(from: 4, maxBytes: 1 << 20) }
        #expect(error?.code == .corruptBatch && error?.message.contains("position \(positions[2])") == true, "\(String(describing: error))")
        #expect(try readAll(partition, from: 6) == placed(Array(batches[3...]), from: 6))
    }

    /// A crash at every disk operation of a life that appends, syncs, rolls and closes: after
    /// recovery the partition holds everything whose sync returned (the recovery point is written
    /// after the log's sync, so a crash between the two leaves a lower point, never a higher one).
    @Test func aCrashAtAnyStepNeverCutsWhatWasSynced() throws {
        func life(_ disk: SimulatedDisk, synced: inout Int) throws {
            let clock = makeClock()
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(
                topicName("t"), config: TopicConfig(segmentBytesMax: 1024, batchBytesMax: 1024, indexIntervalBytes: 64)).partition(0)
            for index in 0..<8 {
                try partition.append(makeBatch(makeRecords("b\(index)", count: 2, timestamp: clockStart, valueBytes: 90)))
                if index % 2 == 1 {
                    try partition.sync()
                    synced = 2 * (index + 1)
                }
            }
            log.close()
            synced = 16
        }
        var total = 0
        do {
            let disk = SimulatedDisk(seed: 43)
            let before = disk.mutatingOperationCount
            try life(disk, synced: &total)
            total = disk.mutatingOperationCount - before
        }
        var failures: [String] = []
        for step in 0..<total {
            let disk = SimulatedDisk(seed: 43, faults: .init(tornWrites: true))
            disk.crash(afterOperations: step)
            var synced = 0
            do { try life(disk, synced: &synced) } catch where disk.isCrashed {} catch { failures.append("step \(step): \(error)") }
            disk.restart()
            let log = try openLog(disk, clock: makeClock())
            defer { log.close() }
            guard log.hasTopic(topicName("t")) else {
                if synced > 0 { failures.append("step \(step): the topic is gone with \(synced) records synced") }
                continue
            }
            let partition = try log.partition(Self.events)
            let records = try readAll(partition)
            if records.count < synced { failures.append("step \(step): \(records.count) records left, \(synced) were synced") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }
}
