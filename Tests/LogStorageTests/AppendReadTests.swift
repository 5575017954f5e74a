import Foundation
import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Synchronization
import Testing

@Suite struct AppendReadTests {
    @Test(arguments: [CompressionCodec.none, .lz4, .zstd])
    func offsetsAreContiguousAcrossBatches(codec: CompressionCodec) throws {
        let disk = SimulatedDisk(seed: 1)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let name: CompressionCodecName = codec == .lz4 ? .lz4 : codec == .zstd ? .zstd : .none
        let topic = try log.createTopic(topicName("events"), config: TopicConfig(compression: name))
        let partition = try topic.partition(0)
        var batches: [[TestRecord]] = []
        var next: Int64 = 0
        for index in 0..<20 {
            let records = makeRecords("b\(index)", count: 1 + index % 7, timestamp: clockStart + Int64(index), valueBytes: 40 + index * 13)
            let result = try partition.append(makeBatch(records, codec: codec))
            #expect(result.baseOffset == Offset(next))
            #expect(result.lastOffset == Offset(next + Int64(records.count) - 1))
            next += Int64(records.count)
            #expect(partition.logEndOffset == Offset(next))
            batches.append(records)
        }
        #expect(partition.logStartOffset == 0)
        #expect(try readAll(partition) == placed(batches))
        let headers = try readHeaders(partition)
        #expect(headers.count == 20)
        #expect(headers.allSatisfy { $0.codec == codec })
        #expect(zip(headers, headers.dropFirst()).allSatisfy { $0.lastOffset + 1 == $1.baseOffset })

        // The same after a reopen, which recovers the active segment from its bytes.
        log.close()
        let reopened = try openLog(disk, clock: makeClock())
        defer { reopened.close() }
        let again = try reopened.partition(TopicPartition(topicName("events"), 0))
        #expect(again.logEndOffset == Offset(next))
        #expect(try readAll(again) == placed(batches))
    }

    @Test func headersNullKeysAndTombstonesRoundTrip() throws {
        let log = try openLog(SimulatedDisk(seed: 2), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let records = [
            TestRecord(key: nil, value: "no key", timestamp: clockStart),
            TestRecord(key: "tombstone", value: nil, timestamp: clockStart + 1),
            TestRecord(key: "", value: "", timestamp: clockStart - 5,
                       headers: [RecordHeader("trace", "abc"), RecordHeader(key: "null", value: nil), RecordHeader("日本", "🚀")]),
        ]
        try partition.append(makeBatch(records))
        #expect(try readAll(partition) == placed([records]))
    }

    @Test(arguments: [0, 1, 100, 300, 1_000, 5_000])
    func smallReadsReturnAtLeastOneBatchAndMakeProgress(maxBytes: Int) throws {
        let log = try openLog(SimulatedDisk(seed: 3), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(segmentBytesMax: 4096, batchBytesMax: 4096, indexIntervalBytes: 512)).partition(0)
        var batches: [[TestRecord]] = []
        for index in 0..<40 {
            let records = makeRecords("b\(index)", count: 1 + index % 3, timestamp: clockStart, valueBytes: 50 + (index * 37) % 200)
            try partition.append(makeBatch(records))
            batches.append(records)
        }
        #expect(partition.segmentCount > 1, "the data should span segments")
        var offset = Offset(0)
        var reads = 0
        var collected: [PlacedRecord] = []
        while offset < partition.logEndOffset {
            let fetched = try partition.read(from: offset, maxBytes: maxBytes)
            reads += 1
            try #require(!fetched.batches.isEmpty, "a read below the log end must return a batch (offset \(offset))")
            let total = fetched.batches.reduce(0) { $0 + $1.bytes.count }
            #expect(fetched.batches.count == 1 || total <= maxBytes, "read \(total) bytes with maxBytes \(maxBytes)")
            #expect(fetched.batches[0].header.baseOffset <= offset && fetched.batches[0].header.lastOffset >= offset)
            #expect(fetched.logStartOffset == 0 && fetched.logEndOffset == partition.logEndOffset)
            for batch in fetched.batches {
                for record in try batch.records() { collected.append(PlacedRecord(offset: record.offset.rawValue, record: TestRecord(record))) }
            }
            let nextOffset = fetched.batches.last!.header.lastOffset + 1
            #expect(nextOffset > offset)
            offset = nextOffset
        }
        #expect(collected == placed(batches))
        if maxBytes <= 1 { #expect(reads == 40) }
    }

    @Test func readFromTheMiddleOfABatchReturnsThatBatch() throws {
        let log = try openLog(SimulatedDisk(seed: 4), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(indexIntervalBytes: 1)).partition(0)
        for index in 0..<4 { try partition.append(makeBatch(makeRecords("b\(index)", count: 5, timestamp: clockStart))) }
        for offset in Int64(0)..<20 {
            let fetched = try partition.read(from: Offset(offset), maxBytes: 1)
            #expect(fetched.batches.count == 1)
            #expect(fetched.batches[0].header.baseOffset == Offset(offset / 5 * 5), "read from \(offset)")
        }
        // Past the end: empty but valid.
        let atEnd = try partition.read(from: 20, maxBytes: 1 << 20)
        #expect(atEnd.batches.isEmpty && atEnd.logEndOffset == 20)
    }

    @Test(arguments: [Int64(-1), -100, 11, 12, 1_000, Int64.max])
    func outOfRangeReadsThrowWithTheBounds(offset: Int64) throws {
        let log = try openLog(SimulatedDisk(seed: 5), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        try partition.append(makeBatch(makeRecords("a", count: 10, timestamp: clockStart)))
        let error = logError { try partition.read(from: Offset(offset), maxBytes: 1 << 20) }
        #expect(error?.code == .offsetOutOfRange)
        #expect(error?.message.contains("earliest 0") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("latest 10") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("t/0") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("offset \(offset)") == true, "\(error?.message ?? "")")
        #expect(try partition.offset(forTimestamp: Timestamp(milliseconds: clockStart)) == 0)
    }

    @Test func invalidBatchesAreRefusedAndLeaveNothing() throws {
        let disk = SimulatedDisk(seed: 6)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(batchBytesMax: 2_000)).partition(0)
        try partition.append(makeBatch(makeRecords("ok", count: 2, timestamp: clockStart)))
        let good = makeBatch(makeRecords("x", count: 3, timestamp: clockStart))

        var badCRC = good
        badCRC[good.count - 1] ^= 0x40
        #expect(logErrorCode { try partition.append(badCRC) } == .invalidBatch)

        var badMagic = good
        badMagic[16] = 1
        #expect(logErrorCode { try partition.append(badMagic) } == .invalidBatch)

        #expect(logErrorCode { try partition.append(Array(good.dropLast())) } == .invalidBatch)
        #expect(logErrorCode { try partition.append(good + [0]) } == .invalidBatch)
        #expect(logErrorCode { try partition.append([]) } == .invalidBatch)
        #expect(logErrorCode { try partition.append(Array(good.prefix(40))) } == .invalidBatch)

        let empty = try RecordBatchBuilder().build()
        #expect(logErrorCode { try partition.append(empty) } == .invalidBatch)

        let huge = makeBatch([TestRecord(key: "k", value: String(repeating: "v", count: 3_000), timestamp: clockStart)])
        let tooLarge = logError { try partition.append(huge) }
        #expect(tooLarge?.code == .recordTooLarge)
        #expect(tooLarge?.message.contains("2000") == true)

        #expect(partition.logEndOffset == 2)
        let size = disk.currentContents(path: segmentPath("t", base: 0, ".log"))?.count
        let firstBatchSize = makeBatch(makeRecords("ok", count: 2, timestamp: clockStart)).count
        #expect(size == firstBatchSize, "nothing of a refused batch may reach the disk")
        #expect(try partition.append(good).baseOffset == 2)
    }

    /// After `close()` the partition refuses appends instead of crashing, and nothing changes.
    @Test func appendsAfterCloseFail() throws {
        let disk = SimulatedDisk(seed: 9)
        let log = try openLog(disk, clock: makeClock())
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        try partition.append(makeBatch(makeRecords("a", count: 2, timestamp: clockStart)))
        log.close()
        let error = logError { try partition.append(makeBatch(makeRecords("b", count: 2, timestamp: clockStart))) }
        #expect(error != nil)
        let reopened = try openLog(disk, clock: makeClock())
        defer { reopened.close() }
        #expect(try reopened.partition(TopicPartition(topicName("t"), 0)).logEndOffset == 2)
    }

    @Test func appendedBatchesKeepTheirBytesExceptTheBaseOffset() throws {
        let disk = SimulatedDisk(seed: 7)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let first = makeBatch(makeRecords("a", count: 3, timestamp: clockStart))
        let second = makeBatch(makeRecords("b", count: 2, timestamp: clockStart), codec: .zstd)
        try partition.append(first)
        try partition.append(second)
        var expected = first
        var placedSecond = second
        RecordBatch.setBaseOffset(Offset(3), in: &placedSecond)
        expected += placedSecond
        #expect(disk.currentContents(path: segmentPath("t", base: 0, ".log")) == expected)
        let fetched = try partition.read(from: 3, maxBytes: 1 << 20)
        #expect(fetched.batches.map(\.bytes) == [placedSecond])
        #expect(fetched.batches[0].hasValidChecksum())
    }
}

@Suite struct ConcurrentAppendTests {
    /// Appends and reads from several threads: every batch gets its own contiguous offsets, and
    /// the log holds each batch whole, once.
    @Test func concurrentAppendsGetDisjointContiguousOffsets() throws {
        let log = try openLog(SimulatedDisk(seed: 8), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig(segmentBytesMax: 4096, batchBytesMax: 4096)).partition(0)
        let writers = 4
        let perWriter = 40
        let results = Mutex<[(writer: Int, index: Int, result: AppendResult)]>([])
        let readFailures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: writers + 1) { worker in
            if worker == writers {
                // A reader running alongside: every read it makes is whole and in order.
                for _ in 0..<50 {
                    let end = partition.logEndOffset
                    if (try? readAll(partition))?.count ?? -1 < Int(end.rawValue) { readFailures.withLock { $0 += 1 } }
                }
                return
            }
            for index in 0..<perWriter {
                let records = makeRecords("w\(worker)-\(index)", count: 1 + index % 3, timestamp: clockStart)
                if let result = try? partition.append(makeBatch(records)) {
                    results.withLock { $0.append((worker, index, result)) }
                }
            }
        }
        let all = results.withLock { $0 }.sorted { $0.result.baseOffset < $1.result.baseOffset }
        #expect(all.count == writers * perWriter)
        #expect(readFailures.withLock { $0 } == 0)
        var next = Offset(0)
        for entry in all {
            #expect(entry.result.baseOffset == next)
            #expect(entry.result.lastOffset - entry.result.baseOffset == Int64(entry.index % 3))
            next = entry.result.lastOffset + 1
        }
        let records = try readAll(partition)
        #expect(records.count == Int(next.rawValue))
        for entry in all {
            let expected = makeRecords("w\(entry.writer)-\(entry.index)", count: 1 + entry.index % 3, timestamp: clockStart)
            let slice = records[Int(entry.result.baseOffset.rawValue)...Int(entry.result.lastOffset.rawValue)].map(\.record)
            #expect(slice == expected)
        }
    }
}
