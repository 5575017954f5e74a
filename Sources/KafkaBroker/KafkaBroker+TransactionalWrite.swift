package import StreamCore
package import LogStorage
import Transactions

/// Why a transactional write was refused, in Kafka's terms.
package struct TransactionalWriteRefusal: Error, Sendable, Equatable {
    package var code: KafkaErrorCode
    package var message: String
}

extension KafkaBroker {
    /// Runs a transactional write to one partition after Kafka's transaction verification, holding
    /// the producer's lock (which EndTxn and InitProducerId hold too, so the write can never land
    /// after the transaction's marker): Produce's transactional batches go through it, and
    /// TxnOffsetCommit's batch to the group's `__consumer_offsets` partition must too (followed,
    /// inside `write`, by ``ConsumerOffsets/stage(group:offsets:producerID:)``).
    ///
    /// `write` gets the partition and the base sequence the producer's next batch there must carry
    /// (a batch the engine writes for a client, as TxnOffsetCommit's, continues the producer's
    /// sequence in that partition).
    ///
    /// Refusals, as Kafka answers both Produce and TxnOffsetCommit: an empty transactional id
    /// INVALID_TXN_STATE; an unknown one, or one held by another producer id,
    /// INVALID_PRODUCER_ID_MAPPING; another epoch INVALID_PRODUCER_EPOCH (Kafka turns the
    /// verification's PRODUCER_FENCED into it for these two APIs); a transaction being completed
    /// NOT_ENOUGH_REPLICAS (retriable); a partition not in the ongoing transaction
    /// INVALID_TXN_STATE, or TRANSACTION_ABORTABLE when `abortable` (Produce v11+,
    /// TxnOffsetCommit v5+); an error of `write` by ``KafkaErrorCode/init(_:)-(LogError)``.
    package func withTransactionalWrite<T>(
        transactionalID: String, producerID: Int64, producerEpoch: Int16, to topicPartition: TopicPartition, abortable: Bool,
        _ write: (PartitionLog, _ nextSequence: Int32) throws(LogError) -> T
    ) -> Result<T, TransactionalWriteRefusal> {
        guard !transactionalID.isEmpty else {
            return .failure(TransactionalWriteRefusal(code: .invalidTxnState, message: "a transactional write needs the producer's transactional id"))
        }
        guard let partition = try? log.partition(topicPartition) else {
            return .failure(TransactionalWriteRefusal(code: .unknownTopicOrPartition, message: "this server does not host \(topicPartition)"))
        }
        return producerLocks.withLock(producerID) { () -> Result<T, TransactionalWriteRefusal> in
            guard let metadata = coordinator.metadata(transactionalID), metadata.producerID.rawValue == producerID else {
                return .failure(TransactionalWriteRefusal(
                    code: .invalidProducerIdMapping, message: "transactional id '\(transactionalID)' does not belong to producer \(producerID)"))
            }
            guard metadata.producerEpoch.rawValue == producerEpoch else {
                return .failure(TransactionalWriteRefusal(
                    code: .invalidProducerEpoch,
                    message: "producer \(producerID) epoch \(producerEpoch) is fenced: the current epoch is \(metadata.producerEpoch)"))
            }
            switch metadata.state {
            case .prepareCommit, .prepareAbort:
                return .failure(TransactionalWriteRefusal(code: .notEnoughReplicas, message: "the transaction of '\(transactionalID)' is completing; retry"))
            case .ongoing where metadata.participants.contains(topicPartition):
                var next: Int32 = 0
                if let (epoch, last) = partition.producerEpochAndSequence(ProducerID(producerID)), epoch.rawValue == producerEpoch {
                    next = last == Int32.max ? 0 : last + 1
                }
                do throws(LogError) {
                    return .success(try write(partition, next))
                } catch {
                    return .failure(TransactionalWriteRefusal(code: KafkaErrorCode(error), message: error.description))
                }
            default:
                return .failure(TransactionalWriteRefusal(
                    code: abortable ? .transactionAbortable : .invalidTxnState,
                    message: "\(topicPartition) was not added to the transaction of '\(transactionalID)'"))
            }
        }
    }
}
