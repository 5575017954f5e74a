import Foundation
import StreamCore
import RecordFormat
import KafkaProtocol
import KafkaServer
import KafkaBroker
@testable import KafkaGateway

/// What a request got: a response, no response (Produce acks=0), or nothing in time.
enum RouteAnswer {
    case response(KafkaStruct)
    case noResponse
    case timedOut
}

extension GatewayFixture {
    /// `body` sent at `version` as the wire carries it (encoded and decoded, so every field the
    /// version lacks is at its default), and the answer as a client of that version reads it
    /// (encoded and decoded): a field set that the version lacks fails here as on the wire.
    func exchange(_ api: KafkaAPI, version: Int16, _ body: KafkaStruct, connection: UInt64 = 1, timeout: Double = 10) throws -> RouteAnswer {
        let wire = try KafkaCodec.decodeRequest(api, version: version, from: KafkaCodec.encodeRequest(body, api, version: version))
        let header = KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: 1, clientId: "test")
        let done = DispatchSemaphore(value: 0)
        let box = AnswerBox()
        gateway.handle(KafkaRequest(header: header, api: api, body: wire),
                       context: KafkaConnectionContext(connectionId: connection, remoteAddress: "127.0.0.1:1", clientId: "test")) {
            box.set($0)
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return .timedOut }
        guard let response = box.value else { return .noResponse }
        return .response(try KafkaCodec.decodeResponse(api, version: version, from: KafkaCodec.encodeResponse(response.body, api, version: version)))
    }

    /// The response `body` gets at `version`; nil when it got none in time.
    func respond(_ api: KafkaAPI, version: Int16, _ body: KafkaStruct, connection: UInt64 = 1, timeout: Double = 10) throws -> KafkaStruct? {
        guard case .response(let response) = try exchange(api, version: version, body, connection: connection, timeout: timeout) else { return nil }
        return response
    }

    @discardableResult
    func createTopic(_ name: String, partitions: Int32 = 1) -> KafkaErrorCode {
        gateway.broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: name, numPartitions: partitions)])).topics[0].errorCode
    }
}

final class AnswerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: KafkaResponse?
    func set(_ value: KafkaResponse?) { lock.lock(); stored = value; lock.unlock() }
    var value: KafkaResponse? { lock.lock(); defer { lock.unlock() }; return stored }
}

/// A record batch as a Kafka client builds it.
func clientBatch(_ values: [String], producer: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1, transactional: Bool = false) -> [UInt8] {
    var builder = RecordBatchBuilder(codec: .none, producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
                                     baseSequence: sequence, isTransactional: transactional)
    for (index, value) in values.enumerated() {
        builder.append(key: nil, value: Array(value.utf8), headers: [], timestamp: Timestamp(milliseconds: 1_750_000_000_000 + Int64(index)))
    }
    return try! builder.build()
}

/// The batches in a records field.
func recordBatches(_ records: [UInt8]?) throws -> [RecordBatch] {
    guard var rest = records.map({ ArraySlice($0) }) else { return [] }
    var batches: [RecordBatch] = []
    while rest.count >= 12 {
        let length = Int(Int32(bitPattern: UInt32(rest[rest.startIndex + 8]) << 24 | UInt32(rest[rest.startIndex + 9]) << 16
            | UInt32(rest[rest.startIndex + 10]) << 8 | UInt32(rest[rest.startIndex + 11])))
        batches.append(try RecordBatch(bytes: Array(rest.prefix(12 + length))))
        rest = rest.dropFirst(12 + length)
    }
    return batches
}

/// The record values in a records field, batch after batch (control batches left out).
func recordValues(_ records: [UInt8]?) throws -> [String] {
    try recordBatches(records).filter { !$0.header.isControl }.flatMap { batch in
        try batch.records().map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }
}

/// What a read-committed Kafka consumer keeps of a fetched partition: a producer's batches from
/// an aborted transaction's first offset up to its marker are dropped, and markers are.
func readCommittedValues(_ partition: KafkaStruct) throws -> [String] {
    var pending = (partition.nullableArray("abortedTransactions") ?? []).map { ($0.int64("producerId"), $0.int64("firstOffset")) }
    var aborting: Set<Int64> = []
    var values: [String] = []
    for batch in try recordBatches(partition.records("records")) {
        let producer = batch.header.producerID.rawValue
        let offset = batch.header.baseOffset.rawValue
        for (index, entry) in pending.enumerated().reversed() where entry.1 <= offset {
            aborting.insert(entry.0)
            pending.remove(at: index)
        }
        if batch.header.isControl {
            aborting.remove(producer)
            continue
        }
        if batch.header.isTransactional && aborting.contains(producer) { continue }
        values += try batch.records().map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }
    return values
}

/// Request bodies as clients build them.
enum Requests {
    static func produce(_ topic: String, partition: Int32 = 0, _ batch: [UInt8], acks: Int16 = -1, transactionalID: String? = nil) -> KafkaStruct {
        var body = KafkaStruct.request(.produce)
        body.set("acks", acks)
        body.set("timeoutMs", Int32(30_000))
        if let transactionalID { body.set("transactionalId", transactionalID) }
        var data = body.makeElement("topicData")
        data.set("name", topic)
        var part = data.makeElement("partitionData")
        part.set("index", partition)
        part.set("records", bytes: batch)
        data.set("partitionData", [part])
        body.set("topicData", [data])
        return body
    }

    static func fetch(_ topic: String, partition: Int32 = 0, offset: Int64, version: Int16, isolation: Int8 = 0,
                      maxWaitMs: Int32 = 0, minBytes: Int32 = 1, sessionId: Int32 = 0, sessionEpoch: Int32 = -1) -> KafkaStruct {
        var body = KafkaStruct.request(.fetch)
        body.set("maxWaitMs", maxWaitMs)
        body.set("minBytes", minBytes)
        body.set("isolationLevel", isolation)
        if version >= 7 {
            body.set("sessionId", sessionId)
            body.set("sessionEpoch", sessionEpoch)
        }
        var fetchTopic = body.makeElement("topics")
        fetchTopic.set("topic", topic)
        var part = fetchTopic.makeElement("partitions")
        part.set("partition", partition)
        part.set("fetchOffset", offset)
        part.set("partitionMaxBytes", Int32(1 << 20))
        fetchTopic.set("partitions", [part])
        body.set("topics", [fetchTopic])
        return body
    }

    static func initProducerId(_ transactionalID: String?) -> KafkaStruct {
        var body = KafkaStruct.request(.initProducerId)
        body.set("transactionalId", transactionalID)
        body.set("transactionTimeoutMs", Int32(60_000))
        return body
    }

    static func addPartitions(_ transactionalID: String, producer: Int64, epoch: Int16, topic: String, partitions: [Int32]) -> KafkaStruct {
        var body = KafkaStruct.request(.addPartitionsToTxn)
        body.set("v3AndBelowTransactionalId", transactionalID)
        body.set("v3AndBelowProducerId", producer)
        body.set("v3AndBelowProducerEpoch", epoch)
        var element = body.makeElement("v3AndBelowTopics")
        element.set("name", topic)
        element.set("partitions", partitions)
        body.set("v3AndBelowTopics", [element])
        return body
    }

    static func endTxn(_ transactionalID: String, producer: Int64, epoch: Int16, commit: Bool) -> KafkaStruct {
        var body = KafkaStruct.request(.endTxn)
        body.set("transactionalId", transactionalID)
        body.set("producerId", producer)
        body.set("producerEpoch", epoch)
        body.set("committed", commit)
        return body
    }
}

extension KafkaStruct {
    /// The first partition of the first topic of a Fetch or Produce response.
    var firstPartition: KafkaStruct {
        if schema.fieldIndexByName["responses"] != nil, let topic = array("responses").first {
            let field = topic.schema.fieldIndexByName["partitions"] != nil ? "partitions" : "partitionResponses"
            return topic.array(field)[0]
        }
        return array("topics")[0].array("partitions")[0]
    }
}
