import Testing
import StreamCore
import RecordFormat
import LogStorage
@testable import KafkaBroker

@Suite struct FetchAndListOffsetsTests {
    @Test func anOffsetOutsideTheLogIsOutOfRange() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(values("a", 3))).errorCode == .none)
        let past = fixture.fetch("orders", from: 4, isolation: .readUncommitted)
        #expect(past.errorCode == .offsetOutOfRange)
        #expect(past.highWatermark == 3 && past.logStartOffset == 0 && past.batches.isEmpty)
        #expect(fixture.fetch("orders", from: -1, isolation: .readCommitted).errorCode == .offsetOutOfRange)
        let atEnd = fixture.fetch("orders", from: 3, isolation: .readUncommitted)
        #expect(atEnd.errorCode == .none && atEnd.batches.isEmpty, "the log end is in range: nothing yet")
        #expect(fixture.fetch("orders", partition: 1, from: 0, isolation: .readUncommitted).errorCode == .unknownTopicOrPartition)
        #expect(fixture.fetch("missing", from: 0, isolation: .readUncommitted).errorCode == .unknownTopicOrPartition)
        var future = FetchPartitionRequest(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)
        future.currentLeaderEpoch = 3
        let fenced = fixture.broker.fetch(FetchRequest(isolationLevel: .readUncommitted, topics: [FetchTopicRequest(topic: "orders", partitions: [future])]))
        #expect(fenced.responses[0].partitions[0].errorCode == .unknownLeaderEpoch)
    }

    @Test func aFetchInsideABatchReturnsTheWholeBatch() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(values("a", 5))).errorCode == .none)
        let result = fixture.fetch("orders", from: 2, isolation: .readUncommitted)
        #expect(result.batches.count == 1 && result.batches[0].header.baseOffset == 0)
        #expect(visibleValues(result, from: 2) == ["a2", "a3", "a4"])
    }

    /// The first partition with data returns its first batch whatever the limits; later
    /// partitions only what fits in what is left of the request's bytes.
    @Test func byteLimitsFollowKafka() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", partitions: 3)
        for partition in Int32(0)..<3 {
            for batch in 0..<2 {
                #expect(fixture.produce("orders", partition: partition, clientBatch(values("p\(partition)b\(batch)-", 10))).errorCode == .none)
            }
        }
        let batchBytes = clientBatch(values("p0b0-", 10)).count
        func fetch(maxBytes: Int32, partitionMaxBytes: Int32, hard: Bool = false) -> [Int] {
            let request = FetchRequest(maxBytes: maxBytes, isolationLevel: .readUncommitted, topics: [
                FetchTopicRequest(topic: "orders", partitions: (Int32(0)..<3).map {
                    FetchPartitionRequest(partition: $0, fetchOffset: 0, partitionMaxBytes: partitionMaxBytes)
                }),
            ], maxBytesAreHard: hard)
            return fixture.broker.fetch(request).responses[0].partitions.map(\.batches.count)
        }
        #expect(fetch(maxBytes: 1, partitionMaxBytes: 1) == [1, 0, 0])
        #expect(fetch(maxBytes: 1, partitionMaxBytes: 1, hard: true) == [0, 0, 0])
        #expect(fetch(maxBytes: Int32(batchBytes * 10), partitionMaxBytes: Int32(batchBytes)) == [1, 1, 1])
        #expect(fetch(maxBytes: Int32(batchBytes * 3), partitionMaxBytes: Int32(batchBytes * 2)) == [2, 1, 0])
        #expect(fetch(maxBytes: Int32.max, partitionMaxBytes: 1 << 20) == [2, 2, 2])
    }

    @Test func theBrokerCapsAResponsesBytes() throws {
        let batchBytes = clientBatch(values("p0b0-", 10)).count
        var config = KafkaBrokerConfig()
        config.fetchResponseBytesMax = batchBytes * 3
        let fixture = try BrokerFixture(config: config)
        fixture.createTopic("orders", partitions: 2)
        for partition in Int32(0)..<2 {
            for batch in 0..<2 {
                #expect(fixture.produce("orders", partition: partition, clientBatch(values("p\(partition)b\(batch)-", 10))).errorCode == .none)
            }
        }
        let response = fixture.broker.fetch(FetchRequest(isolationLevel: .readUncommitted, topics: [
            FetchTopicRequest(topic: "orders", partitions: (Int32(0)..<2).map { FetchPartitionRequest(partition: $0, fetchOffset: 0, partitionMaxBytes: 1 << 20) }),
        ]))
        #expect(response.responses[0].partitions.map(\.batches.count) == [2, 1])
        #expect(response.recordsSizeBytes == batchBytes * 3)
    }

    @Test func readableBytesSaysWhetherAFetchWouldReturnData() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let request = { (offset: Int64, isolation: IsolationLevel) in
            FetchRequest(isolationLevel: isolation, topics: [
                FetchTopicRequest(topic: "orders", partitions: [FetchPartitionRequest(partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20)]),
            ])
        }
        #expect(fixture.broker.readableBytes(request(0, .readUncommitted)) == 0)
        let batch = clientBatch(values("a", 4))
        #expect(fixture.produce("orders", batch).errorCode == .none)
        #expect(fixture.broker.readableBytes(request(0, .readUncommitted)) == Int64(batch.count))
        #expect(fixture.broker.readableBytes(request(4, .readUncommitted)) == 0)
        // Open transactional data is readable uncommitted only.
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        #expect(fixture.produce("orders", clientBatch(["open"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 0, transactional: true),
                                transactionalID: "t").errorCode == .none)
        #expect(fixture.broker.readableBytes(request(4, .readCommitted)) == 0)
        #expect(fixture.broker.readableBytes(request(4, .readUncommitted)) > 0)
        #expect(fixture.endTxn("t", producer, commit: true) == .none)
        #expect(fixture.broker.readableBytes(request(4, .readCommitted)) > 0)
    }

    @Test func listOffsetsByEarliestLatestTimestampAndMaxTimestamp() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let base = Timestamp(milliseconds: 1_750_000_000_000)
        // Offsets 0-2 at base+0..2, offsets 3-5 at base+100..102, offsets 6-7 at base+50..51.
        #expect(fixture.produce("orders", clientBatch(values("a", 3), timestamp: base)).errorCode == .none)
        #expect(fixture.produce("orders", clientBatch(values("b", 3), timestamp: Timestamp(milliseconds: base.rawValue + 100))).errorCode == .none)
        #expect(fixture.produce("orders", clientBatch(values("c", 2), timestamp: Timestamp(milliseconds: base.rawValue + 50))).errorCode == .none)
        func lookUp(_ timestamp: Int64) -> (Int64, Int64) {
            let result = fixture.listOffset("orders", timestamp: timestamp, isolation: .readUncommitted)
            #expect(result.errorCode == .none)
            return (result.offset, result.timestamp)
        }
        #expect(lookUp(ListOffsetsRequest.earliestTimestamp) == (0, -1))
        #expect(lookUp(ListOffsetsRequest.earliestLocalTimestamp) == (0, -1))
        #expect(lookUp(ListOffsetsRequest.latestTimestamp) == (8, -1))
        #expect(lookUp(base.rawValue + 1) == (1, base.rawValue + 1))
        #expect(lookUp(base.rawValue + 3) == (3, base.rawValue + 100))
        #expect(lookUp(base.rawValue + 101) == (4, base.rawValue + 101))
        #expect(lookUp(base.rawValue + 500) == (-1, -1))
        #expect(lookUp(ListOffsetsRequest.maxTimestamp) == (5, base.rawValue + 102))
        #expect(fixture.listOffset("orders", timestamp: -7, isolation: .readUncommitted).errorCode == .invalidRequest)
        #expect(fixture.listOffset("orders", partition: 3, timestamp: -1, isolation: .readUncommitted).errorCode == .unknownTopicOrPartition)
    }

    /// By timestamp, read-committed: an offset at or past the LSO is not given out.
    @Test func listOffsetsByTimestampStopsAtTheLSOForReadCommitted() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        let base = Timestamp(milliseconds: 1_750_000_000_000)
        #expect(fixture.produce("orders", clientBatch(["open"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 0,
                                                      transactional: true, timestamp: base), transactionalID: "t").errorCode == .none)
        #expect(fixture.listOffset("orders", timestamp: base.rawValue, isolation: .readCommitted).offset == -1)
        #expect(fixture.listOffset("orders", timestamp: base.rawValue, isolation: .readUncommitted).offset == 0)
    }
}
