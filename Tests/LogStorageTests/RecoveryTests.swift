import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// The number of whole batches of `batches` that `records` holds, when `records` is exactly
/// such a prefix; nil otherwise.
func wholeBatchPrefix(_ records: [PlacedRecord], of batches: [[TestRecord]]) -> Int? {
    var count = 0
    var taken = 0
    while taken < batches.count && count + batches[taken].count <= records.count {
        count += batches[taken].count
        taken += 1
    }
    return records == placed(Array(batches.prefix(taken))) ? taken : nil
}

@Suite struct RecoveryTests {
    static let events = TopicPartition(topicName("t"), 0)

    /// (a) Appends, some synced, then power loss with torn writes: the partition holds a prefix
    /// of whole batches, at contiguous offsets, at least everything synced; appends continue at
    /// its end.
    @Test func crashKeepsAPrefixOfWholeBatchesAndEverythingSynced() throws {
        var failures: [String] = []
        for seed in sweepSeeds(200) {
            var random = SeededRandom(seed: seed &* 0x9E37_79B9)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let clock = makeClock()
            let log = try openLog(disk, clock: clock)
            let segmentBytes = random.pick([1024, 4096, 1 << 20])
            let partition = try log.createTopic(
                topicName("t"),
                config: TopicConfig(segmentBytesMax: segmentBytes, batchBytesMax: 1024, indexIntervalBytes: random.pick([1, 256, 4096]))
            ).partition(0)
            var batches: [[TestRecord]] = []
            var durable = 0
            for index in 0..<random.int(1...25) {
                let records = makeRecords("s\(seed)b\(index)", count: random.int(1...5), timestamp: clockStart + Int64(index),
                                          valueBytes: random.int(1...120))
                try partition.append(makeBatch(records, codec: random.pick([.none, .lz4, .zstd])))
                batches.append(records)
                switch random.int(0...9) {
                case 0, 1: try partition.sync(); durable = batches.count
                case 2: try partition.rollNow(); durable = batches.count
                default: break
                }
            }
            disk.crash()
            disk.restart()
            let reopened = try openLog(disk, clock: clock)
            defer { reopened.close() }
            let recovered = try reopened.partition(Self.events)
            let records = try readAll(recovered)
            guard let kept = wholeBatchPrefix(records, of: batches) else {
                failures.append("seed \(seed): not a prefix of whole batches: \(records.count) records, \(records.prefix(3))…")
                continue
            }
            if kept < durable { failures.append("seed \(seed): lost synced data: \(kept) batches kept, \(durable) synced") }
            let end = Int64(records.count)
            if recovered.logEndOffset != Offset(end) || recovered.logStartOffset != 0 {
                failures.append("seed \(seed): bounds \(recovered.logStartOffset)..<\(recovered.logEndOffset), \(end) records")
            }
            let next = makeRecords("after", count: 2, timestamp: clockStart)
            let placedAt = try recovered.append(makeBatch(next))
            if placedAt.baseOffset != Offset(end) { failures.append("seed \(seed): next append at \(placedAt.baseOffset), expected \(end)") }
            if try readAll(recovered) != records + placed([next], from: end) { failures.append("seed \(seed): append after recovery misread") }
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds: \(failures.prefix(5).joined(separator: "\n"))")
    }

    /// (b) A torn last batch is cut off on open, logged, and later appends continue at the right
    /// offset.
    @Test(arguments: [1, 11, 12, 60, 61, 62, -2, -1])
    func tornTailIsTruncatedAndLogged(keptBytes: Int) throws {
        let disk = SimulatedDisk(seed: 31)
        let clock = makeClock()
        let batches = (0..<3).map { makeRecords("b\($0)", count: 3, timestamp: clockStart) }
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            for batch in batches { try partition.append(makeBatch(batch)) }
            try partition.sync()
            log.close()
        }
        let path = segmentPath("t", base: 0, ".log")
        let goodSize = Int64(disk.currentContents(path: path)!.count)
        var torn = makeBatch(makeRecords("torn", count: 4, timestamp: clockStart, valueBytes: 100))
        RecordBatch.setBaseOffset(9, in: &torn)
        let kept = keptBytes > 0 ? keptBytes : torn.count + keptBytes  // -1: all but the last byte
        let file = try disk.openFile(path, mode: .readWrite)
        try file.write(Array(torn.prefix(kept)), at: goodSize)
        try file.sync()
        file.close()

        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        let warning = capture.entries.first { $0.message.contains("truncated a torn tail") }
        #expect(warning != nil, "the truncation was not logged")
        #expect(warning?.metadata["bytes"] == "\(kept)")
        #expect(warning?.metadata["partition"] == "t/0")
        #expect(Int64(disk.currentContents(path: path)!.count) == goodSize)
        #expect(disk.durableContents(path: path)?.count == Int(goodSize), "the truncation must be durable")
        #expect(partition.logEndOffset == 9)
        #expect(try readAll(partition) == placed(batches))
        let next = makeRecords("next", count: 2, timestamp: clockStart)
        #expect(try partition.append(makeBatch(next)).baseOffset == 9)
        #expect(try readAll(partition) == placed(batches + [next]))
    }

    /// A whole, valid batch whose offsets go back (a stale rewrite) ends the valid log.
    @Test func batchGoingBackInOffsetsIsCut() throws {
        let disk = SimulatedDisk(seed: 32)
        let clock = makeClock()
        let batches = (0..<3).map { makeRecords("b\($0)", count: 2, timestamp: clockStart) }
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            for batch in batches { try partition.append(makeBatch(batch)) }
            log.close()
        }
        let path = segmentPath("t", base: 0, ".log")
        let bytes = disk.currentContents(path: path)!
        let first = makeBatch(batches[0])  // base offset 0 again
        let file = try disk.openFile(path, mode: .readWrite)
        try file.write(first, at: Int64(bytes.count))
        try file.sync()
        file.close()
        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(partition.logEndOffset == 6)
        #expect(try readAll(partition) == placed(batches))
        #expect(disk.currentContents(path: path) == bytes)
        #expect(capture.contains("truncated a torn tail"))
    }

    /// (c) A bit flipped in the middle of the active segment, valid batches after it: the open
    /// succeeds and says so, reads of the damaged batch fail naming partition, offset and file
    /// position, reads around it work, appends continue after the log end.
    @Test func bitFlipInTheMiddleOfTheActiveSegment() throws {
        try Self.checkBitFlipInTheMiddleOfTheActiveSegment(indexIntervalBytes: 1)
    }

    /// The same with a sparse offset index: no entry after the damaged batch.
    @Test
    func readsPastACorruptBatchWorkWithASparseIndex() throws {
        try Self.checkBitFlipInTheMiddleOfTheActiveSegment(indexIntervalBytes: 4096)
    }

    static func checkBitFlipInTheMiddleOfTheActiveSegment(indexIntervalBytes: Int) throws {
        let disk = SimulatedDisk(seed: 33)
        let clock = makeClock()
        let batches = (0..<10).map { makeRecords("b\($0)", count: 2, timestamp: clockStart + Int64($0)) }
        var positions: [Int64] = []
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: indexIntervalBytes)).partition(0)
            var position: Int64 = 0
            for batch in batches {
                let bytes = makeBatch(batch)
                positions.append(position)
                position += Int64(bytes.count)
                try partition.append(bytes)
            }
            // A crash, so that the open recovers the active segment (a clean open would not scan
            // it, and the damage would show at the first read only).
            try partition.sync()
            disk.crash()
            disk.restart()
        }
        let path = segmentPath("t", base: 0, ".log")
        disk.corruptByte(path: path, position: positions[4] + 70, xor: 0x10)  // inside batch 4's records

        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(capture.contains("corrupt batch in the middle of a segment"))
        #expect(partition.logEndOffset == 20)
        for offset: Int64 in [8, 9] {
            let error = logError { try partition.read(from: Offset(offset), maxBytes: 1 << 20) }
            #expect(error?.code == .corruptBatch, "read from \(offset)")
            let message = error?.message ?? ""
            #expect(message.contains("t/0") && message.contains("offset 8") && message.contains("position \(positions[4])")
                    && message.contains(path), "\(message)")
        }
        // Before it: whole batches up to the damage.
        let before = try partition.read(from: 0, maxBytes: 1 << 20)
        #expect(before.batches.map(\.header.baseOffset) == [0, 2, 4, 6])
        // After it: every later offset reads.
        for offset in Int64(10)..<20 {
            let result = Result { try partition.read(from: Offset(offset), maxBytes: 1 << 20) }
            switch result {
            case .success(let fetched):
                #expect(fetched.batches.first?.header.baseOffset == Offset(offset / 2 * 2), "read from \(offset)")
            case .failure(let error):
                Issue.record("read from \(offset), past the damaged batch 8...9, failed: \(error)")
            }
        }
        #expect(try readAll(partition, from: 10) == placed(Array(batches[5...]), from: 10))
        #expect(try partition.append(makeBatch(makeRecords("next", count: 1, timestamp: clockStart))).baseOffset == 20)
    }

    /// Issue 18.1: one flipped bit in the `batchLength` field of a batch in the middle of the
    /// active segment (longer than the rest of the file, a few bytes off, or negative). The
    /// length cannot be followed, yet valid batches follow: the batch is reported as damage with
    /// its position and everything after it is kept, as for a flip anywhere else. After a crash
    /// the open recovers the segment and reports the damage; after a clean close it does not scan
    /// the segment, and the first read of the damaged batch reports it.
    static let lengthFieldFlips: [(byte: Int64, xor: UInt8)] = [(10, 0x10), (11, 0x08), (11, 0x01), (8, 0x80), (9, 0x40)]

    @Test(arguments: lengthFieldFlips)
    func damagedLengthFieldInTheActiveSegmentKeepsWhatFollows(byte: Int64, xor: UInt8) throws {
        for closedCleanly in [false, true] { try checkDamagedLengthField(byte: byte, xor: xor, closedCleanly: closedCleanly) }
    }

    /// Issue 18.1, the read after the damage: with a sparse offset index (entries at batches 0
    /// and 7, none between the damaged batch 4 and the offsets asked for; the entry after the
    /// damage keeps a clean open from rebuilding the index) a read past the damaged batch scans
    /// from the entry before it, meets the damage, and must resume at the next valid batch.
    @Test(arguments: lengthFieldFlips)
    func readPastDamageWithNoIndexEntryBetween(byte: Int64, xor: UInt8) throws {
        for closedCleanly in [false, true] {
            try checkDamagedLengthField(byte: byte, xor: xor, closedCleanly: closedCleanly, indexIntervalBytes: 850)
        }
    }

    func checkDamagedLengthField(byte: Int64, xor: UInt8, closedCleanly: Bool, indexIntervalBytes: Int = 1) throws {
        let disk = SimulatedDisk(seed: 37)
        let clock = makeClock()
        let batches = (0..<10).map { makeRecords("b\($0)", count: 2, timestamp: clockStart + Int64($0), valueBytes: 60) }
        var positions: [Int64] = []
        do {
            let log = try openLog(disk, clock: clock)
            let config = TopicConfig(compression: .lz4, indexIntervalBytes: indexIntervalBytes)
            let partition = try log.createTopic(topicName("t"), config: config).partition(0)
            for batch in batches {
                positions.append(Int64(disk.currentContents(path: segmentPath("t", base: 0, ".log"))!.count))
                try partition.append(makeBatch(batch, codec: .lz4))
            }
            try partition.sync()
            if closedCleanly {
                log.close()
            } else {
                disk.crash()
                disk.restart()
            }
        }
        let path = segmentPath("t", base: 0, ".log")
        let size = disk.currentContents(path: path)!.count
        disk.corruptByte(path: path, position: positions[4] + byte, xor: xor)

        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(disk.currentContents(path: path)?.count == size, "valid batches after the damage were cut off")
        #expect(!capture.contains("truncated a torn tail"))
        if !closedCleanly {
            let report = capture.entries.first { $0.message.contains("corrupt batch in the middle of a segment") }
            #expect(report?.metadata["position"] == "\(positions[4])", "\(capture.entries.map(\.message))")
        }
        #expect(partition.logEndOffset == 20)
        let error = logError { try partition.read(from: 8, maxBytes: 1 << 20) }
        #expect(error?.code == .corruptBatch)
        let message = error?.message ?? ""
        #expect(message.contains("t/0") && message.contains("offset 8") && message.contains("position \(positions[4])"), "\(message)")
        #expect(try partition.read(from: 0, maxBytes: 1 << 20).batches.map(\.header.baseOffset) == [0, 2, 4, 6])
        #expect(try readAll(partition, from: 10) == placed(Array(batches[5...]), from: 10))
        #expect(try readAll(partition, from: 13) == placed(Array(batches[6...]), from: 12).filter { $0.offset >= 13 })
        #expect(logError { try partition.read(from: 9, maxBytes: 1 << 20) }?.code == .corruptBatch, "offset 9 is in the damaged batch")
        #expect(try partition.append(makeBatch(makeRecords("next", count: 1, timestamp: clockStart))).baseOffset == 20)
    }

    /// Damage inside a sealed segment: the damaged batch fails to read, the other segments read.
    @Test func bitFlipInASealedSegment() throws {
        let disk = SimulatedDisk(seed: 34)
        let clock = makeClock()
        let batches = (0..<6).map { makeRecords("b\($0)", count: 2, timestamp: clockStart) }
        var secondPosition: Int64 = 0
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
            for (index, batch) in batches.enumerated() {
                let bytes = makeBatch(batch)
                if index == 1 { secondPosition = Int64(makeBatch(batches[0]).count) }
                try partition.append(bytes)
                if index == 2 { try partition.rollNow() }
            }
            log.close()
        }
        disk.corruptByte(path: segmentPath("t", base: 0, ".log"), position: secondPosition + 66)
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(partition.segmentBaseOffsets == [0, 6])
        let error = logError { try partition.read(from: 2, maxBytes: 1 << 20) }
        #expect(error?.code == .corruptBatch)
        #expect(error?.message.contains("offset 2") == true && error?.message.contains("position \(secondPosition)") == true,
                "\(error?.message ?? "")")
        #expect(try readAll(partition, from: 4) == placed(Array(batches[2...]), from: 4))
        #expect(try partition.read(from: 0, maxBytes: 1 << 20).batches.map(\.header.baseOffset) == [0])
    }

    /// (e) Transient read errors, aimed at one field of the last batch while the partition is
    /// opened: recovery must read again before it cuts anything, so nothing synced disappears.
    enum TargetField: String, CaseIterable, Sendable {
        case records, crc, attributes, magic, batchLengthUp, batchLengthDown, baseOffsetDown, baseOffsetUp
        /// Position within the batch and the bits to flip.
        var damage: (position: Int64, xor: UInt8) {
            switch self {
            case .records: return (70, 0x04)
            case .crc: return (18, 0x01)
            case .attributes: return (22, 0x02)
            case .magic: return (16, 0x01)
            case .batchLengthUp: return (10, 0x10)
            case .batchLengthDown: return (11, 0x08)
            case .baseOffsetDown: return (7, 0x04)
            case .baseOffsetUp: return (4, 0x01)
            }
        }
    }

    @Test(arguments: TargetField.allCases)
    func transientFlipDuringRecoveryLosesNothing(field: TargetField) throws {
        let disk = SimulatedDisk(seed: 35)
        let clock = makeClock()
        let batches = (0..<4).map { makeRecords("b\($0)", count: 2, timestamp: clockStart, valueBytes: 40) }
        var lastPosition: Int64 = 0
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            for (index, batch) in batches.enumerated() {
                if index == 3 { lastPosition = Int64(disk.currentContents(path: segmentPath("t", base: 0, ".log"))!.count) }
                try partition.append(makeBatch(batch))
            }
            try partition.sync()
            log.close()
        }
        let flaky = FlakyStorage(disk: disk)
        flaky.arm(.init(pathSuffix: "t/0/00000000000000000000.log", position: lastPosition + field.damage.position,
                        xor: field.damage.xor, remaining: 1))
        do {
            let log = try openLog(flaky, clock: clock)
            let partition = try log.partition(Self.events)
            #expect(flaky.appliedCount == 1)
            #expect(partition.logEndOffset == 8, "\(field): log end after a transient read error during recovery")
            log.close()
        }
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        #expect(try readAll(partition) == placed(batches), "\(field): a synced batch was lost to one transient read error")
    }

    /// (e) Transient read errors aimed at one field of a batch during an ordinary read: the read
    /// either fails with `.corruptBatch` or returns exactly the stored records.
    @Test(arguments: TargetField.allCases)
    func transientFlipDuringAReadNeverReturnsWrongRecords(field: TargetField) throws {
        let disk = SimulatedDisk(seed: 36)
        let clock = makeClock()
        let batches = (0..<4).map { makeRecords("b\($0)", count: 2, timestamp: clockStart, valueBytes: 40) }
        var positions: [Int64] = []
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            for batch in batches {
                positions.append(Int64(disk.currentContents(path: segmentPath("t", base: 0, ".log"))!.count))
                try partition.append(makeBatch(batch))
            }
            log.close()
        }
        let flaky = FlakyStorage(disk: disk)
        let log = try openLog(flaky, clock: clock)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        let expected = placed(batches)
        for target in [1, 3] {
            flaky.arm(.init(pathSuffix: "t/0/00000000000000000000.log", position: positions[target] + field.damage.position,
                            xor: field.damage.xor, remaining: 1))
            do {
                let fetched = try partition.read(from: 0, maxBytes: 1 << 20)
                var got: [PlacedRecord] = []
                for batch in fetched.batches {
                    for record in try batch.records() { got.append(PlacedRecord(offset: record.offset.rawValue, record: TestRecord(record))) }
                }
                #expect(got == Array(expected.prefix(got.count)), "\(field) in batch \(target): a read returned wrong records")
            } catch let error as LogError {
                #expect(error.code == .corruptBatch, "\(field): \(error)")
            }
            // The error was transient: the next read is exact.
            #expect(try readAll(partition) == expected, "\(field): data changed after a transient read error")
        }
    }

    /// (e) Random transient bit flips on every read (the disk's fault), over fixed seeds:
    /// opening and reading may fail, but never lose synced data, skip records or return wrong
    /// ones.
    @Test func randomReadBitFlipsNeverLoseOrCorruptData() throws {
        var failures: [String] = []
        for seed in UInt64(1)...120 {
            var random = SeededRandom(seed: seed &+ 77)
            let disk = SimulatedDisk(seed: seed)
            let clock = makeClock()
            var batches: [[TestRecord]] = []
            do {
                let log = try openLog(disk, clock: clock)
                let partition = try log.createTopic(
                    topicName("t"), config: TopicConfig(segmentBytesMax: 2048, batchBytesMax: 1024, indexIntervalBytes: random.pick([1, 4096]))
                ).partition(0)
                for index in 0..<random.int(2...16) {
                    let records = makeRecords("s\(seed)b\(index)", count: random.int(1...4), timestamp: clockStart + Int64(index),
                                              valueBytes: random.int(1...100))
                    try partition.append(makeBatch(records, codec: random.pick([.none, .zstd])))
                    batches.append(records)
                }
                try partition.sync()
                log.close()
            }
            let expected = placed(batches)
            disk.faults = .init(readBitFlipProbability: 0.1)
            if let log = try? openLog(disk, clock: clock) {
                if let partition = try? log.partition(Self.events) {
                    if partition.logEndOffset != Offset(Int64(expected.count)) {
                        failures.append("seed \(seed): opened with log end \(partition.logEndOffset), expected \(expected.count)")
                    }
                    for offset in 0..<min(Int64(expected.count), partition.logEndOffset.rawValue) {
                        do {
                            let fetched = try partition.read(from: Offset(offset), maxBytes: random.pick([1, 500, 1 << 20]))
                            if let first = fetched.batches.first, first.header.baseOffset > Offset(offset) {
                                failures.append("seed \(seed): read from \(offset) skipped to batch \(first.header.baseOffset)")
                            }
                            for batch in fetched.batches {
                                for record in try batch.records() {
                                    let index = Int(record.offset.rawValue)
                                    if index < 0 || index >= expected.count || expected[index].record != TestRecord(record) {
                                        failures.append("seed \(seed): read from \(offset) returned \(record.offset):\(TestRecord(record))")
                                    }
                                }
                            }
                        } catch let error as LogError where error.code == .corruptBatch {
                            continue
                        } catch {
                            failures.append("seed \(seed): read from \(offset) failed with \(error)")
                        }
                    }
                }
                log.close()
            }
            disk.faults = .none
            let log = try openLog(disk, clock: clock)
            let partition = try log.partition(Self.events)
            let records = try readAll(partition)
            if records != expected || partition.logEndOffset != Offset(Int64(expected.count)) {
                failures.append("seed \(seed): after opening with bit flips the log holds \(records.count) of \(expected.count) records, log end \(partition.logEndOffset)")
            }
            log.close()
        }
        #expect(failures.isEmpty, "\(failures.count) failures: \(failures.prefix(8).joined(separator: "\n"))")
    }
}
