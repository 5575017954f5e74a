import Testing
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation
import EngineTestSupport
@testable import KafkaBroker

@Suite struct TransactionAPITests {
    func transactionalBatch(_ values: [String], _ producer: InitProducerIdResponse, sequence: Int32) -> [UInt8] {
        clientBatch(values, producer: producer.producerID, epoch: producer.producerEpoch, sequence: sequence, transactional: true)
    }

    /// A zombie (the same transactional id, an older epoch) is fenced on produce, on
    /// AddPartitionsToTxn and on EndTxn, and what it wrote before is never committed.
    @Test func aZombieIsFencedAndCanNeverCommit() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("out")
        let zombie = fixture.initProducer("copier")
        #expect(zombie.errorCode == .none)
        #expect(fixture.addPartitions("copier", zombie, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        #expect(fixture.produce("out", transactionalBatch(values("z", 3), zombie, sequence: 0), transactionalID: "copier").errorCode == .none)

        // The new holder takes over: the zombie's open transaction is aborted, its epoch fenced.
        let successor = fixture.initProducer("copier")
        #expect(successor.errorCode == .none)
        #expect(successor.producerID == zombie.producerID && successor.producerEpoch > zombie.producerEpoch)

        #expect(fixture.produce("out", transactionalBatch(["z3"], zombie, sequence: 3), transactionalID: "copier").errorCode == .invalidProducerEpoch)
        #expect(fixture.addPartitions("copier", zombie, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .producerFenced)
        #expect(fixture.addPartitions("copier", zombie, [("out", [0])], apiVersion: 1).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .invalidProducerEpoch)
        #expect(fixture.endTxn("copier", zombie, commit: true) == .producerFenced)
        #expect(fixture.endTxn("copier", zombie, commit: true, apiVersion: 1) == .invalidProducerEpoch)
        #expect(fixture.consume("out", isolation: .readCommitted).isEmpty)

        // The successor commits its own work; the zombie's stays invisible.
        #expect(fixture.addPartitions("copier", successor, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        #expect(fixture.produce("out", transactionalBatch(values("s", 2), successor, sequence: 0), transactionalID: "copier").errorCode == .none)
        #expect(fixture.endTxn("copier", successor, commit: true) == .none)
        #expect(fixture.endTxn("copier", zombie, commit: true) == .producerFenced)
        #expect(fixture.consume("out", isolation: .readCommitted) == values("s", 2))
    }

    @Test(arguments: [(Int16(9), KafkaErrorCode.invalidTxnState), (11, .transactionAbortable)])
    func aBatchToAPartitionNotAddedIsRefused(apiVersion: Int16, expected: KafkaErrorCode) throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("out", partitions: 2)
        let producer = fixture.initProducer("t")
        #expect(fixture.addPartitions("t", producer, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        let result = fixture.produce("out", partition: 1, transactionalBatch(["x"], producer, sequence: 0), transactionalID: "t", apiVersion: apiVersion)
        #expect(result.errorCode == expected)
        #expect(try fixture.log.partition(TopicPartition(TopicName(rawValue: "out")!, 1)).logEndOffset == 0)
        // Without the transactional id, or under another one, it is refused as well.
        #expect(fixture.produce("out", transactionalBatch(["x"], producer, sequence: 0)).errorCode == .invalidTxnState)
        #expect(fixture.produce("out", transactionalBatch(["x"], producer, sequence: 0), transactionalID: "other").errorCode == .invalidProducerIdMapping)
    }

    @Test func addPartitionsWithAnUnknownTopicAddsNothing() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("out")
        let producer = fixture.initProducer("t")
        let response = fixture.addPartitions("t", producer, [("out", [0, 5]), ("missing", [0])])
        #expect(response.resultsByTopic.map(\.name) == ["out", "missing"])
        #expect(response.resultsByTopic[0].resultsByPartition.map(\.partitionErrorCode) == [.operationNotAttempted, .unknownTopicOrPartition])
        #expect(response.resultsByTopic[1].resultsByPartition.map(\.partitionErrorCode) == [.unknownTopicOrPartition])
        #expect(fixture.engine.coordinator.metadata("t")?.state == .empty)
        let unknown = fixture.addPartitions("nobody", producer, [("out", [0])])
        #expect(unknown.resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .invalidProducerIdMapping)
    }

    @Test func endTxnAnswersByTheTransactionsState() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("out")
        let producer = fixture.initProducer("t")
        #expect(fixture.endTxn("t", producer, commit: true) == .invalidTxnState, "nothing was started")
        #expect(fixture.addPartitions("t", producer, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        #expect(fixture.produce("out", transactionalBatch(["x"], producer, sequence: 0), transactionalID: "t").errorCode == .none)
        #expect(fixture.endTxn("t", producer, commit: true) == .none)
        #expect(fixture.endTxn("t", producer, commit: true) == .none, "a retried commit")
        #expect(fixture.endTxn("t", producer, commit: false) == .invalidTxnState)
        var other = producer
        other.producerID += 1
        #expect(fixture.endTxn("t", other, commit: true) == .invalidProducerIdMapping)
        #expect(fixture.endTxn("unknown", producer, commit: true) == .invalidProducerIdMapping)
        #expect(fixture.consume("out", isolation: .readCommitted) == ["x"])
    }

    /// A crash after the commit point (PrepareCommit synced) but before the marker: the client's
    /// EndTxn failed, a retry meanwhile is CONCURRENT_TRANSACTIONS, recovery completes the commit,
    /// and the retried EndTxn(commit) then answers NONE.
    @Test func anEndTxnCutShortAfterTheCommitPointCompletesAtRecovery() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        #expect(fixture.produce("orders", transactionalBatch(values("x", 3), producer, sequence: 0), transactionalID: "t").errorCode == .none)
        fixture.disk.crashWhen { $0.kind == .write && $0.path.hasPrefix("/data/topics/orders/") && $0.path.hasSuffix(".log") }
        #expect(fixture.endTxn("t", producer, commit: true) != .none)
        #expect(fixture.disk.isCrashed, "the crash landed at the marker")
        #expect(fixture.engine.coordinator.metadata("t")?.state == .prepareCommit)
        #expect(fixture.endTxn("t", producer, commit: true) == .concurrentTransactions)
        try fixture.crashAndReopen()
        #expect(fixture.engine.coordinator.metadata("t")?.state == .completeCommit)
        #expect(fixture.endTxn("t", producer, commit: true) == .none)
        #expect(fixture.consume("orders", isolation: .readCommitted) == values("x", 3))
    }

    /// AddOffsetsToTxn adds the group's `__consumer_offsets` partition; offsets staged there (as
    /// TxnOffsetCommit stages them) become the group's committed offsets at the COMMIT marker and
    /// are dropped by an ABORT marker.
    @Test(arguments: [true, false])
    func offsetsStagedInATransactionFollowItsEnd(commit: Bool) throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("in")
        let producer = fixture.initProducer("t")
        let offsetsPartition = fixture.log.offsets.partition(forGroup: "payment-service")
        #expect(fixture.broker.addOffsetsToTxn(AddOffsetsToTxnRequest(
            apiVersion: 3, transactionalID: "t", producerID: producer.producerID, producerEpoch: producer.producerEpoch,
            groupID: "payment-service")) == .none)
        #expect(fixture.engine.coordinator.metadata("t")?.participants == [offsetsPartition.topicPartition])

        let source = TopicPartition(TopicName(rawValue: "in")!, 0)
        let offsets = [source: CommittedOffset(offset: 42, commitTimestamp: fixture.now)]
        // As TxnOffsetCommit writes: verified, under the producer's lock, continuing its sequence.
        let log = fixture.log
        let now = fixture.now
        for round in 0..<2 {
            let written = fixture.broker.withTransactionalWrite(
                transactionalID: "t", producerID: producer.producerID, producerEpoch: producer.producerEpoch,
                to: offsetsPartition.topicPartition, abortable: false
            ) { (partition, nextSequence) throws(LogError) -> AppendResult in
                #expect(nextSequence == Int32(round))
                var builder = RecordBatchBuilder(producerID: ProducerID(producer.producerID), producerEpoch: ProducerEpoch(producer.producerEpoch),
                                                 baseSequence: nextSequence, isTransactional: true)
                for record in ConsumerOffsets.offsetRecords(group: "payment-service", offsets: offsets) {
                    builder.append(key: record.key, value: record.value, headers: [], timestamp: now)
                }
                let placed = try partition.append(try! builder.build())
                log.offsets.stage(group: "payment-service", offsets: offsets, producerID: ProducerID(producer.producerID))
                return placed
            }
            #expect((try? written.get()) != nil)
        }
        #expect(fixture.log.offsets.committed(group: "payment-service", source) == nil)

        #expect(fixture.endTxn("t", producer, commit: commit) == .none)
        #expect(fixture.log.offsets.committed(group: "payment-service", source)?.offset == (commit ? 42 : nil))
        try fixture.reopenCleanly()
        #expect(fixture.log.offsets.committed(group: "payment-service", source)?.offset == (commit ? 42 : nil), "the same after a reopen")
    }

    /// TxnOffsetCommit's write is verified as Produce's: a zombie, or a transaction that did not
    /// add the group's partition, writes nothing.
    @Test func transactionalWritesAreVerified() throws {
        let fixture = try BrokerFixture()
        let zombie = fixture.initProducer("t")
        let offsetsPartition = fixture.log.offsets.partition(forGroup: "g").topicPartition
        func write(_ producer: InitProducerIdResponse, abortable: Bool = false) -> KafkaErrorCode {
            let result = fixture.broker.withTransactionalWrite(
                transactionalID: "t", producerID: producer.producerID, producerEpoch: producer.producerEpoch, to: offsetsPartition,
                abortable: abortable) { (_, _) throws(LogError) in 1 }
            if case .failure(let refusal) = result { return refusal.code }
            return .none
        }
        #expect(write(zombie) == .invalidTxnState, "the group's partition was not added")
        #expect(write(zombie, abortable: true) == .transactionAbortable)
        let successor = fixture.initProducer("t")
        #expect(fixture.broker.addOffsetsToTxn(AddOffsetsToTxnRequest(
            apiVersion: 3, transactionalID: "t", producerID: successor.producerID, producerEpoch: successor.producerEpoch, groupID: "g")) == .none)
        #expect(write(zombie) == .invalidProducerEpoch)
        #expect(write(successor) == .none)
        #expect(fixture.broker.addOffsetsToTxn(AddOffsetsToTxnRequest(
            apiVersion: 1, transactionalID: "t", producerID: zombie.producerID, producerEpoch: zombie.producerEpoch, groupID: "g")) == .invalidProducerEpoch)
    }

    @Test func initProducerIDGivesIdempotentProducersFreshIDs() throws {
        let fixture = try BrokerFixture()
        let first = fixture.initProducer(nil)
        let second = fixture.initProducer(nil)
        #expect(first.errorCode == .none && second.errorCode == .none)
        #expect(first.producerID != second.producerID)
        #expect(first.producerEpoch == 0 && second.producerEpoch == 0)
        #expect(fixture.initProducer("").errorCode == .invalidRequest)
    }

    /// KIP-360: a producer that sends its current id and epoch gets them bumped; anything else is
    /// fenced (INVALID_PRODUCER_EPOCH before v4).
    @Test func theKIP360BumpChecksTheProducersIDAndEpoch() throws {
        let fixture = try BrokerFixture()
        let first = fixture.initProducer("t")
        let bumped = fixture.broker.initProducerID(InitProducerIdRequest(
            apiVersion: 4, transactionalID: "t", producerID: first.producerID, producerEpoch: first.producerEpoch))
        #expect(bumped.errorCode == .none && bumped.producerID == first.producerID && bumped.producerEpoch == first.producerEpoch + 1)
        let stale = InitProducerIdRequest(apiVersion: 4, transactionalID: "t", producerID: first.producerID, producerEpoch: first.producerEpoch)
        #expect(fixture.broker.initProducerID(stale).errorCode == .producerFenced)
        var old = stale
        old.apiVersion = 3
        #expect(fixture.broker.initProducerID(old).errorCode == .invalidProducerEpoch)
        let stranger = InitProducerIdRequest(apiVersion: 4, transactionalID: "t", producerID: first.producerID + 100, producerEpoch: 0)
        #expect(fixture.broker.initProducerID(stranger).errorCode == .producerFenced)
        #expect(fixture.engine.coordinator.metadata("t")?.producerEpoch.rawValue == bumped.producerEpoch, "refused bumps changed nothing")
    }

    @Test(arguments: [Int32(0), -5, 900_001])
    func aTransactionTimeoutOutOfBoundsIsRefused(timeout: Int32) throws {
        let fixture = try BrokerFixture()
        let response = fixture.broker.initProducerID(InitProducerIdRequest(apiVersion: 4, transactionalID: "t", transactionTimeoutMilliseconds: timeout))
        #expect(response.errorCode == .invalidTransactionTimeout)
        #expect(fixture.engine.coordinator.metadata("t") == nil)
    }

    /// A transaction the coordinator timed out is aborted under a bumped epoch: its producer is
    /// fenced from then on, and its data never shows.
    @Test func aTimedOutTransactionFencesItsProducer() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("out")
        let producer = fixture.broker.initProducerID(InitProducerIdRequest(apiVersion: 4, transactionalID: "t", transactionTimeoutMilliseconds: 1000))
        #expect(fixture.addPartitions("t", producer, [("out", [0])]).resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        #expect(fixture.produce("out", transactionalBatch(["late"], producer, sequence: 0), transactionalID: "t").errorCode == .none)
        fixture.engine.clock.advance(byMilliseconds: 2000)
        #expect(try fixture.engine.coordinator.abortExpiredTransactions() == ["t"])
        #expect(fixture.endTxn("t", producer, commit: true) == .producerFenced)
        #expect(fixture.consume("out", isolation: .readCommitted).isEmpty)
    }
}
