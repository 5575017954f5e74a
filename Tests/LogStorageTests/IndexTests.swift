import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// The first offset whose record's timestamp is ≥ `timestamp` — what `offset(forTimestamp:)`
/// must answer.
func referenceOffset(forTimestamp timestamp: Int64, in records: [PlacedRecord]) -> Int64? {
    records.first { $0.record.timestamp >= timestamp }?.offset
}

/// Interesting lookup targets for `records`: every timestamp, its neighbours, and the outside.
func lookupTargets(_ records: [PlacedRecord]) -> [Int64] {
    let stamps = Set(records.map(\.record.timestamp))
    var targets = Set<Int64>()
    for stamp in stamps { targets.formUnion([stamp - 1, stamp, stamp + 1]) }
    if let low = stamps.min(), let high = stamps.max() { targets.formUnion([low - 1_000, high + 1_000, Int64.min + 1, Int64.max]) }
    return targets.sorted()
}

/// Checks `offset(forTimestamp:)` against the reference for every interesting target.
func checkTimestampLookups(_ partition: PartitionLog, _ records: [PlacedRecord], _ context: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    var failures: [String] = []
    for target in lookupTargets(records) {
        let found = try partition.offset(forTimestamp: Timestamp(milliseconds: target))?.rawValue
        let expected = referenceOffset(forTimestamp: target, in: records)
        if found != expected { failures.append("ts \(target): got \(found.map(String.init) ?? "nil"), expected \(expected.map(String.init) ?? "nil")") }
    }
    #expect(failures.isEmpty, "\(context): \(failures.prefix(5).joined(separator: "; "))", sourceLocation: sourceLocation)
}

/// Reads from every offset and checks that the first batch returned holds it, with the
/// expected records.
func checkReadsFromEveryOffset(_ partition: PartitionLog, _ records: [PlacedRecord], _ context: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
    var failures: [String] = []
    for expected in records {
        do {
            let fetched = try partition.read(from: Offset(expected.offset), maxBytes: 1)
            guard let batch = fetched.batches.first else { failures.append("\(expected.offset): no batch"); continue }
            let got = try batch.records().first { $0.offset.rawValue == expected.offset }
            if got.map({ PlacedRecord(offset: $0.offset.rawValue, record: TestRecord($0)) }) != expected {
                failures.append("\(expected.offset): batch \(batch.header.baseOffset)...\(batch.header.lastOffset) lacks \(expected)")
            }
        } catch {
            failures.append("\(expected.offset): \(error)")
        }
    }
    #expect(failures.isEmpty, "\(context): \(failures.count) bad reads, e.g. \(failures.prefix(3).joined(separator: " | "))",
            sourceLocation: sourceLocation)
}

@Suite struct IndexTests {
    /// Twelve batches of three records, timestamps not in order, in three segments (the last
    /// active), one offset-index entry per batch.
    static let batchStamps: [Int64] = [1_000, 9_000, 2_000, 3_000, 4_000, 12_000, 5_000, 6_000, 7_000, 15_000, 8_000, 10_000]

    static func buildLog(_ disk: SimulatedDisk, clock: SimulatedClock) throws -> [PlacedRecord] {
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
        var batches: [[TestRecord]] = []
        for (index, stamp) in batchStamps.enumerated() {
            let records = [0, 2, 1].map { delta in
                TestRecord(key: "k\(index)-\(delta)", value: "v\(index)-\(delta)", timestamp: clockStart + stamp + Int64(delta))
            }
            try partition.append(makeBatch(records))
            batches.append(records)
            if index == 3 || index == 7 { try partition.rollNow() }
        }
        #expect(partition.segmentBaseOffsets == [0, 12, 24])
        return placed(batches)
    }

    @Test func timestampLookupsBeforeInsideBetweenAndAfterTheData() throws {
        let disk = SimulatedDisk(seed: 21)
        let clock = makeClock()
        let records = try Self.buildLog(disk, clock: clock)
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), 0))
        func lookup(_ stamp: Int64) throws -> Int64? { try partition.offset(forTimestamp: Timestamp(milliseconds: clockStart + stamp))?.rawValue }
        #expect(try lookup(-5_000) == 0)            // before everything
        #expect(try lookup(1_000) == 0)             // the very first record
        #expect(try lookup(1_001) == 1)             // inside a batch: its records are at +0, +2, +1
        #expect(try lookup(1_002) == 1)
        #expect(try lookup(2_001) == 3)             // the 9 000 batch comes first by offset
        #expect(try lookup(1_003) == 3)             // between batches: the 9 000 batch is next by offset
        #expect(try lookup(9_003) == 15)            // past segment 0's maximum: in segment 1
        #expect(try lookup(12_003) == 27)           // past segment 1's maximum: in the active segment
        #expect(try lookup(15_002) == 28)
        #expect(try lookup(15_003) == nil)          // after everything
        try checkTimestampLookups(partition, records, "fixed scenario")
    }

    /// Removing one or both index files of a sealed segment: the segment's indexes are rebuilt
    /// from the `.log`, byte for byte as they were, and reads and lookups stay correct.
    @Test(arguments: [[".index"], [".index", ".timeindex"]])
    func missingIndexesAreRebuilt(suffixes: [String]) throws {
        try Self.checkMissingIndexesAreRebuilt(suffixes)
    }

    @Test
    func aMissingTimeIndexAloneIsRebuilt() throws {
        try Self.checkMissingIndexesAreRebuilt([".timeindex"])
    }

    static func checkMissingIndexesAreRebuilt(_ suffixes: [String]) throws {
        let disk = SimulatedDisk(seed: 22)
        let clock = makeClock()
        let records = try Self.buildLog(disk, clock: clock)
        var original: [String: [UInt8]] = [:]
        for base: Int64 in [0, 12] {
            for suffix in [".index", ".timeindex"] {
                let path = segmentPath("t", base: base, suffix)
                original[path] = disk.currentContents(path: path)
                if suffixes.contains(suffix) { try disk.removeFile(path) }
            }
        }
        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), 0))
        checkReadsFromEveryOffset(partition, records, "after removing \(suffixes)")
        try checkTimestampLookups(partition, records, "after removing \(suffixes)")
        for (path, bytes) in original.sorted(by: { $0.key < $1.key }) {
            #expect(disk.currentContents(path: path) == bytes, "\(path) was not rebuilt as it was")
        }
        #expect(capture.contains("rebuilt missing or damaged indexes"))
    }

    enum Damage: String, CaseIterable, Sendable {
        case indexPartialEntry, indexPositionPastTheLog, indexOffsetsOutOfOrder
        case indexPositionOffABatchBoundary, indexRelativeOffsetShifted
        case timeIndexPartialEntry, timeIndexOutOfOrder, timeIndexOffsetPastTheSegment, timeIndexEmptied
    }

    /// Damage to the indexes of a sealed segment (bad sectors, a torn rewrite): detected and
    /// rebuilt, never served.
    @Test(arguments: Damage.allCases.filter { ![.indexPositionOffABatchBoundary, .timeIndexEmptied].contains($0) })
    func damagedIndexesAreRebuilt(damage: Damage) throws {
        try Self.checkDamagedIndexesAreRebuilt(damage)
    }

    @Test
    func anIndexEntryOffABatchBoundaryIsRebuilt() throws {
        try Self.checkDamagedIndexesAreRebuilt(.indexPositionOffABatchBoundary)
    }

    @Test
    func anEmptiedTimeIndexIsRebuilt() throws {
        try Self.checkDamagedIndexesAreRebuilt(.timeIndexEmptied)
    }

    static func checkDamagedIndexesAreRebuilt(_ damage: Damage) throws {
        let disk = SimulatedDisk(seed: 23)
        let clock = makeClock()
        let records = try Self.buildLog(disk, clock: clock)
        let index = segmentPath("t", base: 0, ".index")        // entries (0,0) (3,p1) (6,p2) (9,p3)
        let timeIndex = segmentPath("t", base: 0, ".timeindex") // entries (1 002, 2) (9 002, 5)
        let originalIndex = disk.currentContents(path: index)
        let originalTimeIndex = disk.currentContents(path: timeIndex)
        #expect(originalIndex?.count == 32 && originalTimeIndex?.count == 24)
        func cut(_ path: String, by bytes: Int64) throws {
            let file = try disk.openFile(path, mode: .readWrite)
            try file.truncate(to: try file.size() - bytes)
            try file.sync()
            file.close()
        }
        switch damage {
        case .indexPartialEntry: try cut(index, by: 3)
        case .indexPositionPastTheLog: disk.corruptByte(path: index, position: 8 + 4, xor: 0x70)
        case .indexOffsetsOutOfOrder: disk.corruptByte(path: index, position: 8, xor: 0x40)
        case .indexPositionOffABatchBoundary: disk.corruptByte(path: index, position: 16 + 7, xor: 0x01)
        case .indexRelativeOffsetShifted: disk.corruptByte(path: index, position: 24 + 3, xor: 0x01)  // 9 → 8
        case .timeIndexPartialEntry: try cut(timeIndex, by: 5)
        case .timeIndexOutOfOrder: disk.corruptByte(path: timeIndex, position: 0, xor: 0x40)
        case .timeIndexOffsetPastTheSegment: disk.corruptByte(path: timeIndex, position: 12 + 8, xor: 0x10)
        case .timeIndexEmptied: try cut(timeIndex, by: 24)
        }
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), 0))
        checkReadsFromEveryOffset(partition, records, "\(damage)")
        try checkTimestampLookups(partition, records, "\(damage)")
        #expect(disk.currentContents(path: index) == originalIndex, "\(damage): .index not rebuilt")
        #expect(disk.currentContents(path: timeIndex) == originalTimeIndex, "\(damage): .timeindex not rebuilt")
    }

    /// Random logs (timestamps out of order, random index intervals and segment sizes):
    /// `offset(forTimestamp:)` and reads agree with a model live, after a reopen, and after
    /// every index file of the sealed segments is removed.
    @Test(arguments: sweepSeeds(24))
    func timestampLookupsMatchTheModel(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let disk = SimulatedDisk(seed: seed)
        let clock = makeClock()
        let interval = random.pick([1, 90, 700, 4096])
        let segmentBytes = random.pick([1024, 2048, 8192])
        var log = try openLog(disk, clock: clock)
        var partition = try log.createTopic(
            topicName("t"), config: TopicConfig(segmentBytesMax: segmentBytes, batchBytesMax: 1024, indexIntervalBytes: interval)
        ).partition(0)
        var batches: [[TestRecord]] = []
        for index in 0..<random.int(1...40) {
            let records = (0..<random.int(1...5)).map { n in
                TestRecord(key: "k\(index).\(n)", value: String(repeating: "v", count: random.int(0...60)),
                           timestamp: clockStart + Int64(random.int(0...5_000)))
            }
            try partition.append(makeBatch(records, codec: random.pick([.none, .lz4])))
            batches.append(records)
            if random.int(0...9) == 0 { try partition.rollNow() }
        }
        let records = placed(batches)
        let context = "seed \(seed) (interval \(interval), segment \(segmentBytes))"
        try checkTimestampLookups(partition, records, "\(context), live")
        checkReadsFromEveryOffset(partition, records, "\(context), live")
        let bases = partition.segmentBaseOffsets
        log.close()

        log = try openLog(disk, clock: clock)
        partition = try log.partition(TopicPartition(topicName("t"), 0))
        try checkTimestampLookups(partition, records, "\(context), reopened")
        checkReadsFromEveryOffset(partition, records, "\(context), reopened")
        log.close()

        for base in bases.dropLast() {
            try disk.removeFile(segmentPath("t", base: base.rawValue, ".index"))
            try disk.removeFile(segmentPath("t", base: base.rawValue, ".timeindex"))
        }
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        partition = try log.partition(TopicPartition(topicName("t"), 0))
        #expect(partition.segmentBaseOffsets == bases, "\(context)")
        try checkTimestampLookups(partition, records, "\(context), indexes removed")
        checkReadsFromEveryOffset(partition, records, "\(context), indexes removed")
    }
}
