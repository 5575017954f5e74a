import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Positions outside a partition's offsets (issues 18.2 and 10.3): a committed offset past the
/// log end or below the log start, and retention deleting records under a reading consumer. The
/// consumer fails with the numbers, or resets and reports the reset; it never moves silently.
@Suite struct ConsumerOutOfRangeTests {
    static let topic = topicName("oor")
    static let partition = TopicPartition(topic, PartitionID(0))

    /// Small segments and 4 KiB of retention, so appending ~100-byte records deletes old ones.
    static func create(_ log: LogManager) throws -> PartitionLog {
        let config = TopicConfig(partitionCount: 1, segmentBytesMax: 1024, retentionMilliseconds: -1, retentionBytes: 4096, batchBytesMax: 1024)
        return try log.createTopic(topic, config: config).partitions[0]
    }

    static func append(_ partition: PartitionLog, _ range: Range<Int>) throws {
        for index in range { try partition.append(makeBatch(makeRecords("r\(index)", count: 1, timestamp: clockStart, valueBytes: 60))) }
    }

    static func config(_ reset: OffsetResetPolicy?) -> ConsumerConfig {
        var config = consumerConfig(group: "g")
        config.outOfRangeReset = reset
        return config
    }

    @Test func retentionOvertakingAReadingConsumerFailsOrIsReportedWithTheRecordsLost() throws {
        for reset in [OffsetResetPolicy.none, .earliest] {
            let log = try openLog(SimulatedDisk(seed: 1003), clock: makeClock())
            defer { log.close() }
            let partition = try Self.create(log)
            try Self.append(partition, 0..<5)
            let consumer = LogConsumer(log: log, config: Self.config(reset))
            try consumer.assign([Self.partition])
            #expect(try consumer.poll(maxRecords: 2).map(\.offset) == [Offset(0), Offset(1)])
            try Self.append(partition, 5..<200)
            let start = partition.logStartOffset
            #expect(start > Offset(2))
            if reset == OffsetResetPolicy.none {
                let error = #expect(throws: LogError.self) { try consumer.poll() }
                #expect(error?.code == .offsetOutOfRange)
                #expect(error?.message == "oor/0: position 2 is below the log start (log start \(start), log end 200): \(start - Offset(2)) records were deleted before they were read")
                #expect(consumer.takeOffsetResets().isEmpty)
            } else {
                #expect(try consumer.poll(maxRecords: 1).map(\.offset) == [start])
                #expect(consumer.takeOffsetResets() == [OffsetOutOfRange(
                    topicPartition: Self.partition, offset: Offset(2), isCommitted: false, logStartOffset: start,
                    logEndOffset: Offset(200), resetTo: start)])
                #expect(consumer.takeOffsetResets().isEmpty, "each reset is reported once")
            }
        }
    }

    @Test func aCommittedOffsetPastTheLogEndFailsOrResetsAndIsReported() throws {
        for reset in [OffsetResetPolicy.none, .earliest, .latest] {
            let log = try openLog(SimulatedDisk(seed: 1004), clock: makeClock())
            defer { log.close() }
            let partition = try Self.create(log)
            try Self.append(partition, 0..<10)
            try log.offsets.commit(group: "g", offsets: [Self.partition: CommittedOffset(offset: Offset(25))])
            let consumer = LogConsumer(log: log, config: Self.config(reset))
            try consumer.assign([Self.partition])
            switch reset {
            case .none:
                let error = #expect(throws: LogError.self) { try consumer.position(Self.partition) }
                #expect(error?.message == "oor/0: committed offset 25 is past the log end (log start 0, log end 10): 15 records consumed are no longer in the log")
            case .earliest, .latest:
                let expected = reset == .earliest ? partition.logStartOffset : Offset(10)
                #expect(try consumer.position(Self.partition) == expected)
                let resets = consumer.takeOffsetResets()
                #expect(resets.map(\.recordsLost) == [15] && resets.map(\.isCommitted) == [true] && resets.map(\.resetTo) == [expected])
            }
        }
    }
}
