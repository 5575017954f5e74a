import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// (d) A small scripted workload — open, create a topic, appends, syncs, a roll — crashed at
/// each of its mutating operations in turn.
@Suite struct CrashPointTests {
    struct Progress {
        var topicCreated = false
        /// Batches whose append returned.
        var acknowledged: [[TestRecord]] = []
        /// How many of them a sync or a roll made durable.
        var durable = 0
    }

    static let config = TopicConfig(partitionCount: 2, segmentBytesMax: 1024, batchBytesMax: 1024, indexIntervalBytes: 1)
    static let batches: [[TestRecord]] = (0..<7).map {
        makeRecords("w\($0)", count: 1 + $0 % 3, timestamp: clockStart + Int64($0), valueBytes: 150)
    }

    static func runWorkload(_ disk: SimulatedDisk, clock: SimulatedClock, progress: inout Progress) throws {
        let log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("t"), config: config).partition(1)
        progress.topicCreated = true
        for (index, batch) in batches.enumerated() {
            try partition.append(makeBatch(batch, codec: index % 2 == 0 ? .none : .lz4))
            progress.acknowledged.append(batch)
            if index == 1 || index == 4 {
                try partition.sync()
                progress.durable = progress.acknowledged.count
            }
            if index == 2 {
                try partition.rollNow()
                progress.durable = progress.acknowledged.count
            }
        }
        try partition.sync()
        progress.durable = progress.acknowledged.count
    }

    @Test func crashAtEveryOperationOfAWorkload() throws {
        let probe = SimulatedDisk(seed: 0)
        var complete = Progress()
        try Self.runWorkload(probe, clock: makeClock(), progress: &complete)
        let operationCount = probe.mutatingOperationCount
        #expect(operationCount > 40, "the workload should cross many operations, not \(operationCount)")
        #expect(complete.durable == Self.batches.count)
        var failures: [String] = []
        var outcomes: [Int: Int] = [:]  // batches visible → how many crash points
        for point in 0..<operationCount {
            let seed = UInt64(5_000 + point)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            disk.crash(afterOperations: point)
            var progress = Progress()
            let clock = makeClock()
            do {
                try Self.runWorkload(disk, clock: clock, progress: &progress)
                failures.append("point \(point): the workload finished without crashing")
                continue
            } catch {}
            let context = "crash point \(point) (seed \(seed)) at \(disk.lastCrashOperation.map(String.init(describing:)) ?? "?")"
            guard disk.isCrashed else { failures.append("\(context): failed without a crash"); continue }
            disk.restart()
            let log: LogManager
            do { log = try openLog(disk, clock: clock) } catch {
                failures.append("\(context): reopen failed: \(error)")
                continue
            }
            defer { log.close() }
            let staging = try disk.listDirectory("\(dataDirectory)/topics").filter { $0.hasPrefix(".") }
            if !staging.isEmpty { failures.append("\(context): leftovers \(staging)") }
            if !log.hasTopic(ConsumerOffsets.topicName) { failures.append("\(context): no __consumer_offsets") }
            guard log.hasTopic(topicName("t")) else {
                if progress.topicCreated { failures.append("\(context): the created topic is gone") }
                outcomes[-1, default: 0] += 1
                continue
            }
            let topic = try log.topic(topicName("t"))
            if topic.config != Self.config { failures.append("\(context): config \(topic.config)") }
            if topic.partitionCount != 2 { failures.append("\(context): \(topic.partitionCount) partitions") }
            let partition = try topic.partition(1)
            let records = try readAll(partition)
            guard let kept = wholeBatchPrefix(records, of: progress.acknowledged) else {
                failures.append("\(context): not a prefix of whole acknowledged batches: offsets \(records.map(\.offset))")
                continue
            }
            outcomes[kept, default: 0] += 1
            if kept < progress.durable { failures.append("\(context): \(kept) batches visible, \(progress.durable) were durable") }
            if try readAll(topic.partition(0)) != [] { failures.append("\(context): partition 0 is not empty") }
            let end = partition.logEndOffset
            if end != Offset(Int64(records.count)) { failures.append("\(context): log end \(end) with \(records.count) records") }
            let next = makeRecords("after", count: 1, timestamp: clockStart)
            if try partition.append(makeBatch(next)).baseOffset != end { failures.append("\(context): next append misplaced") }
            try log.offsets.commit(group: "g", offsets: [TopicPartition(topicName("t"), 1): CommittedOffset(offset: end)])
        }
        #expect(failures.isEmpty, "\(failures.count) of \(operationCount) crash points failed:\n\(failures.prefix(8).joined(separator: "\n"))")
        // The sweep saw the topic missing, and every count of surviving batches from none to all.
        #expect(outcomes[-1] != nil && (0...Self.batches.count).allSatisfy { outcomes[$0] != nil }, "outcomes \(outcomes.sorted { $0.key < $1.key })")
    }

    /// Crashes at every operation of a retention pass: the partition is a suffix of whole
    /// segments, with no orphan files.
    @Test func crashAtEveryOperationOfARetentionPass() throws {
        func build(_ disk: SimulatedDisk, _ clock: SimulatedClock) throws -> (LogManager, [PlacedRecord], [Offset]) {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("r"), config: TopicConfig(retentionMilliseconds: 60_000)).partition(0)
            var batches: [[TestRecord]] = []
            for index in 0..<8 {
                let records = makeRecords("r\(index)", count: 2, timestamp: clockStart + Int64(index))
                try partition.append(makeBatch(records))
                batches.append(records)
                if index % 2 == 1 { try partition.rollNow() }
            }
            return (log, placed(batches), partition.segmentBaseOffsets)
        }
        let probeClock = makeClock()
        let probe = SimulatedDisk(seed: 1)
        let (probeLog, all, bases) = try build(probe, probeClock)
        #expect(bases == [0, 4, 8, 12, 16])
        probeClock.advance(byMilliseconds: 120_000)
        let start = probe.mutatingOperationCount
        #expect(try probeLog.partition(TopicPartition(topicName("r"), 0)).enforceRetention() == 4)
        let operationCount = probe.mutatingOperationCount - start
        probeLog.close()
        var failures: [String] = []
        for point in 0..<operationCount {
            let disk = SimulatedDisk(seed: UInt64(point))
            let clock = makeClock()
            let (log, _, _) = try build(disk, clock)
            clock.advance(byMilliseconds: 120_000)
            disk.crash(afterOperations: point)
            _ = logError { try log.partition(TopicPartition(topicName("r"), 0)).enforceRetention() }
            disk.restart()
            let context = "crash point \(point) at \(disk.lastCrashOperation.map(String.init(describing:)) ?? "?")"
            // Without the clock advanced, the open's maintenance deletes nothing more.
            let reopened = try openLog(disk, clock: makeClock())
            defer { reopened.close() }
            let partition = try reopened.partition(TopicPartition(topicName("r"), 0))
            let start = partition.logStartOffset
            if !bases.contains(start) { failures.append("\(context): log start \(start) is not a segment base") }
            if try readAll(partition) != all.filter({ $0.offset >= start.rawValue }) { failures.append("\(context): not a suffix") }
            let names = try disk.listDirectory(partitionDirectory("r"))
            let logs = Set(names.filter { $0.hasSuffix(".log") }.map { $0.prefix(20) })
            let orphans = names.filter { ($0.hasSuffix("index") || $0.hasSuffix(".timeindex")) && !logs.contains($0.prefix(20)) }
            if !orphans.isEmpty { failures.append("\(context): orphan files \(orphans)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }
}
