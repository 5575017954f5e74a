/// TxnOffsetCommit (API key 28, v0–v4), field by field: offsets a transaction commits for a
/// consumer group (KIP-98), made the group's committed offsets by the transaction's COMMIT
/// marker and dropped by its ABORT marker.
///
/// With KIP-447's group metadata (v3+: generation, member id, instance id; sent by
/// `sendOffsetsToTransaction(offsets, consumer.groupMetadata())`), a member of an older
/// generation or a member the group no longer has is refused, so a zombie consumer's
/// transaction cannot commit its offsets. Generation -1 with an empty member id skips that check
/// (v0–v2, and producers that pass only a group id).
package struct TxnOffsetCommitRequest: Sendable, Equatable {
    package var transactionalID: String
    package var groupID: String
    package var producerID: Int64
    package var producerEpoch: Int16
    package var generationID: Int32
    package var memberID: String
    package var groupInstanceID: String?
    package var topics: [OffsetCommitRequestTopic]

    package init(
        transactionalID: String, groupID: String, producerID: Int64, producerEpoch: Int16, generationID: Int32 = -1,
        memberID: String = "", groupInstanceID: String? = nil, topics: [OffsetCommitRequestTopic]
    ) {
        self.transactionalID = transactionalID
        self.groupID = groupID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
    }
}

/// The TxnOffsetCommit answer: an error per partition, in the request's order.
package struct TxnOffsetCommitResponse: Sendable, Equatable {
    package var topics: [OffsetCommitResponseTopic]
    package init(topics: [OffsetCommitResponseTopic]) { self.topics = topics }

    /// Every partition's error code, in order.
    package var errorCodes: [KafkaErrorCode] { topics.flatMap { $0.partitions.map(\.errorCode) } }
}
