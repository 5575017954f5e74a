import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// A committed transaction whose marker rots on disk: recovery keeps the damage and leaves the
/// transaction open (the marker may have said abort), and the partition then says why instead
/// of stalling read-committed readers without a word and refusing the producer's next epoch as
/// an engine bug. (The 2,000-seed soak of the copy loop's bit rot, seeds 31377, 31495 and 31532,
/// ended with "committed records missing" and "started epoch 2 … while its transaction from
/// offset 3 is open".)
@Suite struct DamagedMarkerTests {
    @Test func aRottedMarkerIsReportedAsCorruptionToReadersAndToTheProducersNextEpoch() throws {
        let disk = SimulatedDisk(seed: 21)
        let clock = makeClock()
        let markerPosition: Int64
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            try partition.append(makeBatch(makeRecords("before", count: 2, timestamp: clockStart)))
            try partition.append(ExpiryTests.transactional(7, sequence: 0, makeRecords("tx", count: 3, timestamp: clockStart)))
            markerPosition = try disk.openFile(segmentPath("t", base: 0, ".log"), mode: .read).size()
            try partition.append(ExpiryTests.marker(.commit, 7))
            try partition.append(makeBatch(makeRecords("after", count: 1, timestamp: clockStart)))
            try partition.sync()
            // Not closed: the next open recovers the active segment from its recovery point.
        }
        disk.crash()
        disk.restart()
        let file = try disk.openFile(segmentPath("t", base: 0, ".log"), mode: .readWrite)
        var byte = try file.read(at: markerPosition + Int64(RecordBatchHeader.sizeBytes) + 2, count: 1)
        byte[0] ^= 0x10
        try file.write(byte, at: markerPosition + Int64(RecordBatchHeader.sizeBytes) + 2)
        try file.sync()
        file.close()

        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), PartitionID(0)))
        #expect(partition.lastStableOffset == Offset(2), "the transaction whose marker is damaged stays open")
        let read = Result { () throws(LogError) in try partition.read(from: Offset(2), maxBytes: 1 << 20, isolation: .readCommitted) }
        guard case .failure(let readError) = read else {
            Issue.record("a read-committed read at the stuck offset returned \(read) instead of reporting the damage")
            return
        }
        #expect(readError.code == .corruptBatch)
        #expect(readError.message.contains("position \(markerPosition)"), "\(readError.message)")
        // The batches before it are still read.
        #expect(try partition.read(from: Offset(0), maxBytes: 1 << 20, isolation: .readCommitted).batches.count == 1)
        // A read-committed consumer gets what is before it, then the report (never an endless wait).
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign([partition.topicPartition])
        #expect(try consumer.poll().count == 2)
        #expect(throws: LogError.self) { try consumer.poll() }

        let nextEpoch = Result { () throws(LogError) in
            try partition.append(ExpiryTests.transactional(7, sequence: 0, makeRecords("tx2", count: 1, timestamp: clockStart), epoch: 1))
        }
        guard case .failure(let appendError) = nextEpoch else {
            Issue.record("the producer's next epoch was appended over an unresolved transaction")
            return
        }
        #expect(appendError.code == .corruptBatch)
        #expect(appendError.message.contains("corrupt"), "\(appendError.message)")

        // A marker for the producer (the coordinator's recovery writing it again) resolves it.
        try partition.append(ExpiryTests.marker(.commit, 7))
        #expect(partition.lastStableOffset == partition.logEndOffset)
        try partition.append(ExpiryTests.transactional(7, sequence: 0, makeRecords("tx2", count: 1, timestamp: clockStart), epoch: 1))
    }
}
