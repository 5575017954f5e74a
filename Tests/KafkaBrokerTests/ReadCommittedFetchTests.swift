import Foundation
import Testing
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import EngineTestSupport
@testable import KafkaBroker

/// The aborted-data case, driven as a Kafka client drives it, over a real data directory.
@Suite struct ReadCommittedFetchTests {
    /// A transactional producer as a Kafka client runs one: InitProducerId, then per transaction
    /// AddPartitionsToTxn, one batch per Produce with running sequences, EndTxn.
    struct ClientProducer {
        let id: String
        var producer: InitProducerIdResponse
        var sequence: Int32 = 0

        mutating func transaction(_ broker: KafkaBroker, topic: String, _ values: [String], commit: Bool, batchRecords: Int = 5) {
            let added = broker.addPartitionsToTxn(AddPartitionsToTxnRequest(
                apiVersion: 3, transactionalID: id, producerID: producer.producerID, producerEpoch: producer.producerEpoch,
                topics: [AddPartitionsToTxnTopic(name: topic, partitions: [0])]))
            #expect(added.resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
            send(broker, topic: topic, values, batchRecords: batchRecords)
            let ended = broker.endTxn(EndTxnRequest(apiVersion: 3, transactionalID: id, producerID: producer.producerID,
                                                    producerEpoch: producer.producerEpoch, committed: commit))
            #expect(ended == .none)
        }

        mutating func send(_ broker: KafkaBroker, topic: String, _ values: [String], batchRecords: Int = 5) {
            for start in stride(from: 0, to: values.count, by: batchRecords) {
                let chunk = Array(values[start..<min(values.count, start + batchRecords)])
                let batch = clientBatch(chunk, producer: producer.producerID, epoch: producer.producerEpoch, sequence: sequence,
                                        transactional: true, codec: .lz4)
                let response = broker.produce(ProduceRequest(apiVersion: 9, transactionalID: id, acks: -1, topicData: [
                    ProduceTopicRequest(name: topic, partitionData: [ProducePartitionRequest(index: 0, records: batch)]),
                ]))
                #expect(response.responses[0].partitionResponses[0].errorCode == .none)
                sequence += Int32(chunk.count)
            }
        }
    }

    @Test func tenCommittedTenAbortedFiveCommitted() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions()
        options.offsetsTopicPartitions = 2
        let log = try LogManager.open(directory: directory, options: options, logger: quietLogger())
        defer { log.close() }
        let coordinator = try TransactionCoordinator(log: log, config: testCoordinatorConfig())
        let broker = try KafkaBroker(log: log, coordinator: coordinator)
        #expect(broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: "orders", numPartitions: 1)])).topics[0].errorCode == .none)

        let initialised = broker.initProducerID(InitProducerIdRequest(apiVersion: 4, transactionalID: "copier"))
        #expect(initialised.errorCode == .none)
        var client = ClientProducer(id: "copier", producer: initialised)
        client.transaction(broker, topic: "orders", values("c", 10), commit: true)
        client.transaction(broker, topic: "orders", values("a", 10), commit: false)
        client.transaction(broker, topic: "orders", values("d", 5), commit: true)

        let fixtureless = Consumer(broker: broker)
        let committed = fixtureless.consume("orders", isolation: .readCommitted)
        #expect(committed == values("c", 10) + values("d", 5))
        #expect(fixtureless.consume("orders", isolation: .readUncommitted) == values("c", 10) + values("a", 10) + values("d", 5))
        // Small fetches cut the aborted transaction in the middle: the list still covers it.
        #expect(fixtureless.consume("orders", isolation: .readCommitted, partitionMaxBytes: 1) == committed)

        // 25 records and 3 markers: where read-committed reads end is the offset ListOffsets gives.
        let readCommittedEnd = fixtureless.listOffset("orders", isolation: .readCommitted)
        #expect(readCommittedEnd.errorCode == .none && readCommittedEnd.offset == 28)
        #expect(fixtureless.fetch("orders", from: 28, isolation: .readCommitted).batches.isEmpty)

        // An open transaction: read-committed readers stop at its first offset, and ListOffsets says so.
        let added = broker.addPartitionsToTxn(AddPartitionsToTxnRequest(
            apiVersion: 3, transactionalID: "copier", producerID: client.producer.producerID, producerEpoch: client.producer.producerEpoch,
            topics: [AddPartitionsToTxnTopic(name: "orders", partitions: [0])]))
        #expect(added.resultsByTopic[0].resultsByPartition[0].partitionErrorCode == .none)
        client.send(broker, topic: "orders", values("open", 3))
        #expect(fixtureless.listOffset("orders", isolation: .readCommitted).offset == 28)
        #expect(fixtureless.listOffset("orders", isolation: .readUncommitted).offset == 31)
        let stopped = fixtureless.fetch("orders", from: 28, isolation: .readCommitted)
        #expect(stopped.batches.isEmpty && stopped.lastStableOffset == 28 && stopped.highWatermark == 31)
        #expect(fixtureless.consume("orders", isolation: .readCommitted) == committed)
        #expect(fixtureless.consume("orders", isolation: .readUncommitted).count == 28)
    }

    /// The fixture's fetch helpers over any broker.
    struct Consumer {
        let broker: KafkaBroker

        func fetch(_ topic: String, from offset: Int64, isolation: IsolationLevel, partitionMaxBytes: Int32 = 1 << 20) -> FetchPartitionResult {
            broker.fetch(FetchRequest(isolationLevel: isolation, topics: [
                FetchTopicRequest(topic: topic, partitions: [FetchPartitionRequest(partition: 0, fetchOffset: offset, partitionMaxBytes: partitionMaxBytes)]),
            ])).responses[0].partitions[0]
        }

        func consume(_ topic: String, isolation: IsolationLevel, partitionMaxBytes: Int32 = 1 << 20) -> [String] {
            var offset: Int64 = 0
            var seen: [String] = []
            while true {
                let result = fetch(topic, from: offset, isolation: isolation, partitionMaxBytes: partitionMaxBytes)
                #expect(result.errorCode == .none)
                #expect((result.abortedTransactions == nil) == (isolation == .readUncommitted))
                guard let last = result.batches.last else { break }
                seen += visibleValues(result, from: offset)
                offset = last.header.nextOffset.rawValue
            }
            return seen
        }

        func listOffset(_ topic: String, isolation: IsolationLevel) -> ListOffsetsPartitionResult {
            broker.listOffsets(ListOffsetsRequest(isolationLevel: isolation, topics: [
                ListOffsetsTopicRequest(name: topic, partitions: [ListOffsetsPartitionRequest(partitionIndex: 0, timestamp: ListOffsetsRequest.latestTimestamp)]),
            ])).topics[0].partitions[0]
        }
    }
}
