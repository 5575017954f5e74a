import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Deleting records below an offset (Kafka's DeleteRecords), which the runtime uses to purge
/// repartition topics: the log start moves inside a segment, whole segments below it go, and
/// the start survives a reopen and a crash.
@Suite struct DeleteRecordsTests {
    static let topic = topicName("purged")

    static func fill(_ log: LogManager, count: Int) throws -> PartitionLog {
        let config = TopicConfig(partitionCount: 1, segmentBytesMax: 2048, retentionMilliseconds: -1, batchBytesMax: 1024)
        let partition = try log.createTopic(topic, config: config).partitions[0]
        for index in 0..<count { try partition.append(makeBatch(makeRecords("d\(index)", count: 1, timestamp: clockStart, valueBytes: 80))) }
        try partition.sync()
        return partition
    }

    @Test func theLogStartMovesInsideASegmentAndWholeSegmentsBelowItAreDeleted() throws {
        let disk = SimulatedDisk(seed: 1002)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        let partition = try Self.fill(log, count: 100)
        let segmentsBefore = partition.segmentBaseOffsets
        #expect(segmentsBefore.count > 3)
        // An offset inside the third segment.
        let target = segmentsBefore[2] + 3
        #expect(try partition.deleteRecords(below: target) == target)
        #expect(partition.logStartOffset == target)
        #expect(partition.segmentBaseOffsets == Array(segmentsBefore.dropFirst(2)))
        #expect(try readAll(partition).map(\.offset) == Array(target.rawValue..<100))
        #expect(throws: LogError.self) { try partition.read(from: target + -1, maxBytes: 1 << 20) }
        // Never backwards, never past the end.
        #expect(try partition.deleteRecords(below: Offset(1)) == target)
        #expect(throws: LogError.self) { try partition.deleteRecords(below: Offset(101)) }
        // The start is durable: it survives a crash right after.
        disk.crash()
        disk.restart()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        let recovered = try reopened.partition(TopicPartition(Self.topic, PartitionID(0)))
        #expect(recovered.logStartOffset == target)
        #expect(try readAll(recovered).map(\.offset) == Array(target.rawValue..<100))
    }
}
