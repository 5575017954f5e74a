import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation

@Suite("Consumer lag in data records")
struct ConsumerLagTests {
    /// out/0 after this: 0-4, 6-10, 12-16 committed data (markers at 5, 11, 17); 18-20 aborted
    /// (marker 21); 22, 23 plain; 24 an open transaction's record; 25 plain. LSO 24, log end 26.
    private func logWithMarkersAndAnOpenTransaction() throws -> (TestEngine, TopicPartition) {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let out = TopicPartition(topic, PartitionID(0))
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "t")
        try producer.initTransactions()
        for transaction in 0..<3 {
            try producer.beginTransaction()
            for index in 0..<5 { try producer.send(topic: topic, key: nil, value: [UInt8]("c\(transaction)-\(index)"), partition: PartitionID(0)) }
            try producer.commitTransaction()
        }
        // Each send appends the batch before it, so the abort has three records to hide (the
        // fourth is still buffered when it aborts).
        let aborting = try engine.producer("t-aborted", batchBytesMax: 1)
        try aborting.beginTransaction()
        for index in 0..<4 { try aborting.send(topic: topic, key: nil, value: [UInt8]("a\(index)"), partition: PartitionID(0)) }
        try aborting.sendOffsets([out: Offset(0)], group: "other")
        try aborting.abortTransaction()
        let partition = try engine.log.partition(out)
        #expect(partition.logEndOffset == Offset(22), "3 aborted records and their marker at 18-21")
        let plain = LogProducer(log: engine.log)
        for index in 0..<2 { try plain.send(topic: topic, key: nil, value: [UInt8]("p\(index)"), partition: PartitionID(0)) }
        try plain.flush()
        var builder = RecordBatchBuilder(producerID: ProducerID(999), producerEpoch: ProducerEpoch(0), baseSequence: 0, isTransactional: true)
        builder.append(key: nil, value: [UInt8]("in-flight"), timestamp: engine.clock.now())
        try partition.append(try builder.build())
        try plain.send(topic: topic, key: nil, value: [UInt8]("after"), partition: PartitionID(0))
        try plain.flush()
        return (engine, out)
    }

    @Test("lag counts committed data records up to the LSO: markers, aborted records and the open transaction are not counted",
          arguments: [(Int64(0), Int64(17)), (3, 14), (8, 10), (12, 7), (17, 2), (21, 2), (22, 2), (23, 1), (24, 0)])
    func readCommittedLag(committed: Int64, expected: Int64) throws {
        let (engine, out) = try logWithMarkersAndAnOpenTransaction()
        let partition = try engine.log.partition(out)
        #expect(partition.lastStableOffset == Offset(24))
        #expect(partition.logEndOffset == Offset(26))
        try engine.log.offsets.commit(group: "g", offsets: [out: CommittedOffset(offset: Offset(committed))])
        let lags = try ConsumerLag.all(in: engine.log, group: "g")
        let wanted = ConsumerLag(group: "g", topicPartition: out, committedOffset: Offset(committed), endOffset: Offset(24),
                                 lagRecords: expected)
        #expect(lags == [wanted])
    }

    @Test("read-uncommitted lag runs to the log end and counts aborted and open records, never markers")
    func readUncommittedLag() throws {
        let (engine, out) = try logWithMarkersAndAnOpenTransaction()
        try engine.log.offsets.commit(group: "g", offsets: [out: CommittedOffset(offset: Offset(3))])
        let lags = try ConsumerLag.all(in: engine.log, group: "g", isolation: .readUncommitted)
        // 3-4, 6-10, 12-16, 18-20 (aborted), 22-25.
        let expected: [Int64] = [19]
        #expect(lags.map(\.lagRecords) == expected)
        #expect(lags.map(\.endOffset) == [Offset(26)])
    }

    @Test("every group with committed offsets is listed, sorted, and a group at the end has lag 0")
    func everyGroup() throws {
        let (engine, out) = try logWithMarkersAndAnOpenTransaction()
        try engine.log.offsets.commit(group: "zeta", offsets: [out: CommittedOffset(offset: Offset(24))])
        try engine.log.offsets.commit(group: "alpha", offsets: [out: CommittedOffset(offset: Offset(0))])
        let lags = try ConsumerLag.all(in: engine.log).filter { $0.topicPartition == out }
        #expect(lags.map(\.group) == ["alpha", "zeta"], "an aborted transaction's offsets (group 'other') never commit")
        #expect(lags.first { $0.group == "alpha" }?.lagRecords == 17)
        #expect(lags.first { $0.group == "zeta" }?.lagRecords == 0)
    }
}
