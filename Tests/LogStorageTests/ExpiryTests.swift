import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// What keeps the work of read-committed reads and of recovery from growing with history
/// (issue 10.7): the cleaner removes transaction markers whose data is gone once their delete
/// horizon passed, and partitions forget idle producers.
@Suite struct ExpiryTests {
    static let retention = CompactionTests.deleteRetention

    static func transactional(_ producer: Int64, sequence: Int32, _ records: [TestRecord], epoch: Int16 = 0) -> [UInt8] {
        var builder = RecordBatchBuilder(producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
                                         baseSequence: sequence, isTransactional: true)
        for record in records {
            builder.append(key: record.key, value: record.value, timestamp: Timestamp(milliseconds: record.timestamp))
        }
        do { return try builder.build() } catch { preconditionFailure("building a test batch failed: \(error)") }
    }

    static func marker(_ type: ControlRecordType, _ producer: Int64, epoch: Int16 = 0) -> [UInt8] {
        RecordBatchBuilder.controlBatch(type: type, producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
                                        coordinatorEpoch: 0, timestamp: Timestamp(milliseconds: clockStart))
    }

    /// Read-committed values of the partition.
    static func committed(_ partition: PartitionLog) throws -> [String] {
        var values: [String] = []
        var offset = partition.logStartOffset
        while offset < partition.lastStableOffset {
            let fetched = try partition.read(from: offset, maxBytes: 1 << 20, isolation: .readCommitted)
            guard let last = fetched.batches.last else { break }
            for batch in fetched.batches where !batch.header.isControl {
                let aborted = fetched.abortedTransactions.contains {
                    $0.producerID == batch.header.producerID && $0.firstOffset <= batch.header.baseOffset && batch.header.baseOffset <= $0.lastOffset
                }
                if batch.header.isTransactional && aborted { continue }
                for record in try batch.records() where record.offset >= offset {
                    values.append("\(String(decoding: record.key ?? [], as: UTF8.self))=\(String(decoding: record.value ?? [], as: UTF8.self))")
                }
            }
            offset = last.header.lastOffset + 1
        }
        return values
    }

    @Test func markersGoOnceTheirDataIsGoneAndTheirDeleteHorizonPassed() throws {
        let disk = SimulatedDisk(seed: 71)
        let clock = makeClock()
        var options = smallOptions()
        options.producerIDExpirationMilliseconds = 2 * Self.retention
        let log = try openLog(disk, clock: clock, options: options)
        let partition = try log.createTopic(topicName("c"), config: CompactionTests.config).partition(0)
        try partition.append(Self.transactional(1, sequence: 0, [TestRecord(key: "a", value: "1", timestamp: clockStart)]))  // 0
        try partition.append(Self.marker(.commit, 1))  // 1: its data is replaced by offset 4
        try partition.append(Self.transactional(2, sequence: 0, [TestRecord(key: "b", value: "1", timestamp: clockStart)]))  // 2
        try partition.append(Self.marker(.abort, 2))  // 3: aborted data goes at once
        try partition.append(Self.transactional(1, sequence: 1, [TestRecord(key: "a", value: "2", timestamp: clockStart)]))  // 4
        try partition.append(Self.marker(.commit, 1))  // 5: its data stays, so it stays
        try partition.rollNow()
        try partition.append(makeBatch([TestRecord(key: "d", value: "1", timestamp: clockStart)]))  // 6
        try partition.sync()
        #expect(try Self.committed(partition) == ["a=1", "a=2", "d=1"])

        try partition.compact()
        let first = try readHeaders(partition).filter(\.isControl)
        #expect(first.map(\.baseOffset) == [1, 3, 5], "markers stay until their delete horizon")
        #expect(first.map(\.deleteHorizon) == [Timestamp(milliseconds: clockStart + Self.retention), Timestamp(milliseconds: clockStart + Self.retention), nil])
        #expect(try Self.committed(partition) == ["a=2", "d=1"])

        clock.advance(byMilliseconds: Self.retention)
        try log.maintain()  // a passed horizon makes the partition worth a pass on its own
        #expect(try readHeaders(partition).filter(\.isControl).map(\.baseOffset) == [3, 5],
                "producer 2's last marker stays while the partition knows producer 2")
        #expect(try Self.committed(partition) == ["a=2", "d=1"])
        // Once producer 2 expired, its last marker goes too.
        clock.advance(byMilliseconds: Self.retention + 1)
        try log.maintain()
        #expect(partition.producerEpochAndSequence(ProducerID(2)) == nil)
        #expect(try readHeaders(partition).filter(\.isControl).map(\.baseOffset) == [5])
        #expect(try Self.committed(partition) == ["a=2", "d=1"])
        #expect(partition.logStartOffset == 0 && partition.logEndOffset == 7)
        #expect(disk.currentContents(path: segmentPath("c", base: 0, ".txnindex"))?.count == 0,
                "the aborted transaction's entry went with its marker")
        log.close()

        let reopened = try openLog(disk, clock: clock, options: options)
        defer { reopened.close() }
        let again = try reopened.partition(CompactionTests.compacted)
        #expect(try Self.committed(again) == ["a=2", "d=1"])
        #expect(again.lastStableOffset == again.logEndOffset, "no transaction looks open after its marker went")
        #expect(try readHeaders(again).filter(\.isControl).map(\.baseOffset) == [5])
    }

    @Test(arguments: [false, true])
    func idleProducersExpireDurably(crash: Bool) throws {
        let disk = SimulatedDisk(seed: 72)
        let clock = makeClock()
        var options = smallOptions()
        options.producerIDExpirationMilliseconds = 10_000
        let log = try openLog(disk, clock: clock, options: options)
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        try partition.append(Self.transactional(1, sequence: 0, [TestRecord(key: "a", value: "1", timestamp: clockStart)]))
        try partition.append(Self.marker(.commit, 1))
        try partition.append(Self.transactional(3, sequence: 0, [TestRecord(key: "open", value: "1", timestamp: clockStart)]))
        clock.advance(byMilliseconds: 5_000)
        try partition.append(Self.transactional(2, sequence: 0, [TestRecord(key: "b", value: "1", timestamp: clockStart)]))
        try partition.append(Self.marker(.commit, 2))
        try partition.sync()
        clock.advance(byMilliseconds: 5_000)
        try log.maintain()
        #expect(partition.producerEpochAndSequence(ProducerID(1)) != nil, "exactly the expiration is not past it")
        clock.advance(byMilliseconds: 1)
        try log.maintain()
        #expect(partition.producerEpochAndSequence(ProducerID(1)) == nil, "idle past the expiration")
        #expect(partition.producerEpochAndSequence(ProducerID(2)) != nil, "written to since")
        #expect(partition.producerEpochAndSequence(ProducerID(3)) != nil, "a producer with an open transaction never expires")
        #expect(partition.lastStableOffset == Offset(2))
        if crash {
            disk.crash()
            disk.restart()
        } else {
            log.close()
        }
        let reopened = try openLog(disk, clock: clock, options: options)
        defer { reopened.close() }
        let again = try reopened.partition(TopicPartition(topicName("t"), 0))
        #expect(again.producerEpochAndSequence(ProducerID(1)) == nil, "the expiry survives a restart")
        #expect(again.producerEpochAndSequence(ProducerID(2)) != nil)
        #expect(again.lastStableOffset == Offset(2))
        // An expired transactional producer that comes back is a new producer here.
        try again.append(Self.transactional(1, sequence: 1, [TestRecord(key: "a", value: "2", timestamp: clockStart)]))
        #expect(again.producerEpochAndSequence(ProducerID(1))?.lastSequence == 1)
    }
}
