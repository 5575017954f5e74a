import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Errors on the durability path are never swallowed (issue 10.6): a failed sync stops every
/// later write to the data directory until it is reopened, and a transaction marker that cannot
/// be decoded is damage, never data.
@Suite struct DurabilityFailureTests {
    static let events = TopicPartition(topicName("t"), 0)

    @Test func aFailedSyncStopsEveryLaterWriteUntilReopen() throws {
        let disk = SimulatedDisk(seed: 61)
        let storage = FailingSyncStorage(disk: disk)
        let clock = makeClock()
        let log = try openLog(storage, clock: clock)
        let topic = try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 2))
        let first = makeRecords("synced", count: 2, timestamp: clockStart)
        try topic.partition(0).append(makeBatch(first))
        try topic.partition(0).sync()
        try topic.partition(0).append(makeBatch(makeRecords("unsynced", count: 2, timestamp: clockStart)))
        storage.failSyncs(ofPathsEndingWith: "t/0/00000000000000000000.log")
        let failed = logError { try topic.partition(0).sync() }
        #expect(failed != nil && storage.failureCount == 1)
        storage.failSyncs(ofPathsEndingWith: nil)
        // The sync is not retried and trusted, and no other partition of the directory takes writes.
        for (index, partition) in try topic.partitions.enumerated() {
            let append = logError { try partition.append(makeBatch(makeRecords("later", count: 1, timestamp: clockStart))) }
            #expect(append?.code == .syncFailed, "partition \(index): \(String(describing: append))")
            #expect(append?.message.contains("t/0/00000000000000000000.log") == true, "\(String(describing: append))")
            #expect(logError { try partition.sync() }?.code == .syncFailed)
        }
        #expect(logError { try log.createTopic(topicName("u"), config: TopicConfig()) }?.code == .syncFailed)
        log.close()

        // Reopened, recovery reads what is on the disk and the directory takes writes again.
        disk.crash()
        disk.restart()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        let partition = try reopened.partition(Self.events)
        let records = try readAll(partition)
        #expect(Array(records.prefix(2)) == placed([first]))
        let next = try partition.append(makeBatch(makeRecords("next", count: 1, timestamp: clockStart)))
        try partition.sync()
        #expect(next.baseOffset == partition.logEndOffset + -1)
    }

    /// An ABORT marker whose record does not decode (its CRC matches: it was written so) must not
    /// end the transaction as if it had committed: recovery reports it with its position, and the
    /// transaction's data stays invisible to read-committed readers.
    @Test func anUndecodableMarkerIsDamageNotData() throws {
        let disk = SimulatedDisk(seed: 62)
        let clock = makeClock()
        let path = segmentPath("t", base: 0, ".log")
        var markerPosition = 0
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            try partition.append(makeBatch(makeRecords("plain", count: 1, timestamp: clockStart)))
            var builder = RecordBatchBuilder(producerID: ProducerID(9), producerEpoch: ProducerEpoch(0), baseSequence: 0, isTransactional: true)
            builder.append(key: Array("k".utf8), value: Array("aborted".utf8), headers: [], timestamp: Timestamp(milliseconds: clockStart))
            try partition.append(try builder.build())
            try partition.sync()
            log.close()
        }
        var marker = RecordBatchBuilder.controlBatch(
            type: .abort, producerID: ProducerID(9), producerEpoch: ProducerEpoch(0), coordinatorEpoch: 0,
            timestamp: Timestamp(milliseconds: clockStart))
        RecordBatch.setBaseOffset(2, in: &marker)
        // The key (version i16, type i16) starts 5 bytes into the only record: type 7 is no marker.
        #expect(marker[68] == 0 && marker[69] == 0)
        marker[69] = 7
        let crc = BatchScanner.checksum(of: marker[...])
        for index in 0..<4 { marker[17 + index] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(index))) }
        #expect(throws: (any Error).self) { try RecordBatch(bytes: marker).controlRecord() }
        markerPosition = disk.currentContents(path: path)!.count
        let file = try disk.openFile(path, mode: .readWrite)
        try file.write(marker, at: Int64(markerPosition))
        try file.sync()
        file.close()

        let capture = LogCapture()
        let log = try openLog(disk, clock: clock, capture: capture)
        defer { log.close() }
        let partition = try log.partition(Self.events)
        let report = capture.entries.first { $0.message.contains("transaction marker") }
        #expect(report?.metadata["position"] == "\(markerPosition)", "\(capture.entries.map(\.message))")
        let committed = try partition.read(from: 0, maxBytes: 1 << 20, isolation: .readCommitted)
        let values = try committed.batches.flatMap { try $0.records() }.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(!values.contains("aborted"), "data of a transaction whose marker is unreadable became visible")
    }
}
