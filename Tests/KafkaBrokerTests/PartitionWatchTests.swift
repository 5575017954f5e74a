import Testing
import StreamCore
import RecordFormat
import LogStorage
import Transactions
@testable import KafkaBroker

/// A thread-safe counter for callbacks.
final class FiredCount: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    private var sawEnd: [Offset] = []
    func add(_ end: Offset? = nil) {
        lock.lock(); defer { lock.unlock() }
        value += 1
        if let end { sawEnd.append(end) }
    }
    var count: Int {
        lock.lock(); defer { lock.unlock() }
        return value
    }
    var endsSeen: [Offset] {
        lock.lock(); defer { lock.unlock() }
        return sawEnd
    }
}

@Suite struct PartitionWatchTests {
    static let orders = TopicPartition(TopicName(rawValue: "orders")!, 0)
    static let other = TopicPartition(TopicName(rawValue: "orders")!, 1)

    func position(_ fixture: BrokerFixture, _ topicPartition: TopicPartition) throws -> WatchedPosition {
        let partition = try fixture.log.partition(topicPartition)
        return WatchedPosition(topicPartition, logEndOffset: partition.logEndOffset, lastStableOffset: partition.lastStableOffset)
    }

    @Test func firesOnceWhenTheBrokerAppends() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", partitions: 2)
        let fired = FiredCount()
        let log = fixture.log
        let watch = fixture.broker.watch([try position(fixture, Self.orders), try position(fixture, Self.other)]) {
            // What a fetch made from the callback sees: the append is visible.
            fired.add(try? log.partition(Self.other).logEndOffset)
        }
        #expect(fired.count == 0 && !watch.isFinished)
        #expect(fixture.produce("orders", partition: 1, clientBatch(values("a", 2)), acks: 1).errorCode == .none)
        #expect(fired.count == 1)
        #expect(fired.endsSeen == [2])
        #expect(watch.isFinished)
        #expect(fixture.produce("orders", partition: 0, clientBatch(["b"]), acks: 1).errorCode == .none)
        #expect(fired.count == 1, "once only")
        #expect(try fixture.log.partition(Self.orders).changeObservers.count == 0, "the other partition's registration is gone")
    }

    @Test func firesWhenAPlainLogProducerAppends() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let fired = FiredCount()
        _ = fixture.broker.watch([try position(fixture, Self.orders)]) { fired.add() }
        var config = ProducerConfig()
        config.lingerMilliseconds = 0
        let producer = LogProducer(log: fixture.log, config: config)
        try producer.send(topic: Self.orders.topic, key: nil, value: Array("from a pipeline".utf8), partition: 0)
        try producer.flush()
        #expect(fired.count == 1)
    }

    /// A read-committed waiter wakes when the COMMIT marker moves the LSO, though the data was
    /// already there.
    @Test func firesWhenACommitMovesTheLastStableOffset() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        #expect(fixture.produce("orders", clientBatch(["x"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 0,
                                                      transactional: true), transactionalID: "t").errorCode == .none)
        let seen = try position(fixture, Self.orders)
        #expect(seen.lastStableOffset == 0 && seen.logEndOffset == 1)
        let fired = FiredCount()
        _ = fixture.broker.watch([seen]) { fired.add() }
        #expect(fired.count == 0)
        #expect(fixture.endTxn("t", producer, commit: true) == .none)
        #expect(fired.count == 1)
        #expect(try fixture.log.partition(Self.orders).lastStableOffset == 2)
    }

    @Test func aCancelledWatchNeverFires() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let fired = FiredCount()
        let watch = fixture.broker.watch([try position(fixture, Self.orders)]) { fired.add() }
        watch.cancel()
        #expect(watch.isFinished)
        #expect(try fixture.log.partition(Self.orders).changeObservers.count == 0)
        #expect(fixture.produce("orders", clientBatch(["x"])).errorCode == .none)
        #expect(fired.count == 0)
    }

    /// An append between the caller's look and the watch is not missed: the watch fires at once.
    @Test func aPositionAlreadyPassedFiresAtOnce() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let seen = try position(fixture, Self.orders)
        #expect(fixture.produce("orders", clientBatch(["x"])).errorCode == .none)
        let fired = FiredCount()
        let watch = fixture.broker.watch([seen]) { fired.add() }
        #expect(fired.count == 1 && watch.isFinished)
        let gone = WatchedPosition(TopicPartition(TopicName(rawValue: "deleted")!, 0), logEndOffset: 0, lastStableOffset: 0)
        _ = fixture.broker.watch([gone]) { fired.add() }
        #expect(fired.count == 2, "an unknown partition fires at once, so the next fetch answers its error")
    }

    @Test func concurrentAppendsFireEachWatchExactlyOnce() async throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", partitions: 2)
        let fired = FiredCount()
        var watches: [PartitionWatch] = []
        for _ in 0..<50 {
            watches.append(fixture.broker.watch([try position(fixture, Self.orders), try position(fixture, Self.other)]) { fired.add() })
        }
        let broker = fixture.broker
        await withTaskGroup(of: Void.self) { group in
            for partition in Int32(0)..<2 {
                group.addTask {
                    for index in 0..<20 {
                        _ = broker.produce(ProduceRequest(apiVersion: 9, acks: 1, topicData: [
                            ProduceTopicRequest(name: "orders", partitionData: [ProducePartitionRequest(index: partition, records: clientBatch(["\(index)"]))]),
                        ]))
                    }
                }
            }
        }
        #expect(fired.count == 50)
        #expect(watches.allSatisfy { $0.isFinished })
    }
}

/// A Fetch long poll as the server runs one: fetch, too little, watch what the fetch saw, fetch
/// again when woken.
@Suite struct LongPollTests {
    @Test func aReadCommittedLongPollWakesAtTheCommitAndThenReadsIt() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let request = FetchRequest(minBytes: 1, isolationLevel: .readCommitted, topics: [
            FetchTopicRequest(topic: "orders", partitions: [FetchPartitionRequest(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
        ])
        let first = fixture.broker.fetch(request)
        #expect(first.recordsSizeBytes == 0 && fixture.broker.readableBytes(request) == 0)
        let woken = FiredCount()
        _ = fixture.broker.watch(first.watchedPositions) { woken.add() }

        // Open transactional data moves the log end (a wake-up) but is not readable yet.
        let producer = fixture.initProducer("t")
        _ = fixture.addPartitions("t", producer, [("orders", [0])])
        #expect(fixture.produce("orders", clientBatch(["x"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: 0,
                                                      transactional: true), transactionalID: "t").errorCode == .none)
        #expect(woken.count == 1)
        let second = fixture.broker.fetch(request)
        #expect(second.recordsSizeBytes == 0 && fixture.broker.readableBytes(request) == 0, "nothing readable: the server waits again")
        _ = fixture.broker.watch(second.watchedPositions) { woken.add() }
        #expect(woken.count == 1)

        #expect(fixture.endTxn("t", producer, commit: true) == .none)
        #expect(woken.count == 2)
        #expect(fixture.broker.readableBytes(request) > 0)
        let third = fixture.broker.fetch(request)
        #expect(visibleValues(third.responses[0].partitions[0], from: 0) == ["x"])
    }
}

/// The producer's lock keeps a transactional batch from landing after its transaction's marker,
/// whatever the interleaving: no partition is ever left with a transaction the coordinator does
/// not know (which would hold the LSO back for good).
@Suite struct TransactionalWriteRaceTests {
    @Test func aBatchRacingEndTxnLandsBeforeTheMarkerOrNotAtAll() async throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        let producer = fixture.initProducer("t")
        let broker = fixture.broker
        let partition = try fixture.log.partition(TopicPartition(TopicName(rawValue: "orders")!, 0))
        var sequence: Int32 = 0
        for round in 0..<100 {
            _ = fixture.addPartitions("t", producer, [("orders", [0])])
            #expect(fixture.produce("orders", clientBatch(["first\(round)"], producer: producer.producerID, epoch: producer.producerEpoch,
                                                          sequence: sequence, transactional: true), acks: 1, transactionalID: "t").errorCode == .none)
            sequence += 1
            let racing = clientBatch(["racing\(round)"], producer: producer.producerID, epoch: producer.producerEpoch, sequence: sequence,
                                     transactional: true)
            let results = await withTaskGroup(of: (Bool, KafkaErrorCode).self) { group in
                group.addTask {
                    let response = broker.produce(ProduceRequest(apiVersion: 9, transactionalID: "t", acks: 1, topicData: [
                        ProduceTopicRequest(name: "orders", partitionData: [ProducePartitionRequest(index: 0, records: racing)]),
                    ]))
                    return (true, response.responses[0].partitionResponses[0].errorCode)
                }
                group.addTask {
                    (false, broker.endTxn(EndTxnRequest(apiVersion: 3, transactionalID: "t", producerID: producer.producerID,
                                                        producerEpoch: producer.producerEpoch, committed: true)))
                }
                var collected: [(Bool, KafkaErrorCode)] = []
                for await result in group { collected.append(result) }
                return collected
            }
            #expect(results.first { !$0.0 }?.1 == KafkaErrorCode.none, "round \(round): the commit")
            if results.first(where: { $0.0 })?.1 == KafkaErrorCode.none { sequence += 1 }
            #expect(partition.openTransactions.isEmpty, "round \(round): a batch landed after the marker")
            #expect(partition.lastStableOffset == partition.logEndOffset, "round \(round)")
        }
    }
}
