import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Simulation

@Suite("Idempotent producer state")
struct ProducerStateTests {
    func batch(producer: Int64, epoch: Int16, sequence: Int32, count: Int = 2, transactional: Bool = false) throws -> [UInt8] {
        var builder = RecordBatchBuilder(producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
                                         baseSequence: sequence, isTransactional: transactional)
        for index in 0..<count { builder.append(key: nil, value: [UInt8]("s\(sequence)-\(index)"), timestamp: Timestamp(milliseconds: 1_750_000_000_000)) }
        return try builder.build()
    }

    @Test("a retried batch is acknowledged with its first offsets and not written again")
    func duplicates() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("t")
        let partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        let first = try partition.append(try batch(producer: 1, epoch: 0, sequence: 0))
        let second = try partition.append(try batch(producer: 1, epoch: 0, sequence: 2))
        let retry = try partition.append(try batch(producer: 1, epoch: 0, sequence: 0))
        #expect(retry.wasAlreadyPresent)
        #expect(retry.baseOffset == first.baseOffset && retry.lastOffset == first.lastOffset)
        #expect(partition.logEndOffset == second.lastOffset + 1)
        #expect(try engine.values(topic).count == 4)
    }

    @Test("a sequence gap, a new epoch not starting at 0 and an older epoch are refused")
    func refusals() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("t")
        let partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        try partition.append(try batch(producer: 1, epoch: 3, sequence: 0))
        let gap = #expect(throws: LogError.self) { try partition.append(try batch(producer: 1, epoch: 3, sequence: 5)) }
        #expect(gap?.code == .outOfOrderSequence)
        let badStart = #expect(throws: LogError.self) { try partition.append(try batch(producer: 1, epoch: 4, sequence: 2)) }
        #expect(badStart?.code == .outOfOrderSequence)
        try partition.append(try batch(producer: 1, epoch: 4, sequence: 0))
        let fenced = #expect(throws: LogError.self) { try partition.append(try batch(producer: 1, epoch: 3, sequence: 2)) }
        #expect(fenced?.code == .producerFenced)
        let newProducer = #expect(throws: LogError.self) { try partition.append(try batch(producer: 2, epoch: 0, sequence: 1)) }
        #expect(newProducer?.code == .outOfOrderSequence)
        #expect(partition.logEndOffset == Offset(4), "refused batches leave nothing behind")
    }

    @Test("producer state survives restarts, from the snapshot or rebuilt from the log", arguments: [false, true])
    func survivesRestart(deleteSnapshots: Bool) throws {
        let engine = try TestEngine()
        let topic = TopicName(rawValue: "t")!
        try engine.log.createTopic(topic, config: TopicConfig(partitionCount: 1, segmentBytesMax: 1024, batchBytesMax: 1024))
        var partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        var sequence: Int32 = 0
        for _ in 0..<20 {
            try partition.append(try batch(producer: 9, epoch: 1, sequence: sequence, count: 3))
            sequence += 3
        }
        try partition.sync()
        #expect(partition.segmentCount > 1)
        try engine.reopenCleanly()
        if deleteSnapshots {
            engine.log.close()
            for path in engine.disk.fileNames(under: "/data/topics/t/0") where path.hasSuffix(".snapshot") {
                try engine.disk.removeFile(path)
            }
            try engine.open()
        }
        partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        #expect(partition.producerEpochAndSequence(ProducerID(9))?.lastSequence == sequence - 1)
        let retry = try partition.append(try batch(producer: 9, epoch: 1, sequence: sequence - 3, count: 3))
        #expect(retry.wasAlreadyPresent, "the last batch is still recognised as a duplicate")
        let gap = #expect(throws: LogError.self) { try partition.append(try batch(producer: 9, epoch: 1, sequence: sequence + 1)) }
        #expect(gap?.code == .outOfOrderSequence)
        try partition.append(try batch(producer: 9, epoch: 1, sequence: sequence))
    }

    @Test("aborted transactions are recorded in .txnindex and skipped after a restart")
    func abortedIndexSurvives() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("t")
        let partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        try partition.append(try batch(producer: 4, epoch: 0, sequence: 0, transactional: true))
        try partition.append(RecordBatchBuilder.controlBatch(type: .abort, producerID: ProducerID(4), producerEpoch: ProducerEpoch(0), coordinatorEpoch: 0, timestamp: engine.clock.now()))
        try partition.append(try batch(producer: 4, epoch: 0, sequence: 2, transactional: true))
        try partition.append(RecordBatchBuilder.controlBatch(type: .commit, producerID: ProducerID(4), producerEpoch: ProducerEpoch(0), coordinatorEpoch: 0, timestamp: engine.clock.now()))
        try partition.sync()
        #expect(try engine.values(topic) == ["s2-0", "s2-1"])
        #expect(engine.disk.currentContents(path: "/data/topics/t/0/00000000000000000000.txnindex")?.count == 38, "one entry: Kafka's 34 bytes and its CRC-32C")
        try engine.crashAndReopen()
        #expect(try engine.values(topic) == ["s2-0", "s2-1"])
        #expect(try engine.values(topic, isolation: .readUncommitted) == ["s0-0", "s0-1", "s2-0", "s2-1"])
    }
}
