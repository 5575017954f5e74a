import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

@Suite struct RetentionTests {
    static let events = TopicPartition(topicName("t"), 0)

    /// Three segments whose records are stamped `clockStart + stamps[i]`, the last active.
    static func build(_ log: LogManager, config: TopicConfig, stamps: [Int64]) throws -> [PlacedRecord] {
        let partition = try log.createTopic(topicName("t"), config: config).partition(0)
        var batches: [[TestRecord]] = []
        for (index, stamp) in stamps.enumerated() {
            for part in 0..<2 {
                let records = makeRecords("s\(index).\(part)", count: 2, timestamp: clockStart + stamp)
                try partition.append(makeBatch(records))
                batches.append(records)
            }
            if index < stamps.count - 1 { try partition.rollNow() }
        }
        return placed(batches)
    }

    @Test func deletesWholeSegmentsOlderThanTheRetentionTime() throws {
        let disk = SimulatedDisk(seed: 71)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let all = try Self.build(log, config: TopicConfig(retentionMilliseconds: 10_000), stamps: [0, 5_000, 6_000])
        let partition = try log.partition(Self.events)
        #expect(partition.segmentBaseOffsets == [0, 4, 8])
        #expect(try partition.enforceRetention() == 0)

        clock.advance(byMilliseconds: 12_000)   // segment 0's newest record is 12 s old, segment 4's 7 s
        let capture = try partition.enforceRetention()
        #expect(capture == 1)
        #expect(partition.segmentBaseOffsets == [4, 8])
        #expect(partition.logStartOffset == 4)
        #expect(!disk.exists(segmentPath("t", base: 0, ".log")) && !disk.exists(segmentPath("t", base: 0, ".index"))
                && !disk.exists(segmentPath("t", base: 0, ".timeindex")))
        let error = logError { try partition.read(from: 0, maxBytes: 1 << 20) }
        #expect(error?.code == .offsetOutOfRange)
        #expect(error?.message.contains("earliest 4") == true)
        #expect(try readAll(partition) == all.filter { $0.offset >= 4 })
        #expect(try partition.offset(forTimestamp: Timestamp(milliseconds: 0)) == 4)

        // However old, the active segment stays.
        clock.advance(byMilliseconds: 1_000_000)
        #expect(try partition.enforceRetention() == 1)
        #expect(partition.segmentBaseOffsets == [8])
        #expect(partition.logStartOffset == 8 && partition.logEndOffset == 12)
        #expect(try readAll(partition) == all.filter { $0.offset >= 8 })
        #expect(try partition.enforceRetention() == 0)
        #expect(try partition.append(makeBatch(makeRecords("n", count: 1, timestamp: clock.now().rawValue))).baseOffset == 12)
    }

    @Test func retentionByTimeIsAppliedOnOpenAndSticks() throws {
        let disk = SimulatedDisk(seed: 72)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        let all = try Self.build(log, config: TopicConfig(retentionMilliseconds: 10_000), stamps: [0, 5_000, 6_000])
        log.close()
        clock.advance(byMilliseconds: 14_000)
        log = try openLog(disk, clock: clock)
        #expect(try log.partition(Self.events).logStartOffset == 4)
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(partition.logStartOffset == 4)
        #expect(try readAll(partition) == all.filter { $0.offset >= 4 })
    }

    /// A segment is old only when its newest record is: one fresh record keeps it.
    @Test func aSegmentIsKeptWhileItsNewestRecordIsYoung() throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 73), clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(retentionMilliseconds: 10_000)).partition(0)
        try partition.append(makeBatch(makeRecords("old", count: 2, timestamp: clockStart - 100_000)))
        try partition.append(makeBatch(makeRecords("young", count: 1, timestamp: clockStart + 5_000)))
        try partition.rollNow()
        try partition.append(makeBatch(makeRecords("active", count: 1, timestamp: clockStart)))
        clock.advance(byMilliseconds: 14_000)
        #expect(try partition.enforceRetention() == 0)
        clock.advance(byMilliseconds: 2_000)
        #expect(try partition.enforceRetention() == 1)
        #expect(partition.logStartOffset == 3)
    }

    @Test(arguments: [Int64(1), 700, 1_500, 2_500, 100_000])
    func deletesTheOldestWholeSegmentsOverTheRetentionSize(retentionBytes: Int64) throws {
        let disk = SimulatedDisk(seed: 74)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let config = TopicConfig(segmentBytesMax: 1024, retentionMilliseconds: -1, retentionBytes: retentionBytes, batchBytesMax: 1024)
        let partition = try log.createTopic(topicName("t"), config: config).partition(0)
        var batches: [[TestRecord]] = []
        var everyBase = Set<Offset>()
        for index in 0..<30 {
            let records = makeRecords("z\(index)", count: 2, timestamp: clockStart, valueBytes: 60)
            try partition.append(makeBatch(records))
            batches.append(records)
            everyBase.formUnion(partition.segmentBaseOffsets)
        }
        _ = try partition.enforceRetention()
        let bases = partition.segmentBaseOffsets
        let sizes = bases.map { Int64(disk.currentContents(path: segmentPath("t", base: $0.rawValue, ".log"))!.count) }
        #expect(everyBase.count > 5)
        #expect(everyBase.contains(partition.logStartOffset), "only whole segments go")
        #expect(partition.logEndOffset == 60)
        #expect(try readAll(partition) == placed(batches).filter { $0.offset >= partition.logStartOffset.rawValue })
        #expect(sizes.reduce(0, +) == partition.sizeBytes)
        if bases.count > 1 {
            // Deleting one more would bring the partition below the limit.
            #expect(partition.sizeBytes - sizes[0] < retentionBytes)
        }
        if retentionBytes >= 100_000 { #expect(partition.logStartOffset == 0) }
        if retentionBytes == 1 { #expect(bases.count == 1, "only the active segment is left") }
        // Whatever is left of the deleted segments is gone from the disk.
        let logs = try disk.listDirectory(partitionDirectory("t")).filter { $0.hasSuffix(".log") }
        #expect(logs.count == bases.count)
    }

    @Test(arguments: OffsetResetPolicy.allCases)
    func consumersBehindTheLogStartAreResetByPolicy(policy: OffsetResetPolicy) throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 75), clock: clock)
        defer { log.close() }
        let all = try Self.build(log, config: TopicConfig(retentionMilliseconds: 10_000), stamps: [0, 5_000, 6_000])
        var config = ConsumerConfig(groupID: "g")
        config.autoOffsetReset = policy
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign([Self.events])
        try consumer.seek(Self.events, to: .offset(1))
        clock.advance(byMilliseconds: 12_000)
        try log.maintain()
        #expect(try log.partition(Self.events).logStartOffset == 4)
        switch policy {
        case .earliest:
            let records = try consumer.poll()
            #expect(records.map(\.offset.rawValue) == all.filter { $0.offset >= 4 }.map(\.offset))
        case .latest:
            #expect(try consumer.poll().isEmpty)
            #expect(try consumer.position(Self.events) == 12)
            try log.partition(Self.events).append(makeBatch(makeRecords("new", count: 1, timestamp: clock.now().rawValue)))
            #expect(try consumer.poll().map(\.offset) == [12])
        case .none:
            let error = logError { try consumer.poll() }
            #expect(error?.code == .offsetOutOfRange)
            #expect(error?.message.contains("log start 4") == true, "\(error?.message ?? "")")
        }
        // A committed offset that retention passed is reset the same way by a new member.
        try log.offsets.commit(group: "g", offsets: [Self.events: CommittedOffset(offset: 2)])
        let fresh = LogConsumer(log: log, config: config)
        try fresh.assign([Self.events])
        switch policy {
        case .earliest: #expect(try fresh.position(Self.events) == 4)
        case .latest: #expect(try fresh.position(Self.events) >= 12)
        case .none: #expect(logErrorCode { try fresh.position(Self.events) } == .offsetOutOfRange)
        }
    }

    @Test func compactedTopicsIgnoreDeleteRetention() throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 76), clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(
            topicName("c"), config: TopicConfig(retentionMilliseconds: 1_000, retentionBytes: 64, cleanupPolicy: .compact)
        ).partition(0)
        try partition.append(makeBatch([TestRecord(key: "a", value: "1", timestamp: clockStart)]))
        try partition.rollNow()
        try partition.append(makeBatch([TestRecord(key: "b", value: "1", timestamp: clockStart)]))
        clock.advance(byMilliseconds: 100_000)
        #expect(try partition.enforceRetention() == 0)
        try log.maintain()
        #expect(partition.logStartOffset == 0)
        #expect(try readAll(partition).count == 2)
    }

    /// A sealed segment whose `.timeindex` went missing must not look older than it is: its
    /// newest record (in its middle here) keeps it within the retention time.
    @Test
    func aMissingTimeIndexDoesNotShortenRetention() throws {
        let disk = SimulatedDisk(seed: 77)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(
            topicName("t"), config: TopicConfig(retentionMilliseconds: 10_000, indexIntervalBytes: 1)).partition(0)
        for stamp: Int64 in [1_000, 9_000, 2_000, 3_000] {
            try partition.append(makeBatch(makeRecords("s\(stamp)", count: 2, timestamp: clockStart + stamp)))
        }
        try partition.rollNow()
        try partition.append(makeBatch(makeRecords("active", count: 1, timestamp: clockStart + 20_000)))
        log.close()
        try disk.removeFile(segmentPath("t", base: 0, ".timeindex"))
        clock.advance(byMilliseconds: 15_000)   // the newest record of segment 0 (+9 000) is 6 s old
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        let reopened = try log.partition(Self.events)
        #expect(try reopened.enforceRetention() == 0)
        #expect(reopened.logStartOffset == 0, "segment 0 holds a record 6 s old yet was deleted under a 10 s retention")
    }
}
