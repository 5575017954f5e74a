import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Read-committed consumers over long runs of aborted transactions (issue 18.3): a poll skips
/// any amount of aborted data and returns the committed records after it, and "caught up"
/// means every position reached the last stable offset.
@Suite struct ReadCommittedTests {
    static let topic = topicName("rc")
    static let partition = TopicPartition(topic, PartitionID(0))

    /// Appends `transactions` aborted transactions of `batchesEach` batches of ~64 KiB each
    /// (producer 7, epoch 0), then `committed` plain records valued `c-<i>`.
    static func fill(_ log: LogManager, transactions: Int, batchesEach: Int, committed: Int) throws -> PartitionLog {
        let partition = try log.createTopic(topic, config: TopicConfig(partitionCount: 1, segmentBytesMax: 1 << 20, batchBytesMax: 256 << 10)).partitions[0]
        var sequence: Int32 = 0
        for transaction in 0..<transactions {
            for batch in 0..<batchesEach {
                var builder = RecordBatchBuilder(producerID: ProducerID(7), producerEpoch: ProducerEpoch(0),
                                                 baseSequence: sequence, isTransactional: true)
                for index in 0..<64 {
                    builder.append(key: Array("a-\(transaction)-\(batch)-\(index)".utf8), value: [UInt8](repeating: 0x61, count: 1000),
                                   timestamp: Timestamp(milliseconds: clockStart))
                }
                try partition.append(try builder.build())
                sequence += 64
            }
            try partition.append(RecordBatchBuilder.controlBatch(
                type: .abort, producerID: ProducerID(7), producerEpoch: ProducerEpoch(0), coordinatorEpoch: 0,
                timestamp: Timestamp(milliseconds: clockStart)))
        }
        for index in 0..<committed {
            try partition.append(makeBatch([TestRecord(key: "c", value: "c-\(index)", timestamp: clockStart)]))
        }
        try partition.sync()
        return partition
    }

    @Test func aPollSkipsSeveralMebibytesOfAbortedDataAndReturnsTheCommittedRecords() throws {
        let log = try openLog(SimulatedDisk(seed: 1803), clock: makeClock())
        defer { log.close() }
        // 6 transactions × 16 batches × ~64 KiB ≈ 6 MiB of aborted data, over several segments.
        let partition = try Self.fill(log, transactions: 6, batchesEach: 16, committed: 5)
        var config = consumerConfig()
        config.isolation = .readCommitted
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign([Self.partition])
        #expect(!consumer.isCaughtUp)
        let records = try consumer.poll()
        #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<5).map { "c-\($0)" })
        #expect(try consumer.position(Self.partition) == partition.lastStableOffset)
        #expect(consumer.isCaughtUp)
        #expect(try consumer.poll().isEmpty)
    }

    @Test func aPollOverOnlyAbortedDataReachesTheStableOffset() throws {
        let log = try openLog(SimulatedDisk(seed: 1804), clock: makeClock())
        defer { log.close() }
        let partition = try Self.fill(log, transactions: 3, batchesEach: 20, committed: 0)
        var config = consumerConfig()
        config.isolation = .readCommitted
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign([Self.partition])
        #expect(try consumer.poll().isEmpty)
        #expect(try consumer.position(Self.partition) == partition.lastStableOffset)
        #expect(consumer.isCaughtUp)
    }
}
