import Testing
import StreamCore
import RecordFormat
import LogStorage
import Simulation
@testable import KafkaBroker

@Suite struct ProduceTests {
    @Test func aPlainBatchIsAppendedAndAnsweredWithItsOffsets() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let first = fixture.produce("orders", clientBatch(values("a", 3)), acks: 1)
        let second = fixture.produce("orders", clientBatch(values("b", 2)), acks: 1)
        #expect(first == ProducePartitionResult(index: 0, errorCode: .none, baseOffset: 0, logStartOffset: 0))
        #expect(second.errorCode == .none && second.baseOffset == 3 && second.logAppendTimeMilliseconds == -1)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == values("a", 3) + values("b", 2))
    }

    /// acks=all answers only once the batch is on disk: the segment's durable bytes hold it when
    /// the answer comes (with acks=1 they do not yet), and a power loss right after keeps it.
    @Test(arguments: [Int16(-1), 1])
    func acksAllIsSyncedBeforeTheAnswer(acks: Int16) throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let segment = "/data/topics/orders/0/00000000000000000000.log"
        let result = fixture.produce("orders", clientBatch(values("a", 4)), acks: acks)
        #expect(result.errorCode == .none)
        let written = fixture.disk.currentContents(path: segment)?.count ?? 0
        let durable = fixture.disk.durableContents(path: segment)?.count ?? 0
        #expect(written > 0)
        #expect(acks == -1 ? durable == written : durable == 0)
        if acks == -1 {
            try fixture.crashAndReopen()
            #expect(fixture.consume("orders", isolation: .readUncommitted) == values("a", 4))
        }
    }

    @Test func acksZeroAppendsAndSendsNoResponse() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let response = fixture.broker.produce(ProduceRequest(apiVersion: 9, acks: 0, topicData: [
            ProduceTopicRequest(name: "orders", partitionData: [ProducePartitionRequest(index: 0, records: clientBatch(["x"]))]),
        ]))
        #expect(!response.sendsResponse)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == ["x"])
    }

    @Test(arguments: [Int16(2), -2, 3])
    func otherAcksAreRefusedWithoutAppending(acks: Int16) throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(["x"]), acks: acks).errorCode == .invalidRequiredAcks)
        #expect(try fixture.log.partition(TopicPartition(TopicName(rawValue: "orders")!, 0)).logEndOffset == 0)
    }

    @Test func aRetriedDuplicateAnswersTheOriginalOffset() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer(nil)
        #expect(producer.errorCode == .none && producer.producerEpoch == 0)
        let first = clientBatch(values("a", 3), producer: producer.producerID, epoch: 0, sequence: 0)
        #expect(fixture.produce("orders", first).baseOffset == 0)
        #expect(fixture.produce("orders", clientBatch(values("b", 2), producer: producer.producerID, epoch: 0, sequence: 3)).baseOffset == 3)
        let retried = fixture.produce("orders", first)
        #expect(retried.errorCode == .none)
        #expect(retried.baseOffset == 0)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == values("a", 3) + values("b", 2))
    }

    @Test func aSequenceGapIsOutOfOrderAndAppendsNothing() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer(nil)
        #expect(fixture.produce("orders", clientBatch(values("a", 3), producer: producer.producerID, epoch: 0, sequence: 0)).errorCode == .none)
        let gap = fixture.produce("orders", clientBatch(["late"], producer: producer.producerID, epoch: 0, sequence: 5))
        #expect(gap.errorCode == .outOfOrderSequenceNumber)
        #expect(gap.baseOffset == -1)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == values("a", 3))
    }

    /// A producer the partition has no state for (new, or expired) that does not start at
    /// sequence 0 gets UNKNOWN_PRODUCER_ID, so the client resets its sequences.
    @Test func anUnknownProducerNotStartingAtZeroIsUnknownProducerID() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer(nil)
        let result = fixture.produce("orders", clientBatch(["x"], producer: producer.producerID, epoch: 0, sequence: 7))
        #expect(result.errorCode == .unknownProducerId)
        #expect(fixture.consume("orders", isolation: .readUncommitted).isEmpty)
    }

    @Test func anOlderEpochOfAnIdempotentProducerIsInvalidProducerEpoch() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(["a"], producer: 500, epoch: 3, sequence: 0)).errorCode == .none)
        let older = fixture.produce("orders", clientBatch(["b"], producer: 500, epoch: 2, sequence: 0))
        #expect(older.errorCode == .invalidProducerEpoch)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == ["a"])
    }

    @Test func aBatchFailingItsCRCIsCorruptAndAppendsNothing() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        var batch = clientBatch(values("a", 3))
        batch[batch.count - 2] ^= 0x40
        let result = fixture.produce("orders", batch)
        #expect(result.errorCode == .corruptMessage)
        #expect(fixture.produce("orders", clientBatch(["ok"])).baseOffset == 0, "the refused batch took no offsets")
        #expect(fixture.consume("orders", isolation: .readUncommitted) == ["ok"])
    }

    @Test func aBatchOverTheTopicsLimitIsMessageTooLarge() throws {
        let fixture = try BrokerFixture()
        #expect(fixture.createTopic("orders", configs: [CreatableTopicConfig(name: "max.message.bytes", value: "1024")]).errorCode == .none)
        let big = clientBatch([String(repeating: "x", count: 1500)])
        #expect(fixture.produce("orders", big).errorCode == .messageTooLarge)
        #expect(fixture.produce("orders", clientBatch(["small"])).baseOffset == 0)
    }

    @Test func olderMagicIsUnsupportedForMessageFormat() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        var batch = clientBatch(["x"])
        batch[RecordBatchHeader.magicPosition] = 1
        #expect(fixture.produce("orders", batch).errorCode == .unsupportedForMessageFormat)
    }

    @Test func malformedRecordsFieldsAreRefused() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(["a"]) + clientBatch(["b"])).errorCode == .invalidRecord, "two batches")
        #expect(fixture.produce("orders", []).errorCode == .invalidRecord, "no batch")
        #expect(fixture.produce("orders", Array(clientBatch(["a"]).dropLast(3))).errorCode == .corruptMessage, "truncated")
        let marker = RecordBatchBuilder.controlBatch(type: .commit, producerID: ProducerID(7), producerEpoch: ProducerEpoch(0),
                                                     coordinatorEpoch: 0, timestamp: fixture.now)
        #expect(fixture.produce("orders", marker).errorCode == .invalidRecord, "clients may not write markers")
        #expect(fixture.produce("orders", clientBatch(["a"], producer: 9, epoch: 0, sequence: -1)).errorCode == .invalidRecord)
        #expect(fixture.produce("orders", clientBatch(["z"], codec: .zstd), apiVersion: 6).errorCode == .unsupportedCompressionType)
        #expect(fixture.consume("orders", isolation: .readUncommitted).isEmpty)
    }

    @Test func aCompactedTopicNeedsAKeyOnEveryRecord() throws {
        let fixture = try BrokerFixture()
        #expect(fixture.createTopic("state", configs: [CreatableTopicConfig(name: "cleanup.policy", value: "compact")]).errorCode == .none)
        #expect(fixture.produce("state", clientBatch(["keyless"])).errorCode == .invalidRecord)
        #expect(fixture.produce("state", clientBatch(["keyed"], keyed: true)).baseOffset == 0)
    }

    /// A producer with a transaction open in a partition may not write plain batches there.
    @Test func aPlainBatchInsideTheProducersOpenTransactionIsInvalidTxnState() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        #expect(fixture.produce("orders", clientBatch(["in"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 0,
                                                      transactional: true), transactionalID: "t").errorCode == .none)
        let plain = fixture.produce("orders", clientBatch(["out"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 1))
        #expect(plain.errorCode == .invalidTxnState)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == ["in"])
    }

    @Test func anLZ4BatchIsStoredAndServedAsItCame() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        var batch = clientBatch(values("v", 50), codec: .lz4)
        #expect(fixture.produce("orders", batch).errorCode == .none)
        let fetched = fixture.fetch("orders", from: 0, isolation: .readUncommitted)
        // Only the leader epoch (outside the CRC) is stamped, as Kafka's leader does.
        RecordBatch.setPartitionLeaderEpoch(0, in: &batch)
        #expect(fetched.records == batch)
        #expect(fetched.batches[0].hasValidChecksum())
        #expect(fixture.consume("orders", isolation: .readUncommitted) == values("v", 50))
    }

    @Test func unknownTopicsAndPartitionsAndInternalTopicsAreRefused() throws {
        var config = KafkaBrokerConfig()
        config.autoCreateTopics = false
        let fixture = try BrokerFixture(config: config)
        fixture.createTopic("orders")
        #expect(fixture.produce("nope", clientBatch(["x"])).errorCode == .unknownTopicOrPartition)
        #expect(fixture.produce("orders", partition: 1, clientBatch(["x"])).errorCode == .unknownTopicOrPartition)
        #expect(fixture.produce("bad name!", clientBatch(["x"])).errorCode == .unknownTopicOrPartition)
        #expect(fixture.produce("__consumer_offsets", clientBatch(["x"])).errorCode == .invalidTopicException)
        #expect(!fixture.log.hasTopic(TopicName(rawValue: "nope")!), "produce never creates topics")
    }

    @Test func eachPartitionOfARequestIsAnsweredIndependently() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", partitions: 2)
        var corrupt = clientBatch(["bad"])
        corrupt[corrupt.count - 1] ^= 1
        let response = fixture.broker.produce(ProduceRequest(apiVersion: 9, acks: -1, topicData: [
            ProduceTopicRequest(name: "orders", partitionData: [
                ProducePartitionRequest(index: 0, records: clientBatch(["p0"])),
                ProducePartitionRequest(index: 1, records: corrupt),
                ProducePartitionRequest(index: 2, records: clientBatch(["p2"])),
            ]),
            ProduceTopicRequest(name: "missing", partitionData: [ProducePartitionRequest(index: 0, records: clientBatch(["m"]))]),
        ]))
        #expect(response.responses.map(\.name) == ["orders", "missing"])
        #expect(response.responses[0].partitionResponses.map(\.errorCode) == [.none, .corruptMessage, .unknownTopicOrPartition])
        #expect(response.responses[1].partitionResponses.map(\.errorCode) == [.unknownTopicOrPartition])
        #expect(fixture.consume("orders", partition: 0, isolation: .readUncommitted) == ["p0"])
        #expect(fixture.consume("orders", partition: 1, isolation: .readUncommitted).isEmpty)
    }

    /// A full disk refuses the batch with KAFKA_STORAGE_ERROR and leaves nothing of it; when space
    /// comes back the same batch goes in at the next offset.
    @Test(arguments: [0, 40])
    func aFullDiskIsAStorageErrorWithNothingAppended(spareBytes: Int) throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(values("a", 2))).errorCode == .none)
        fixture.disk.faults = .init(capacityBytes: fixture.disk.storedBytes + spareBytes)
        let big = clientBatch([String(repeating: "y", count: 200)])
        let refused = fixture.produce("orders", big)
        #expect(refused.errorCode == .kafkaStorageError)
        #expect(fixture.consume("orders", isolation: .readUncommitted) == values("a", 2))
        fixture.disk.faults = .none
        #expect(fixture.produce("orders", big).baseOffset == 2)
    }

    @Test func aFailedSyncIsAStorageError() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        fixture.disk.faults = .init(syncFailureProbability: 1)
        #expect(fixture.produce("orders", clientBatch(["a"]), acks: -1).errorCode == .kafkaStorageError)
        // The directory takes no writes after a failed sync, until it is reopened.
        fixture.disk.faults = .none
        #expect(fixture.produce("orders", clientBatch(["b"]), acks: 1).errorCode == .kafkaStorageError)
    }
}
