import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

@Suite struct DiskFullTests {
    static let events = TopicPartition(topicName("t"), 0)

    @Test(arguments: [0, 1, 30, 61, 100])
    func aFullDiskRefusesTheAppendAndShowsNothingOfIt(spareBytes: Int) throws {
        let disk = SimulatedDisk(seed: 81)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let first = makeRecords("a", count: 3, timestamp: clockStart)
        try partition.append(makeBatch(first))
        try partition.sync()
        let logPath = segmentPath("t", base: 0, ".log")
        let sizeBefore = disk.currentContents(path: logPath)!.count
        let big = makeRecords("big", count: 4, timestamp: clockStart, valueBytes: 80)
        let bigBatch = makeBatch(big)
        precondition(bigBatch.count > spareBytes + 8)
        disk.faults = .init(capacityBytes: disk.storedBytes + spareBytes)

        let error = logError { try partition.append(bigBatch) }
        #expect(error?.code == .diskFull)
        #expect(error?.storageError?.code == .diskFull)
        #expect(partition.logEndOffset == 3)
        #expect(disk.currentContents(path: logPath)?.count == sizeBefore, "the short write was not cut back")
        #expect(try readAll(partition) == placed([first]))
        // Still full: refused again, nothing changes.
        #expect(logErrorCode { try partition.append(bigBatch) } == .diskFull)
        #expect(partition.logEndOffset == 3)

        // Space comes back: the same append works, at the next offset.
        disk.faults = .none
        #expect(try partition.append(bigBatch).baseOffset == 3)
        try partition.sync()
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        #expect(try readAll(log.partition(Self.events)) == placed([first, big]))
    }

    /// Deleting a topic frees its space for the others.
    @Test func deletingATopicFreesSpace() throws {
        let disk = SimulatedDisk(seed: 82)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let junk = try log.createTopic(topicName("junk"), config: TopicConfig()).partition(0)
        for index in 0..<10 { try junk.append(makeBatch(makeRecords("j\(index)", count: 5, timestamp: clockStart, valueBytes: 100))) }
        try junk.sync()
        disk.faults = .init(capacityBytes: disk.storedBytes + 100)
        var accepted: [[TestRecord]] = []
        var full = false
        for index in 0..<20 {
            let records = makeRecords("t\(index)", count: 2, timestamp: clockStart, valueBytes: 30)
            if let error = logError({ try partition.append(makeBatch(records)) }) {
                #expect(error.code == .diskFull)
                full = true
                break
            }
            accepted.append(records)
        }
        #expect(full)
        #expect(try readAll(partition) == placed(accepted))
        try log.deleteTopic(topicName("junk"))
        let more = makeRecords("more", count: 2, timestamp: clockStart, valueBytes: 30)
        #expect(try partition.append(makeBatch(more)).baseOffset == Offset(Int64(accepted.count * 2)))
        #expect(try readAll(partition) == placed(accepted + [more]))
    }

    /// Random workloads (rolls, syncs, several topics) run into a full disk at random points:
    /// whatever was acknowledged stays readable, a clean close keeps all of it, a crash keeps at
    /// least what was synced, and appends resume once there is space.
    @Test func workloadsRunningIntoAFullDisk() throws {
        var failures: [String] = []
        for seed in sweepSeeds(40) {
            var random = SeededRandom(seed: seed &+ 0xF011)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let clock = makeClock()
            var log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(
                topicName("t"), config: TopicConfig(segmentBytesMax: 1024, batchBytesMax: 1024, indexIntervalBytes: random.pick([1, 300]))
            ).partition(0)
            disk.faults = .init(tornWrites: true, capacityBytes: disk.storedBytes + random.int(200...6_000))
            var acknowledged: [[TestRecord]] = []
            var durable = 0
            var sawFull = false
            for index in 0..<60 {
                let records = makeRecords("s\(seed)b\(index)", count: random.int(1...3), timestamp: clockStart, valueBytes: random.int(10...150))
                let syncNow = random.int(0...4) == 0
                let failure = logError {
                    try partition.append(makeBatch(records))
                    acknowledged.append(records)
                    if syncNow { try partition.sync(); durable = acknowledged.count }
                }
                if let failure {
                    if failure.code != .diskFull { failures.append("seed \(seed): append failed with \(failure)") }
                    sawFull = true
                    break
                }
            }
            if !sawFull { failures.append("seed \(seed): never filled the disk") }
            do {
                let records = try readAll(partition)
                if records != placed(acknowledged) { failures.append("seed \(seed): live view differs from the acknowledged appends") }
            } catch { failures.append("seed \(seed): live read failed: \(error)") }
            let crash = random.int(0...1) == 0
            if crash { disk.crash(); disk.restart() } else { log.close() }
            disk.faults = .init(tornWrites: true)
            log = try openLog(disk, clock: clock)
            let reopened = try log.partition(Self.events)
            let records = try readAll(reopened)
            if let kept = wholeBatchPrefix(records, of: acknowledged) {
                if !crash && kept != acknowledged.count { failures.append("seed \(seed): a clean close kept \(kept) of \(acknowledged.count) batches") }
                if kept < durable { failures.append("seed \(seed): lost synced batches (\(kept) < \(durable))") }
            } else {
                failures.append("seed \(seed): after \(crash ? "a crash" : "a close") not a prefix of whole batches")
            }
            let next = makeRecords("next", count: 1, timestamp: clockStart)
            if try reopened.append(makeBatch(next)).baseOffset != Offset(Int64(records.count)) { failures.append("seed \(seed): next append misplaced") }
            log.close()
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(6).joined(separator: "\n"))")
    }
}
