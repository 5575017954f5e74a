import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation

@Suite("Transaction coordinator and transactional producer")
struct CoordinatorTests {
    @Test("commit makes output visible to read-committed readers; abort never does")
    func commitAndAbort() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out", partitions: 2)
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "t1")
        try producer.initTransactions()
        try producer.beginTransaction()
        try producer.send(topic: topic, key: [UInt8]("a"), value: [UInt8]("committed"))
        try producer.commitTransaction()
        try producer.beginTransaction()
        try producer.send(topic: topic, key: [UInt8]("a"), value: [UInt8]("aborted"))
        try producer.send(topic: topic, key: [UInt8]("b"), value: [UInt8]("aborted"))
        try producer.commitTransaction()  // flushes…
        try producer.beginTransaction()
        try producer.send(topic: topic, key: [UInt8]("a"), value: [UInt8]("aborted-2"))
        // Force the batch out before aborting, so the abort has data to hide.
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(1)], group: "g")
        try producer.abortTransaction()
        #expect(try engine.values(topic).sorted() == ["aborted", "aborted", "committed"])
        #expect(!(try engine.values(topic)).contains("aborted-2"))
        #expect(engine.log.offsets.committed(group: "g", TopicPartition(topic, PartitionID(0))) == nil, "aborted offsets never apply")
        #expect(try engine.values(topic, isolation: .readUncommitted).count >= 3)
    }

    @Test("open transactions hold back the last stable offset and stay invisible")
    func lastStableOffset() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let partition = try engine.log.partition(TopicPartition(topic, PartitionID(0)))
        let plain = LogProducer(log: engine.log)
        try plain.send(topic: topic, key: nil, value: [UInt8]("before"), partition: PartitionID(0))
        try plain.flush()
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "t")
        try producer.initTransactions()
        try producer.beginTransaction()
        try producer.send(topic: topic, key: nil, value: [UInt8]("inside"), partition: PartitionID(0))
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(0)], group: "g")  // flushes nothing for out/0
        #expect(partition.lastStableOffset == partition.logEndOffset, "nothing of the transaction written to out/0 yet")
        // Write a second transaction's batch by committing through a size-forced flush.
        try producer.commitTransaction()
        #expect(try engine.values(topic) == ["before", "inside"])

        try producer.beginTransaction()
        for index in 0..<3 { try producer.send(topic: topic, key: nil, value: [UInt8]("open-\(index)"), partition: PartitionID(0)) }
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(2)], group: "g")
        // Appends happen at commit; emulate an in-flight transaction with a raw transactional batch.
        let end = partition.logEndOffset
        var builder = RecordBatchBuilder(producerID: ProducerID(999), producerEpoch: ProducerEpoch(0), baseSequence: 0, isTransactional: true)
        builder.append(key: nil, value: [UInt8]("in-flight"), timestamp: engine.clock.now())
        try partition.append(try builder.build())
        try plain.send(topic: topic, key: nil, value: [UInt8]("after"), partition: PartitionID(0))
        try plain.flush()
        #expect(partition.lastStableOffset == end)
        #expect(!(try engine.values(topic)).contains("in-flight"))
        #expect(!(try engine.values(topic)).contains("after"), "read-committed readers stop at the last stable offset")
        #expect(try engine.values(topic, isolation: .readUncommitted).contains("in-flight"))
        try producer.abortTransaction()
    }

    @Test("initTransactions fences the previous holder of a transactional id")
    func zombieFencing() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let old = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "shared")
        try old.initTransactions()
        try old.beginTransaction()
        try old.send(topic: topic, key: nil, value: [UInt8]("zombie"), partition: PartitionID(0))
        try old.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(0)], group: "g")
        let new = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "shared")
        try new.initTransactions()
        #expect(new.producerID == old.producerID)
        #expect(new.producerEpoch > old.producerEpoch)
        let error = #expect(throws: TransactionError.self) { try old.commitTransaction() }
        #expect(error?.code == .fenced)
        try new.beginTransaction()
        try new.send(topic: topic, key: nil, value: [UInt8]("fresh"), partition: PartitionID(0))
        try new.commitTransaction()
        #expect(try engine.values(topic) == ["fresh"])
        // A zombie's raw write with its old epoch is refused by the partition itself.
        var builder = RecordBatchBuilder(producerID: old.producerID, producerEpoch: old.producerEpoch, baseSequence: 5, isTransactional: true)
        builder.append(key: nil, value: [UInt8]("late"), timestamp: engine.clock.now())
        let late = try builder.build()
        let refused = #expect(throws: LogError.self) { try engine.log.partition(TopicPartition(topic, PartitionID(0))).append(late) }
        #expect(refused?.code == .producerFenced)
    }

    @Test("a crash after PrepareCommit commits on recovery; a crash before it aborts", arguments: [CrashPoint.afterPrepare, .betweenMarkers, .afterMarkersBeforeComplete, .afterFlush, .afterDataAppend, .afterParticipantRecorded, .afterOffsetsAppend])
    func recovery(point: CrashPoint) throws {
        let engine = try TestEngine(seed: UInt64(point.rawValue.count))
        let topic = try engine.createTopic("out", partitions: 3)
        try engine.reopenCleanly()
        let disk = engine.disk
        engine.crashPoints = CrashPoints { reached in if reached == point { disk.crash() } }
        try engine.reopenCleanly()
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "t")
        try producer.initTransactions()
        try producer.beginTransaction()
        for index in 0..<9 { try producer.send(topic: topic, key: nil, value: [UInt8]("v\(index)"), partition: PartitionID(Int32(index % 3))) }
        try? producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(9)], group: "g")
        do { try producer.commitTransaction() } catch { #expect(disk.isCrashed, "only the crash may fail the commit: \(error)") }
        #expect(disk.isCrashed, "crash point \(point) was never reached")
        try engine.crashAndReopen()
        let committed = [CrashPoint.afterPrepare, .betweenMarkers, .afterMarkersBeforeComplete].contains(point)
        let values = try engine.values(topic)
        #expect(values.count == (committed ? 9 : 0), "after a crash at \(point)")
        #expect(Set(values).count == values.count)
        let offset = engine.log.offsets.committed(group: "g", TopicPartition(topic, PartitionID(0)))?.offset
        #expect(offset == (committed ? Offset(9) : nil), "offsets commit with the output")
        for partition in try engine.log.topic(topic).partitions {
            #expect(partition.lastStableOffset == partition.logEndOffset, "recovery leaves no transaction open")
        }
        let state = engine.coordinator.metadata("t")?.state
        #expect(state == (committed ? .completeCommit : .completeAbort))
    }

    @Test("producer ids stay unique across restarts")
    func producerIDsAreUnique() throws {
        let engine = try TestEngine()
        var seen = Set<ProducerID>()
        for round in 0..<3 {
            for index in 0..<5 {
                let (id, _) = try engine.coordinator.initTransactions(transactionalID: "r\(round)-\(index)")
                #expect(seen.insert(id).inserted, "producer id \(id) handed out twice")
                #expect(seen.insert(try engine.coordinator.allocateProducerID()).inserted)
            }
            try engine.crashAndReopen()
        }
    }

    @Test("transactions past their timeout are aborted and their producer fenced")
    func timeout() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "slow")
        try producer.initTransactions(timeoutMilliseconds: 1000)
        try producer.beginTransaction()
        try producer.send(topic: topic, key: nil, value: [UInt8]("late"), partition: PartitionID(0))
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(0)], group: "g")
        engine.clock.advance(byMilliseconds: 1001)
        #expect(try engine.coordinator.abortExpiredTransactions() == ["slow"])
        let error = #expect(throws: TransactionError.self) { try producer.commitTransaction() }
        #expect(error?.code == .fenced)
        #expect(engine.coordinator.metadata("slow")?.state == .completeAbort)
        #expect(try engine.values(topic).isEmpty)
    }

    @Test("an operator can abort a stuck transaction; unknown ids are refused")
    func forceAbort() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("out")
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "stuck")
        try producer.initTransactions()
        try producer.beginTransaction()
        try producer.sendOffsets([TopicPartition(topic, PartitionID(0)): Offset(0)], group: "g")
        #expect(try engine.coordinator.forceAbort(transactionalID: "stuck") == .completeAbort)
        #expect(throws: TransactionError.self) { try engine.coordinator.forceAbort(transactionalID: "stuck") }
        let unknown = #expect(throws: TransactionError.self) { try engine.coordinator.forceAbort(transactionalID: "nope") }
        #expect(unknown?.code == .unknownTransactionalID)
    }
}

@Suite("Transactional batches stay under the topic's batch limit")
struct TransactionalBatchSizeTests {
    @Test("records with many headers are batched under a small limit", arguments: [UInt64(1), 2, 3])
    func headerHeavyRecords(seed: UInt64) throws {
        let engine = try TestEngine(seed: seed)
        let topic = TopicName(rawValue: "letters")!
        try engine.log.createTopic(topic, config: TopicConfig(partitionCount: 1, segmentBytesMax: 4096, batchBytesMax: 1024))
        let producer = TransactionalProducer(log: engine.log, coordinator: engine.coordinator, transactionalID: "headers")
        try producer.initTransactions()
        try producer.beginTransaction()
        var random = SeededRandom(seed: seed)
        for index in 0..<60 {
            let headers = (0..<12).map { RecordHeader("dlq.header-\($0)", String(repeating: "x", count: Int(random.next() % 20))) }
            try producer.send(topic: topic, key: [UInt8]("k\(index)"), value: [UInt8](String(repeating: "v", count: Int(random.next() % 100))),
                              headers: headers, partition: PartitionID(0))
        }
        try producer.commitTransaction()
        #expect(try engine.values(topic).count == 60, "seed \(seed)")
    }
}
