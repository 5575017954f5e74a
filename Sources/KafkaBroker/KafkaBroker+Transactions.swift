import StreamCore
import Logging
import LogStorage
import Transactions

/// InitProducerId (API key 22).
package struct InitProducerIdRequest: Sendable {
    /// PRODUCER_FENCED from v4; INVALID_PRODUCER_EPOCH before.
    package var apiVersion: Int16
    /// Nil for an idempotent producer.
    package var transactionalID: String?
    package var transactionTimeoutMilliseconds: Int32
    /// KIP-360: the producer id and epoch the producer has (to bump them), or -1.
    package var producerID: Int64 = -1
    package var producerEpoch: Int16 = -1

    package init(apiVersion: Int16, transactionalID: String?, transactionTimeoutMilliseconds: Int32 = 60_000,
                 producerID: Int64 = -1, producerEpoch: Int16 = -1) {
        self.apiVersion = apiVersion
        self.transactionalID = transactionalID
        self.transactionTimeoutMilliseconds = transactionTimeoutMilliseconds
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }
}

package struct InitProducerIdResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var producerID: Int64
    package var producerEpoch: Int16
}

/// AddPartitionsToTxn (API key 24), the client form of v0-v3.
package struct AddPartitionsToTxnRequest: Sendable {
    /// PRODUCER_FENCED from v2; INVALID_PRODUCER_EPOCH before.
    package var apiVersion: Int16
    package var transactionalID: String
    package var producerID: Int64
    package var producerEpoch: Int16
    package var topics: [AddPartitionsToTxnTopic]

    package init(apiVersion: Int16, transactionalID: String, producerID: Int64, producerEpoch: Int16, topics: [AddPartitionsToTxnTopic]) {
        self.apiVersion = apiVersion
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.topics = topics
    }
}

package struct AddPartitionsToTxnTopic: Sendable {
    package var name: String
    package var partitions: [Int32]
    package init(name: String, partitions: [Int32]) {
        self.name = name
        self.partitions = partitions
    }
}

package struct AddPartitionsToTxnResponse: Sendable, Equatable {
    package var resultsByTopic: [AddPartitionsToTxnTopicResult]
}

package struct AddPartitionsToTxnTopicResult: Sendable, Equatable {
    package var name: String
    package var resultsByPartition: [AddPartitionsToTxnPartitionResult]
}

package struct AddPartitionsToTxnPartitionResult: Sendable, Equatable {
    package var partitionIndex: Int32
    package var partitionErrorCode: KafkaErrorCode
}

/// AddOffsetsToTxn (API key 25).
package struct AddOffsetsToTxnRequest: Sendable {
    /// PRODUCER_FENCED from v2; INVALID_PRODUCER_EPOCH before.
    package var apiVersion: Int16
    package var transactionalID: String
    package var producerID: Int64
    package var producerEpoch: Int16
    package var groupID: String

    package init(apiVersion: Int16, transactionalID: String, producerID: Int64, producerEpoch: Int16, groupID: String) {
        self.apiVersion = apiVersion
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.groupID = groupID
    }
}

/// EndTxn (API key 26).
package struct EndTxnRequest: Sendable {
    /// PRODUCER_FENCED from v2; INVALID_PRODUCER_EPOCH before.
    package var apiVersion: Int16
    package var transactionalID: String
    package var producerID: Int64
    package var producerEpoch: Int16
    /// True to commit, false to abort.
    package var committed: Bool

    package init(apiVersion: Int16, transactionalID: String, producerID: Int64, producerEpoch: Int16, committed: Bool) {
        self.apiVersion = apiVersion
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.committed = committed
    }
}

extension KafkaBroker {
    /// Answers InitProducerId. Without a transactional id: a fresh producer id at epoch 0 (an
    /// idempotent producer; Kafka ignores a producer id it sends). With one: the coordinator's
    /// `initTransactions`, which completes a prepared transaction of the id, aborts an ongoing one
    /// under a bumped epoch (fencing its holder in every participant) and bumps the epoch again
    /// (a new producer id once the epoch is exhausted).
    ///
    /// KIP-360's form (the producer sends its producer id and epoch to have them bumped, after
    /// UNKNOWN_PRODUCER_ID or an abortable error): accepted when they are the id's current ones
    /// (or the id is new), PRODUCER_FENCED otherwise (INVALID_PRODUCER_EPOCH before v4). Unlike
    /// Kafka the coordinator keeps no previous epoch, so a retry of a bump whose answer was lost
    /// is fenced too; the client then starts again with a fresh InitProducerId.
    /// A timeout of 0 or over ``KafkaBrokerConfig/transactionTimeoutMillisecondsMax`` is
    /// INVALID_TRANSACTION_TIMEOUT; an empty transactional id INVALID_REQUEST.
    package func initProducerID(_ request: InitProducerIdRequest) -> InitProducerIdResponse {
        func failure(_ error: KafkaErrorCode) -> InitProducerIdResponse {
            InitProducerIdResponse(errorCode: error.forClient(apiVersion: request.apiVersion, fencedFromVersion: 4), producerID: -1, producerEpoch: -1)
        }
        guard let transactionalID = request.transactionalID else {
            do {
                let producer = try coordinator.allocateProducerID()
                return InitProducerIdResponse(errorCode: .none, producerID: producer.rawValue, producerEpoch: 0)
            } catch {
                return failure(KafkaErrorCode(error))
            }
        }
        guard !transactionalID.isEmpty else { return failure(.invalidRequest) }
        guard request.transactionTimeoutMilliseconds > 0,
              request.transactionTimeoutMilliseconds <= config.transactionTimeoutMillisecondsMax else {
            return failure(.invalidTransactionTimeout)
        }
        let current = coordinator.metadata(transactionalID)
        if let current, request.producerID != -1 || request.producerEpoch != -1 {
            guard request.producerID == current.producerID.rawValue,
                  request.producerEpoch == -1 || request.producerEpoch == current.producerEpoch.rawValue else {
                return failure(.producerFenced)
            }
        }
        do {
            let (producer, epoch) = try producerLocks.withLock(current?.producerID.rawValue ?? -1) { () throws(TransactionError) in
                try coordinator.initTransactions(transactionalID: transactionalID, timeoutMilliseconds: request.transactionTimeoutMilliseconds)
            }
            return InitProducerIdResponse(errorCode: .none, producerID: producer.rawValue, producerEpoch: epoch.rawValue)
        } catch {
            logger.warning("InitProducerId failed", metadata: ["transactionalId": "\(transactionalID)", "error": "\(error)"])
            return failure(KafkaErrorCode(error))
        }
    }

    /// Answers AddPartitionsToTxn (v0-v3) as Kafka does: when any partition is unknown, those
    /// are UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED, and nothing is added;
    /// otherwise the coordinator records all of them durably (synced) as participants before
    /// answering, and every partition gets the same answer: NONE,
    /// INVALID_PRODUCER_ID_MAPPING (unknown transactional id, another producer id),
    /// PRODUCER_FENCED (another epoch; INVALID_PRODUCER_EPOCH before v2), CONCURRENT_TRANSACTIONS
    /// (the previous transaction is still completing), KAFKA_STORAGE_ERROR.
    package func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
        var known: Set<TopicPartition> = []
        var unknown: Set<String> = []
        for topic in request.topics {
            for index in topic.partitions {
                if let partition = partition(topic: topic.name, index: index) {
                    known.insert(partition.topicPartition)
                } else {
                    unknown.insert("\(topic.name)/\(index)")
                }
            }
        }
        func answer(_ error: (String, Int32) -> KafkaErrorCode) -> AddPartitionsToTxnResponse {
            AddPartitionsToTxnResponse(resultsByTopic: request.topics.map { topic in
                AddPartitionsToTxnTopicResult(name: topic.name, resultsByPartition: topic.partitions.map {
                    AddPartitionsToTxnPartitionResult(partitionIndex: $0, partitionErrorCode: error(topic.name, $0))
                })
            })
        }
        if !unknown.isEmpty {
            return answer { unknown.contains("\($0)/\($1)") ? .unknownTopicOrPartition : .operationNotAttempted }
        }
        let error = addToTransaction(known, transactionalID: request.transactionalID, producerID: request.producerID,
                                     producerEpoch: request.producerEpoch)
        let forClient = error.forClient(apiVersion: request.apiVersion, fencedFromVersion: 2)
        return answer { _, _ in forClient }
    }

    /// Answers AddOffsetsToTxn: adds the group's `__consumer_offsets` partition (the one its
    /// offsets live in, as Kafka hashes it) to the transaction, durably, so that offsets a
    /// TxnOffsetCommit then stages for the group (``ConsumerOffsets/stage(group:offsets:producerID:)``)
    /// are applied by the transaction's COMMIT marker and dropped by its ABORT marker, exactly as
    /// a pipeline's `sendOffsets` are. Errors as for AddPartitionsToTxn.
    package func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest) -> KafkaErrorCode {
        let offsetsPartition = log.offsets.partition(forGroup: request.groupID).topicPartition
        return addToTransaction([offsetsPartition], transactionalID: request.transactionalID, producerID: request.producerID,
                                producerEpoch: request.producerEpoch)
            .forClient(apiVersion: request.apiVersion, fencedFromVersion: 2)
    }

    /// Answers EndTxn as Kafka's coordinator does: an ongoing transaction commits (or aborts)
    /// through the two-phase protocol before the answer (its data synced, PrepareCommit synced,
    /// a marker in every participant — `__consumer_offsets` included, which applies or drops the
    /// staged offsets — the markers synced, CompleteCommit); a retry of the same end of a
    /// completed transaction is NONE; the other end of a completed one, or ending a transaction
    /// never started, INVALID_TXN_STATE; an unknown transactional id or another producer id
    /// INVALID_PRODUCER_ID_MAPPING; another epoch (a zombie, or a producer whose transaction
    /// timed out and was aborted under a bumped epoch) PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
    /// before v2); a transaction still completing (a crash or storage failure left it prepared)
    /// CONCURRENT_TRANSACTIONS.
    package func endTxn(_ request: EndTxnRequest) -> KafkaErrorCode {
        let error = producerLocks.withLock(request.producerID) { () -> KafkaErrorCode in
            if let problem = checkProducer(request.transactionalID, request.producerID, request.producerEpoch) { return problem }
            guard let metadata = coordinator.metadata(request.transactionalID) else { return .invalidProducerIdMapping }
            switch metadata.state {
            case .prepareCommit, .prepareAbort: return .concurrentTransactions
            case .completeCommit: return request.committed ? .none : .invalidTxnState
            case .completeAbort: return request.committed ? .invalidTxnState : .none
            case .empty: return .invalidTxnState
            case .ongoing: break
            }
            do throws(TransactionError) {
                try coordinator.endTransaction(
                    transactionalID: request.transactionalID, producerID: ProducerID(request.producerID),
                    producerEpoch: ProducerEpoch(request.producerEpoch), commit: request.committed)
                return .none
            } catch {
                logger.warning("EndTxn failed", metadata: ["transactionalId": "\(request.transactionalID)", "error": "\(error)"])
                return transactionErrorCode(error, request.transactionalID)
            }
        }
        return error.forClient(apiVersion: request.apiVersion, fencedFromVersion: 2)
    }

    /// Adds partitions to a producer's transaction (the common part of AddPartitionsToTxn and
    /// AddOffsetsToTxn), before the version rule.
    private func addToTransaction(
        _ partitions: Set<TopicPartition>, transactionalID: String, producerID: Int64, producerEpoch: Int16
    ) -> KafkaErrorCode {
        if let problem = checkProducer(transactionalID, producerID, producerEpoch) { return problem }
        if let state = coordinator.metadata(transactionalID)?.state, state == .prepareCommit || state == .prepareAbort {
            return .concurrentTransactions
        }
        do {
            try coordinator.addPartitions(transactionalID: transactionalID, producerID: ProducerID(producerID),
                                          producerEpoch: ProducerEpoch(producerEpoch), partitions: partitions)
            return .none
        } catch {
            return transactionErrorCode(error, transactionalID)
        }
    }

    /// Kafka's answer when the producer is not the id's current holder, or nil when it is: an
    /// unknown id or another producer id is INVALID_PRODUCER_ID_MAPPING, another epoch
    /// PRODUCER_FENCED.
    private func checkProducer(_ transactionalID: String, _ producerID: Int64, _ producerEpoch: Int16) -> KafkaErrorCode? {
        guard !transactionalID.isEmpty else { return .invalidRequest }
        guard let metadata = coordinator.metadata(transactionalID), metadata.producerID.rawValue == producerID else {
            return .invalidProducerIdMapping
        }
        return metadata.producerEpoch.rawValue == producerEpoch ? nil : .producerFenced
    }

    /// A coordinator error as the transactional APIs answer it: a state error while the
    /// transaction is prepared is CONCURRENT_TRANSACTIONS (retriable), otherwise the mapping of
    /// ``KafkaErrorCode/init(_:)-(TransactionError)``.
    private func transactionErrorCode(_ error: TransactionError, _ transactionalID: String) -> KafkaErrorCode {
        if error.code == .invalidState, let state = coordinator.metadata(transactionalID)?.state,
           state == .prepareCommit || state == .prepareAbort {
            return .concurrentTransactions
        }
        return KafkaErrorCode(error)
    }
}
