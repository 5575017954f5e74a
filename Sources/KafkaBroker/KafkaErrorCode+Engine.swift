package import LogStorage
package import Transactions

extension KafkaErrorCode {
    /// The Kafka error for an engine log error: the one place every ``LogError`` kind is mapped
    /// (an operation overrides it only where Kafka answers that operation differently, and says
    /// so where it does).
    ///
    /// A full disk, a failed sync (after which the data directory takes no writes until it is
    /// reopened), a lock or any other storage failure are `KAFKA_STORAGE_ERROR`, as Kafka answers
    /// for an offline log directory; clients retry it.
    package init(_ error: LogError) {
        self = KafkaErrorCode.forLogErrorCode(error.code)
    }

    /// The Kafka error for a kind of ``LogError``.
    package static func forLogErrorCode(_ code: LogError.Code) -> KafkaErrorCode {
        switch code {
        case .unknownTopic: .unknownTopicOrPartition
        case .topicExists: .topicAlreadyExists
        case .invalidTopicName: .invalidTopicException
        case .invalidConfig: .invalidConfig
        case .invalidPartition: .unknownTopicOrPartition
        case .offsetOutOfRange: .offsetOutOfRange
        case .recordTooLarge: .messageTooLarge
        case .invalidBatch: .invalidRecord
        case .corruptBatch: .corruptMessage
        case .storage, .locked, .diskFull, .syncFailed: .kafkaStorageError
        // A closed partition belongs to a topic being deleted or a directory closing: the client
        // refreshes its metadata and retries.
        case .closed: .notLeaderOrFollower
        case .groupMembership: .illegalGeneration
        // Since Kafka 2.7 a produce with an older epoch than the partition's is answered with
        // INVALID_PRODUCER_EPOCH (abortable), not PRODUCER_FENCED.
        case .producerFenced: .invalidProducerEpoch
        case .outOfOrderSequence: .outOfOrderSequenceNumber
        case .invalidTransactionState: .invalidTxnState
        }
    }

    /// The Kafka error for a transaction coordinator error, for the transactional APIs
    /// (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn), before the version rule of
    /// ``forClient(apiVersion:fencedFromVersion:)``.
    package init(_ error: TransactionError) {
        switch error.code {
        case .fenced: self = .producerFenced
        case .invalidState: self = .invalidTxnState
        // Kafka's answer for a transactional id the coordinator does not know.
        case .unknownTransactionalID: self = .invalidProducerIdMapping
        // The coordinator aborted the transaction with a bumped epoch: its producer is fenced.
        case .timedOut: self = .producerFenced
        case .log: self = error.logError.map(KafkaErrorCode.init) ?? .unknownServerError
        }
    }

    /// PRODUCER_FENCED as a client of `apiVersion` understands it: versions before
    /// `fencedFromVersion` (InitProducerId 4, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
    /// TxnOffsetCommit 2) only know INVALID_PRODUCER_EPOCH, which Kafka sends them instead.
    package func forClient(apiVersion: Int16, fencedFromVersion: Int16) -> KafkaErrorCode {
        self == .producerFenced && apiVersion < fencedFromVersion ? .invalidProducerEpoch : self
    }
}
