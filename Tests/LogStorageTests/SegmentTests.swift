import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

@Suite struct SegmentTests {
    /// The base offsets named by the `.log` files of a partition, checking that every file in it
    /// is a 20-digit segment file.
    static func segmentFiles(_ disk: SimulatedDisk, _ topic: String, _ partition: Int = 0) throws -> [Int64] {
        let names = try disk.listDirectory(partitionDirectory(topic, partition))
        var bases: [Int64] = []
        for name in names {
            let parts = name.split(separator: ".", maxSplits: 1)
            #expect(parts.count == 2 && ["log", "index", "timeindex", "txnindex", "snapshot"].contains(String(parts[1])), "unexpected file \(name)")
            #expect(parts[0].count == 20 && parts[0].allSatisfy(\.isNumber), "not a 20-digit segment name: \(name)")
            if parts.count == 2, parts[1] == "log", let base = Int64(parts[0]) { bases.append(base) }
        }
        return bases.sorted()
    }

    @Test func rollsBySizeWithTwentyDigitNamesAndReadsSpanSegments() throws {
        let disk = SimulatedDisk(seed: 11)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        let config = TopicConfig(segmentBytesMax: 1024, batchBytesMax: 1024, indexIntervalBytes: 100)
        let partition = try log.createTopic(topicName("t"), config: config).partition(0)
        #expect(try Self.segmentFiles(disk, "t") == [0])
        let initial = disk.fileNames(under: partitionDirectory("t")).map { lastPathComponent($0) }
        #expect(["00000000000000000000.index", "00000000000000000000.log", "00000000000000000000.timeindex"]
            .allSatisfy(initial.contains), "\(initial)")
        var batches: [[TestRecord]] = []
        for index in 0..<40 {
            let records = makeRecords("b\(index)", count: 1 + index % 4, timestamp: clockStart + Int64(index), valueBytes: 20 + (index * 29) % 150)
            try partition.append(makeBatch(records))
            batches.append(records)
        }
        let bases = partition.segmentBaseOffsets
        #expect(bases.count >= 5)
        #expect(bases.first == 0)
        #expect(zip(bases, bases.dropFirst()).allSatisfy { $0 < $1 })
        #expect(try Self.segmentFiles(disk, "t") == bases.map(\.rawValue))
        // Every segment holds at most segmentBytesMax, and each begins where the previous ended.
        for base in bases {
            let size = disk.currentContents(path: segmentPath("t", base: base.rawValue, ".log"))?.count ?? -1
            #expect(size > 0 && size <= 1024, "segment \(base) holds \(size) bytes")
            let first = try partition.read(from: base, maxBytes: 1).batches[0].header
            #expect(first.baseOffset == base)
        }
        let expected = placed(batches)
        #expect(try readAll(partition) == expected)
        #expect(try readAll(partition, maxBytes: 5_000) == expected)
        // A read that starts in one segment and runs through the next ones.
        let spanning = try partition.read(from: bases[1] + -1, maxBytes: 3_000)
        #expect(spanning.batches.count > 3)
        let touched = Set(spanning.batches.map { batch in bases.lastIndex { $0 <= batch.header.baseOffset }! })
        #expect(touched.count >= 3)

        log.close()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        let again = try reopened.partition(TopicPartition(topicName("t"), 0))
        #expect(again.segmentBaseOffsets == bases)
        #expect(try readAll(again) == expected)
        let next = makeRecords("after", count: 2, timestamp: clockStart)
        #expect(try again.append(makeBatch(next)).baseOffset == Offset(Int64(expected.count)))
    }

    @Test func rollsByAgeOnTheSimulatedClock() throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 12), clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(segmentAgeMilliseconds: 60_000)).partition(0)
        try partition.append(makeBatch(makeRecords("a", count: 2, timestamp: clockStart)))
        clock.advance(byMilliseconds: 59_999)
        try partition.append(makeBatch(makeRecords("b", count: 2, timestamp: clockStart)))
        #expect(partition.segmentBaseOffsets == [0])
        clock.advance(byMilliseconds: 1)
        try partition.append(makeBatch(makeRecords("c", count: 2, timestamp: clockStart)))
        #expect(partition.segmentBaseOffsets == [0, 4])
        // The new segment's age counts from its own first append.
        clock.advance(byMilliseconds: 59_999)
        try partition.append(makeBatch(makeRecords("d", count: 1, timestamp: clockStart)))
        #expect(partition.segmentBaseOffsets == [0, 4])
        clock.advance(byMilliseconds: 1)
        try partition.append(makeBatch(makeRecords("e", count: 1, timestamp: clockStart)))
        #expect(partition.segmentBaseOffsets == [0, 4, 7])
        // Nothing rolls an empty segment, however old.
        clock.advance(byMilliseconds: 10 * 60_000)
        try partition.rollNow()
        #expect(partition.segmentBaseOffsets == [0, 4, 7, 8])
        try partition.rollNow()
        #expect(partition.segmentBaseOffsets == [0, 4, 7, 8])
        #expect(try readAll(partition).count == 8)
    }

    /// TopicConfig: "Roll the active segment once its first record is this old." A restart must
    /// not reset that age (Kafka takes it from the first batch's timestamp on recovery).
    @Test
    func segmentAgeSurvivesARestart() throws {
        let disk = SimulatedDisk(seed: 13)
        let clock = makeClock()
        let config = TopicConfig(segmentAgeMilliseconds: 60_000)
        do {
            let log = try openLog(disk, clock: clock)
            try log.createTopic(topicName("t"), config: config).partition(0)
                .append(makeBatch(makeRecords("a", count: 2, timestamp: clockStart)))
            log.close()
        }
        clock.advance(byMilliseconds: 120_000)
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), 0))
        try partition.append(makeBatch(makeRecords("b", count: 1, timestamp: clock.now().rawValue)))
        #expect(partition.segmentBaseOffsets == [0, 2],
                "the active segment's first record is 120 s old (limit 60 s), yet it did not roll after a restart")
    }

    @Test func rollNowSealsTheSegmentDurably() throws {
        let disk = SimulatedDisk(seed: 14)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
        let first = makeRecords("a", count: 3, timestamp: clockStart)
        let second = makeRecords("b", count: 2, timestamp: clockStart + 5)
        try partition.append(makeBatch(first))
        try partition.append(makeBatch(second))
        try partition.rollNow()
        #expect(partition.segmentBaseOffsets == [0, 5])
        // Sealed: the .log and both indexes are durable, so a crash right now loses nothing.
        for suffix in [".log", ".index", ".timeindex"] {
            let path = segmentPath("t", base: 0, suffix)
            #expect(disk.durableContents(path: path) == disk.currentContents(path: path), "\(suffix) not synced by the roll")
        }
        try partition.append(makeBatch(makeRecords("c", count: 1, timestamp: clockStart)))  // unsynced, may be lost
        disk.crash()
        disk.restart()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        let again = try reopened.partition(TopicPartition(topicName("t"), 0))
        #expect(again.segmentBaseOffsets == [0, 5])
        #expect(Array(try readAll(again).prefix(5)) == placed([first, second]))
    }

    /// The index files of a sealed segment in Kafka's layouts, byte for byte.
    @Test func sealedIndexesHaveKafkasLayout() throws {
        let disk = SimulatedDisk(seed: 15)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
        // Batch max timestamps 100, 300, 200: the time index keeps only increasing maxima.
        let batches = [
            [TestRecord(key: "a", value: "1", timestamp: 90), TestRecord(key: "b", value: "2", timestamp: 100)],
            [TestRecord(key: "c", value: "3", timestamp: 300), TestRecord(key: "d", value: "4", timestamp: 250)],
            [TestRecord(key: "e", value: "5", timestamp: 200), TestRecord(key: "f", value: "6", timestamp: 150)],
        ].map { $0.map { var r = $0; r.timestamp += clockStart; return r } }
        var sizes: [Int] = []
        for batch in batches {
            let bytes = makeBatch(batch)
            sizes.append(bytes.count)
            try partition.append(bytes)
        }
        try partition.rollNow()
        func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        let expectedIndex = be(Int32(0)) + be(Int32(0)) + be(Int32(2)) + be(Int32(sizes[0]))
            + be(Int32(4)) + be(Int32(sizes[0] + sizes[1]))
        let expectedTimeIndex = be(clockStart + 100) + be(Int32(1)) + be(clockStart + 300) + be(Int32(3))
        #expect(disk.currentContents(path: segmentPath("t", base: 0, ".index")) == expectedIndex)
        #expect(disk.currentContents(path: segmentPath("t", base: 0, ".timeindex")) == expectedTimeIndex)
        #expect(disk.currentContents(path: segmentPath("t", base: 0, ".log"))?.count == sizes.reduce(0, +))
    }

    /// Batches whose offset deltas span most of 32 bits: segments roll before a relative offset
    /// would overflow, and their names keep 20 digits past 2³¹.
    @Test func offsetsPastThirtyTwoBitsRollAndKeepTwentyDigitNames() throws {
        let disk = SimulatedDisk(seed: 16)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        func wideBatch(_ tag: String) throws -> [UInt8] {
            var builder = RecordBatchBuilder()
            builder.append(key: Array(tag.utf8), value: Array("v".utf8), timestamp: Timestamp(milliseconds: clockStart))
            return try builder.build(lastOffsetDelta: Int32.max - 1)
        }
        let first = try partition.append(try wideBatch("a"))
        #expect(first.baseOffset == 0 && first.lastOffset == Offset(Int64(Int32.max) - 1))
        let second = try partition.append(makeBatch(makeRecords("b", count: 2, timestamp: clockStart)))
        #expect(second.baseOffset == Offset(Int64(Int32.max)))
        let third = try partition.append(try wideBatch("c"))
        #expect(third.baseOffset == Offset(Int64(Int32.max) + 2))
        let bases = partition.segmentBaseOffsets.map(\.rawValue)
        #expect(bases == [0, Int64(Int32.max), Int64(Int32.max) + 2])
        #expect(try Self.segmentFiles(disk, "t") == bases)
        #expect(disk.exists(segmentPath("t", base: 2_147_483_649, ".log")))
        #expect(disk.exists("\(partitionDirectory("t"))/00000000002147483649.log"))
        let expected = [PlacedRecord(offset: 0, record: TestRecord(key: "a", value: "v", timestamp: clockStart))]
            + placed([makeRecords("b", count: 2, timestamp: clockStart)], from: Int64(Int32.max))
            + [PlacedRecord(offset: Int64(Int32.max) + 2, record: TestRecord(key: "c", value: "v", timestamp: clockStart))]
        #expect(try readAll(partition) == expected)
        #expect(partition.logEndOffset == Offset(2 * Int64(Int32.max) + 2))
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        let again = try log.partition(TopicPartition(topicName("t"), 0))
        #expect(try readAll(again) == expected)
        #expect(try again.read(from: Offset(1_000_000), maxBytes: 1).batches.first?.header.baseOffset == 0)
        #expect(try again.append(makeBatch(makeRecords("d", count: 1, timestamp: clockStart))).baseOffset == Offset(2 * Int64(Int32.max) + 2))
    }
}
