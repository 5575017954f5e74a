import Foundation
import Logging
import Testing
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation
import EngineTestSupport
@testable import KafkaBroker

/// A broker over a data directory on a simulated disk (``TestEngine``), reopened after crashes.
final class BrokerFixture {
    let engine: TestEngine
    let config: KafkaBrokerConfig
    private(set) var broker: KafkaBroker

    init(seed: UInt64 = 1, config: KafkaBrokerConfig = KafkaBrokerConfig()) throws {
        engine = try TestEngine(seed: seed)
        self.config = config
        broker = try KafkaBroker(log: engine.log, coordinator: engine.coordinator, config: config)
    }

    var log: LogManager { engine.log }
    var disk: SimulatedDisk { engine.disk }
    var now: Timestamp { engine.clock.now() }

    /// Power loss (unsynced writes are lost), then a fresh open with recovery.
    func crashAndReopen() throws {
        try engine.crashAndReopen()
        broker = try KafkaBroker(log: engine.log, coordinator: engine.coordinator, config: config)
    }

    func reopenCleanly() throws {
        try engine.reopenCleanly()
        broker = try KafkaBroker(log: engine.log, coordinator: engine.coordinator, config: config)
    }

    @discardableResult
    func createTopic(_ name: String, partitions: Int32 = 1, configs: [CreatableTopicConfig] = []) -> CreatableTopicResult {
        let result = broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: name, numPartitions: partitions, configs: configs)]))
        return result.topics[0]
    }

    /// Produces one batch to one partition.
    func produce(
        _ topic: String, partition: Int32 = 0, _ batch: [UInt8], acks: Int16 = -1, transactionalID: String? = nil, apiVersion: Int16 = 9
    ) -> ProducePartitionResult {
        let response = broker.produce(ProduceRequest(
            apiVersion: apiVersion, transactionalID: transactionalID, acks: acks,
            topicData: [ProduceTopicRequest(name: topic, partitionData: [ProducePartitionRequest(index: partition, records: batch)])]))
        return response.responses[0].partitionResponses[0]
    }

    /// Fetches one partition once.
    func fetch(
        _ topic: String, partition: Int32 = 0, from offset: Int64, isolation: IsolationLevel, partitionMaxBytes: Int32 = 1 << 20
    ) -> FetchPartitionResult {
        let response = broker.fetch(FetchRequest(isolationLevel: isolation, topics: [
            FetchTopicRequest(topic: topic, partitions: [FetchPartitionRequest(partition: partition, fetchOffset: offset, partitionMaxBytes: partitionMaxBytes)]),
        ]))
        return response.responses[0].partitions[0]
    }

    /// Every value a Kafka consumer with `isolation` receives from a partition, fetching from
    /// offset 0 until a fetch returns nothing, and filtering read-committed fetches by their
    /// aborted-transactions lists as Kafka's consumer does.
    func consume(_ topic: String, partition: Int32 = 0, isolation: IsolationLevel, partitionMaxBytes: Int32 = 1 << 20) -> [String] {
        var offset: Int64 = 0
        var values: [String] = []
        while true {
            let result = fetch(topic, partition: partition, from: offset, isolation: isolation, partitionMaxBytes: partitionMaxBytes)
            #expect(result.errorCode == .none)
            guard result.errorCode == .none, let last = result.batches.last else { break }
            values += visibleValues(result, from: offset)
            offset = last.header.nextOffset.rawValue
        }
        return values
    }

    func listOffset(_ topic: String, partition: Int32 = 0, timestamp: Int64, isolation: IsolationLevel) -> ListOffsetsPartitionResult {
        broker.listOffsets(ListOffsetsRequest(isolationLevel: isolation, topics: [
            ListOffsetsTopicRequest(name: topic, partitions: [ListOffsetsPartitionRequest(partitionIndex: partition, timestamp: timestamp)]),
        ])).topics[0].partitions[0]
    }

    // MARK: Transactions as a Kafka client drives them

    func initProducer(_ transactionalID: String?, apiVersion: Int16 = 4) -> InitProducerIdResponse {
        broker.initProducerID(InitProducerIdRequest(apiVersion: apiVersion, transactionalID: transactionalID))
    }

    func addPartitions(_ transactionalID: String, _ producer: InitProducerIdResponse, _ topics: [(String, [Int32])], apiVersion: Int16 = 3)
        -> AddPartitionsToTxnResponse
    {
        broker.addPartitionsToTxn(AddPartitionsToTxnRequest(
            apiVersion: apiVersion, transactionalID: transactionalID, producerID: producer.producerID, producerEpoch: producer.producerEpoch,
            topics: topics.map { AddPartitionsToTxnTopic(name: $0.0, partitions: $0.1) }))
    }

    func endTxn(_ transactionalID: String, _ producer: InitProducerIdResponse, commit: Bool, apiVersion: Int16 = 3) -> KafkaErrorCode {
        broker.endTxn(EndTxnRequest(apiVersion: apiVersion, transactionalID: transactionalID, producerID: producer.producerID,
                                    producerEpoch: producer.producerEpoch, committed: commit))
    }
}

/// A batch as a Kafka client builds it.
func clientBatch(
    _ values: [String], producer: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1, transactional: Bool = false,
    codec: CompressionCodec = .none, timestamp: Timestamp = Timestamp(milliseconds: 1_750_000_000_000), keyed: Bool = false
) -> [UInt8] {
    var builder = RecordBatchBuilder(codec: codec, producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
                                     baseSequence: sequence, isTransactional: transactional)
    for (index, value) in values.enumerated() {
        builder.append(key: keyed ? Array("k\(index)".utf8) : nil, value: Array(value.utf8), headers: [],
                       timestamp: Timestamp(milliseconds: timestamp.rawValue + Int64(index)))
    }
    return try! builder.build()
}

func values(_ prefix: String, _ count: Int) -> [String] { (0..<count).map { "\(prefix)\($0)" } }

/// The values of a fetch's batches a consumer delivers: read-committed fetches drop the batches
/// of the aborted transactions they list (from each one's first offset to its ABORT marker),
/// and control batches are never delivered.
func visibleValues(_ result: FetchPartitionResult, from offset: Int64) -> [String] {
    var pending = (result.abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }
    var aborting: Set<Int64> = []
    var values: [String] = []
    for batch in result.batches {
        while let next = pending.first, next.firstOffset <= batch.header.lastOffset.rawValue {
            aborting.insert(next.producerID)
            pending.removeFirst()
        }
        if batch.header.isControl {
            if let marker = try? batch.controlRecord(), marker.type == .abort { aborting.remove(batch.header.producerID.rawValue) }
            continue
        }
        if result.abortedTransactions != nil && batch.header.isTransactional && aborting.contains(batch.header.producerID.rawValue) { continue }
        let records = (try? batch.records()) ?? []
        values += records.filter { $0.offset.rawValue >= offset }.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }
    return values
}

// MARK: Real directories

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/sluice-brokertests-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
    precondition(result != nil, "mkdtemp failed: \(errno)")
    return String(cString: result!)
}

func quietLogger() -> Logger {
    var logger = Logger(label: "broker-test")
    logger.logLevel = .critical
    return logger
}
