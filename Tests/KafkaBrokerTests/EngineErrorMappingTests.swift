import Testing
import LogStorage
import Transactions
@testable import KafkaBroker

/// Every engine error kind has its Kafka error, in one place (`KafkaErrorCode+Engine.swift`);
/// the switches there are exhaustive, so a new kind does not compile until it is mapped, and
/// this table pins each answer.
@Suite struct EngineErrorMappingTests {
    static let logErrors: [(LogError.Code, KafkaErrorCode)] = [
        (.unknownTopic, .unknownTopicOrPartition), (.topicExists, .topicAlreadyExists), (.invalidTopicName, .invalidTopicException),
        (.invalidConfig, .invalidConfig), (.invalidPartition, .unknownTopicOrPartition), (.offsetOutOfRange, .offsetOutOfRange),
        (.recordTooLarge, .messageTooLarge), (.invalidBatch, .invalidRecord), (.corruptBatch, .corruptMessage),
        (.storage, .kafkaStorageError), (.locked, .kafkaStorageError), (.diskFull, .kafkaStorageError), (.syncFailed, .kafkaStorageError),
        (.closed, .notLeaderOrFollower), (.groupMembership, .illegalGeneration), (.producerFenced, .invalidProducerEpoch),
        (.outOfOrderSequence, .outOfOrderSequenceNumber), (.invalidTransactionState, .invalidTxnState),
    ]

    @Test(arguments: logErrors)
    func everyLogErrorKindIsMapped(code: LogError.Code, expected: KafkaErrorCode) {
        #expect(KafkaErrorCode(LogError(code, "test")) == expected)
    }

    @Test func theTableCoversEveryLogErrorKind() {
        #expect(Set(Self.logErrors.map { "\($0.0)" }).count == 18)
    }

    @Test(arguments: [
        (TransactionError.Code.fenced, KafkaErrorCode.producerFenced), (.invalidState, .invalidTxnState),
        (.unknownTransactionalID, .invalidProducerIdMapping), (.timedOut, .producerFenced), (.log, .unknownServerError),
    ])
    func everyTransactionErrorKindIsMapped(code: TransactionError.Code, expected: KafkaErrorCode) {
        #expect(KafkaErrorCode(TransactionError(code, "test")) == expected)
    }

    @Test func aLogErrorInsideATransactionErrorKeepsItsMapping() {
        #expect(KafkaErrorCode(TransactionError(LogError(.diskFull, "full"))) == .kafkaStorageError)
        #expect(KafkaErrorCode(TransactionError(LogError(.producerFenced, "old"))) == .producerFenced)
    }

    @Test func producerFencedIsInvalidProducerEpochForOldClients() {
        #expect(KafkaErrorCode.producerFenced.forClient(apiVersion: 1, fencedFromVersion: 2) == .invalidProducerEpoch)
        #expect(KafkaErrorCode.producerFenced.forClient(apiVersion: 2, fencedFromVersion: 2) == .producerFenced)
        #expect(KafkaErrorCode.none.forClient(apiVersion: 0, fencedFromVersion: 2) == .none)
    }
}
