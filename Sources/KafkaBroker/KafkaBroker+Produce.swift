package import StreamCore
import Logging
import RecordFormat
package import LogStorage
import Transactions

/// Produce (API key 0): record batches for partitions, grouped by topic as on the wire.
package struct ProduceRequest: Sendable {
    /// The version the request came in: zstd needs 7, TRANSACTION_ABORTABLE 11.
    package var apiVersion: Int16
    /// The producer's transactional id (nil for idempotent and plain producers).
    package var transactionalID: String?
    /// 0: no answer; 1: appended; -1: appended and synced to disk.
    package var acks: Int16
    /// Kafka's replication timeout; one node has nothing to wait for, so it is unused.
    package var timeoutMilliseconds: Int32 = 30_000
    package var topicData: [ProduceTopicRequest]

    package init(apiVersion: Int16, transactionalID: String? = nil, acks: Int16, timeoutMilliseconds: Int32 = 30_000,
                 topicData: [ProduceTopicRequest]) {
        self.apiVersion = apiVersion
        self.transactionalID = transactionalID
        self.acks = acks
        self.timeoutMilliseconds = timeoutMilliseconds
        self.topicData = topicData
    }
}

package struct ProduceTopicRequest: Sendable {
    package var name: String
    package var partitionData: [ProducePartitionRequest]
    package init(name: String, partitionData: [ProducePartitionRequest]) {
        self.name = name
        self.partitionData = partitionData
    }
}

package struct ProducePartitionRequest: Sendable {
    package var index: Int32
    /// The records field: exactly one record batch (magic 2), as Kafka requires from v3.
    package var records: [UInt8]?
    package init(index: Int32, records: [UInt8]?) {
        self.index = index
        self.records = records
    }
}

package struct ProduceResponse: Sendable, Equatable {
    package var responses: [ProduceTopicResult]
    /// False for acks 0: Kafka sends no response at all (the results are still here, to log).
    package var sendsResponse: Bool
}

/// A Produce whose batches are appended and not yet synced (see ``KafkaBroker/appendProduced(_:)``).
/// - Invariant: `partitionsToSync` is empty unless acks is -1; the answer may be sent only
///   after they were synced (``response(syncError:)``).
package struct ProduceAppended: Sendable {
    struct Placed: Sendable {
        var topic: Int
        var partition: Int
        var topicPartition: TopicPartition
    }

    fileprivate var responses: [ProduceTopicResult]
    /// False for acks 0.
    package var sendsResponse: Bool
    fileprivate var appended: [Placed]

    /// The partitions acks -1 must sync before answering (sorted, unique).
    package var partitionsToSync: [TopicPartition] { Array(Set(appended.map(\.topicPartition))).sorted() }

    /// The answer once the sync is done: with `syncError`, each appended batch of the request
    /// answers that error (KAFKA_STORAGE_ERROR for a failed sync) instead of its offset.
    package func response(syncError: LogError?) -> ProduceResponse {
        var responses = self.responses
        if let syncError {
            for placed in appended {
                let index = responses[placed.topic].partitionResponses[placed.partition].index
                responses[placed.topic].partitionResponses[placed.partition] = .failure(index, KafkaErrorCode(syncError), syncError.description)
            }
        }
        return ProduceResponse(responses: responses, sendsResponse: sendsResponse)
    }
}

package struct ProduceTopicResult: Sendable, Equatable {
    package var name: String
    package var partitionResponses: [ProducePartitionResult]
}

/// Where a partition's batch landed, or why it did not.
package struct ProducePartitionResult: Sendable, Equatable {
    package var index: Int32
    package var errorCode: KafkaErrorCode
    /// The batch's first offset (a retried duplicate's original one); -1 on error.
    package var baseOffset: Int64
    /// Always -1: batches keep the producer's CreateTime.
    package var logAppendTimeMilliseconds: Int64 = -1
    /// The partition's log start offset after the append; -1 on error.
    package var logStartOffset: Int64
    package var errorMessage: String?

    static func failure(_ index: Int32, _ error: KafkaErrorCode, _ message: String) -> ProducePartitionResult {
        ProducePartitionResult(index: index, errorCode: error, baseOffset: -1, logStartOffset: -1, errorMessage: message)
    }
}

/// Why a batch was refused before it reached the log.
struct ProduceRefusal: Error {
    var code: KafkaErrorCode
    var message: String
    init(_ code: KafkaErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension KafkaBroker {
    /// Answers Produce with Kafka's semantics, per partition and independently:
    ///
    /// - acks 1 answers once the batch is appended (visible to readers); acks -1 (all) once it is
    ///   also synced, through ``LogManager/sync(_:)`` (one flush group for the request, which also
    ///   moves the recovery points); acks 0 appends and sends nothing; any other acks is
    ///   INVALID_REQUIRED_ACKS.
    /// - The batch is checked before anything is written (``checkBatch(_:topic:apiVersion:)``):
    ///   one batch of magic 2 (older magic: UNSUPPORTED_FOR_MESSAGE_FORMAT, which kafka-python and
    ///   librdkafka treat as final, where CORRUPT_MESSAGE would be retried for ever), its size
    ///   against the topic's `max.message.bytes` (MESSAGE_TOO_LARGE), its CRC-32C
    ///   (CORRUPT_MESSAGE), its records (INVALID_RECORD), a codec the engine reads
    ///   (UNSUPPORTED_COMPRESSION_TYPE), and for a topic that requires a subject
    ///   (`TopicConfig.valueSubject`) every record's value (INVALID_RECORD naming the record).
    /// - Idempotence is the partition's producer state: a retried duplicate answers NONE with the
    ///   original base offset; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; a producer the partition
    ///   does not know (never seen, or expired) that does not start at sequence 0 is
    ///   UNKNOWN_PRODUCER_ID, so the client resets its sequence instead of failing; an older
    ///   epoch is INVALID_PRODUCER_EPOCH (Kafka's answer since 2.7).
    /// - A transactional batch is checked against the coordinator first (Kafka's transaction
    ///   verification): an unknown transactional id or another producer id is
    ///   INVALID_PRODUCER_ID_MAPPING; another epoch INVALID_PRODUCER_EPOCH; a partition not added
    ///   to the transaction INVALID_TXN_STATE (TRANSACTION_ABORTABLE from v11, as Kafka); a
    ///   transaction being completed NOT_ENOUGH_REPLICAS (retriable, as Kafka translates
    ///   CONCURRENT_TRANSACTIONS for produce).
    /// - An unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION (Produce never creates
    ///   topics); an internal topic INVALID_TOPIC_EXCEPTION; a full disk, a failed write or a
    ///   failed sync KAFKA_STORAGE_ERROR.
    /// A refused batch appends nothing. Nothing here waits for anything but the disk.
    package func produce(_ request: ProduceRequest) -> ProduceResponse {
        let appended = appendProduced(request)
        guard !appended.partitionsToSync.isEmpty else { return appended.response(syncError: nil) }
        do {
            try log.sync(appended.partitionsToSync)
            return appended.response(syncError: nil)
        } catch {
            logger.error("syncing produced batches failed", metadata: ["error": "\(error)"])
            return appended.response(syncError: error)
        }
    }

    /// The first half of ``produce(_:)``: every batch checked and appended (visible to readers),
    /// nothing synced. For acks -1 the caller syncs ``ProduceAppended/partitionsToSync`` (with
    /// ``LogManager/sync(_:)`` or a ``GroupSync`` shared with other requests) and only then
    /// answers with ``ProduceAppended/response(syncError:)``; for acks 0 and 1 there is nothing
    /// to sync.
    package func appendProduced(_ request: ProduceRequest) -> ProduceAppended {
        guard request.acks == 0 || request.acks == 1 || request.acks == -1 else {
            let responses = request.topicData.map { topic in
                ProduceTopicResult(name: topic.name, partitionResponses: topic.partitionData.map {
                    .failure($0.index, .invalidRequiredAcks, "acks must be 0, 1 or -1, not \(request.acks)")
                })
            }
            return ProduceAppended(responses: responses, sendsResponse: true, appended: [])
        }
        var responses: [ProduceTopicResult] = []
        var appended: [ProduceAppended.Placed] = []
        for (topicIndex, topic) in request.topicData.enumerated() {
            var results: [ProducePartitionResult] = []
            for (partitionIndex, data) in topic.partitionData.enumerated() {
                let result = producePartition(data, topic: topic.name, request: request)
                if result.errorCode == .none, request.acks == -1, let name = TopicName(rawValue: topic.name) {
                    appended.append(ProduceAppended.Placed(
                        topic: topicIndex, partition: partitionIndex, topicPartition: TopicPartition(name, PartitionID(data.index))))
                }
                results.append(result)
            }
            responses.append(ProduceTopicResult(name: topic.name, partitionResponses: results))
        }
        return ProduceAppended(responses: responses, sendsResponse: request.acks != 0, appended: appended)
    }

    private func producePartition(_ data: ProducePartitionRequest, topic: String, request: ProduceRequest) -> ProducePartitionResult {
        guard let name = TopicName(rawValue: topic), let target = try? log.topic(name),
              let partition = try? target.partition(PartitionID(data.index)) else {
            return .failure(data.index, .unknownTopicOrPartition, "this server does not host \(topic)/\(data.index)")
        }
        if name.isInternal {
            return .failure(data.index, .invalidTopicException, "clients cannot produce to internal topic \(topic)")
        }
        do {
            var batch = try checkBatch(data.records ?? [], topic: target, apiVersion: request.apiVersion)
            let header = batch.header
            // The leader epoch lies outside the CRC; Kafka's leader stamps its own (0 here).
            batch.setPartitionLeaderEpoch(0)
            let placed: AppendResult
            if header.isTransactional {
                placed = try appendTransactional(batch, to: partition, request: request)
            } else {
                try checkIdempotent(header, partition: partition)
                placed = try append(batch, to: partition)
            }
            return ProducePartitionResult(index: data.index, errorCode: .none, baseOffset: placed.baseOffset.rawValue,
                                          logStartOffset: partition.logStartOffset.rawValue)
        } catch {
            return .failure(data.index, error.code, error.message)
        }
    }

    /// Checks a batch as Kafka's broker does before it appends anything: its CRC once (the log
    /// takes the checked batch without checking again), its records in one pass that copies none.
    /// - Returns: the checked batch.
    func checkBatch(_ bytes: [UInt8], topic: Topic, apiVersion: Int16) throws(ProduceRefusal) -> ChecksummedRecordBatch {
        guard !bytes.isEmpty else { throw ProduceRefusal(.invalidRecord, "a produce request must hold one record batch per partition") }
        guard bytes.count > RecordBatchHeader.magicPosition else {
            throw ProduceRefusal(.corruptMessage, "\(bytes.count) bytes are too short for a record batch")
        }
        let magic = Int8(bitPattern: bytes[RecordBatchHeader.magicPosition])
        guard magic == RecordBatchHeader.currentMagic else {
            throw ProduceRefusal(.unsupportedForMessageFormat, "record batches of magic \(magic) are not accepted; only magic 2")
        }
        guard bytes.count >= RecordBatchHeader.sizeBytes else {
            throw ProduceRefusal(.corruptMessage, "\(bytes.count) bytes are too short for a record batch header")
        }
        let header: RecordBatchHeader
        do { header = try RecordBatchHeader.parse(bytes, at: 0) } catch {
            throw ProduceRefusal(.corruptMessage, "the record batch header is invalid: \(error)")
        }
        guard header.totalSizeBytes <= bytes.count else {
            throw ProduceRefusal(.corruptMessage, "the batch length field says \(header.totalSizeBytes) bytes, the records field holds \(bytes.count)")
        }
        guard header.totalSizeBytes == bytes.count else {
            throw ProduceRefusal(.invalidRecord, "a produce request may hold exactly one record batch per partition")
        }
        guard bytes.count <= topic.config.batchBytesMax else {
            throw ProduceRefusal(.messageTooLarge, "a batch of \(bytes.count) bytes exceeds topic \(topic.name)'s max.message.bytes of \(topic.config.batchBytesMax)")
        }
        let batch: RecordBatch
        do { batch = try RecordBatch(bytes: bytes) } catch {
            throw ProduceRefusal(.corruptMessage, "the record batch is invalid: \(error)")
        }
        let checked: ChecksummedRecordBatch
        do { checked = try ChecksummedRecordBatch(verifying: batch) } catch {
            throw ProduceRefusal(.corruptMessage, "the record batch fails its CRC-32C check")
        }
        guard !header.isControl else {
            throw ProduceRefusal(.invalidRecord, "clients may not write control batches (to \(topic.name))")
        }
        guard header.recordCount >= 1, Int64(header.lastOffsetDelta) + 1 == Int64(header.recordCount) else {
            throw ProduceRefusal(.invalidRecord, "the batch holds \(header.recordCount) records but its last offset delta is \(header.lastOffsetDelta)")
        }
        if header.producerID.rawValue >= 0 && header.baseSequence < 0 {
            throw ProduceRefusal(.invalidRecord, "a batch of producer \(header.producerID) has no sequence number")
        }
        if header.isTransactional && header.producerID.rawValue < 0 {
            throw ProduceRefusal(.invalidRecord, "a transactional batch has no producer id")
        }
        guard let codec = header.codec, codec.isSupported else {
            throw ProduceRefusal(.unsupportedCompressionType, "batch compression \(header.codec?.name ?? "unknown") is not supported; use none, lz4 or zstd")
        }
        if codec == .zstd && apiVersion < 7 {
            throw ProduceRefusal(.unsupportedCompressionType, "zstd needs Produce version 7 or later, not \(apiVersion)")
        }
        do { _ = try batch.validateRecords() } catch {
            throw ProduceRefusal(.invalidRecord, "the batch's records are invalid: \(error)")
        }
        if let subject = topic.config.valueSubject { try checkValueSubject(batch, subject: subject, topic: topic.name) }
        return checked
    }

    /// Refuses a batch for a topic that requires `subject` unless every record's value is Avro in
    /// Confluent's wire format with a schema id registered under it (``KafkaBrokerConfig/valueSubjectCheck``);
    /// the refusal names the first offending record by its index (its offset delta) and why.
    /// Only such topics pay for decoding their records here.
    private func checkValueSubject(_ batch: RecordBatch, subject: String, topic: TopicName) throws(ProduceRefusal) {
        guard let check = config.valueSubjectCheck else {
            throw ProduceRefusal(.invalidRecord, "topic \(topic) requires values of subject '\(subject)' and this server has no schema registry to check them")
        }
        let records: [Record]
        do { records = try batch.records() } catch {
            throw ProduceRefusal(.invalidRecord, "the batch's records are invalid: \(error)")
        }
        for (index, record) in records.enumerated() {
            if let reason = check(record.value, subject) {
                throw ProduceRefusal(.invalidRecord, "record \(index) of the batch (offset delta \(record.offsetDelta)) to topic \(topic), which requires subject '\(subject)': \(reason); nothing of the batch was appended")
            }
        }
    }

    /// The checks of an idempotent (non-transactional) batch that the partition's producer state
    /// makes less precisely.
    private func checkIdempotent(_ header: RecordBatchHeader, partition: PartitionLog) throws(ProduceRefusal) {
        let producer = header.producerID
        guard producer.rawValue >= 0 else { return }
        if partition.openTransactions[producer] != nil {
            throw ProduceRefusal(.invalidTxnState, "producer \(producer) wrote a non-transactional batch to \(partition.topicPartition) inside its open transaction")
        }
        if partition.producerEpochAndSequence(producer) == nil && header.baseSequence != 0 {
            throw ProduceRefusal(.unknownProducerId, "\(partition.topicPartition) has no state for producer \(producer) (never seen or expired); its first batch must have sequence 0, not \(header.baseSequence)")
        }
    }

    /// Appends a transactional batch after checking, under the producer's lock, that its
    /// partition is a participant of the producer's current transaction.
    private func appendTransactional(
        _ batch: ChecksummedRecordBatch, to partition: PartitionLog, request: ProduceRequest
    ) throws(ProduceRefusal) -> AppendResult {
        let header = batch.header
        let verified = withTransactionalWrite(
            transactionalID: request.transactionalID ?? "", producerID: header.producerID.rawValue, producerEpoch: header.producerEpoch.rawValue,
            to: partition.topicPartition, abortable: request.apiVersion > 10
        ) { (_, _) throws(LogError) -> AppendResult in try partition.append(batch) }
        switch verified {
        case .success(let placed): return placed
        case .failure(let refusal):
            if refusal.code == .kafkaStorageError {
                logger.warning("a produced batch was refused", metadata: ["partition": "\(partition.topicPartition)", "error": "\(refusal.message)"])
            }
            throw ProduceRefusal(refusal.code, refusal.message)
        }
    }

    private func append(_ batch: ChecksummedRecordBatch, to partition: PartitionLog) throws(ProduceRefusal) -> AppendResult {
        do { return try partition.append(batch) } catch {
            if error.code != .producerFenced && error.code != .outOfOrderSequence {
                logger.warning("a produced batch was refused", metadata: ["partition": "\(partition.topicPartition)", "error": "\(error)"])
            }
            throw ProduceRefusal(KafkaErrorCode(error), error.description)
        }
    }
}
