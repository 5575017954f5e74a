/// One partition's offset in an OffsetCommit or TxnOffsetCommit request.
package struct OffsetCommitRequestPartition: Sendable, Equatable {
    package var partitionIndex: Int32
    /// The next offset the group will read.
    package var committedOffset: Int64
    /// Accepted and not kept (the stored value format has no room for it; fetches answer -1).
    package var committedLeaderEpoch: Int32
    /// Kept with the offset; null is kept as "".
    package var committedMetadata: String?

    package init(partitionIndex: Int32, committedOffset: Int64, committedLeaderEpoch: Int32 = -1, committedMetadata: String? = nil) {
        self.partitionIndex = partitionIndex
        self.committedOffset = committedOffset
        self.committedLeaderEpoch = committedLeaderEpoch
        self.committedMetadata = committedMetadata
    }
}

/// One topic's partitions in an OffsetCommit or TxnOffsetCommit request.
package struct OffsetCommitRequestTopic: Sendable, Equatable {
    package var name: String
    package var partitions: [OffsetCommitRequestPartition]
    package init(name: String, partitions: [OffsetCommitRequestPartition]) {
        self.name = name
        self.partitions = partitions
    }
}

/// OffsetCommit (API key 8, v0–v9), field by field. Generation -1 with an empty member id is a
/// "simple" commit, allowed only while the group has no members. `RetentionTimeMs` (v2–v4) and
/// `CommitTimestamp` (v1) are ignored, as Kafka ignores them today.
package struct OffsetCommitRequest: Sendable, Equatable {
    /// From v9 a generation for a group that does not exist is GROUP_ID_NOT_FOUND; before,
    /// ILLEGAL_GENERATION.
    package var apiVersion: Int16
    package var groupID: String
    /// -1 in v0.
    package var generationIDOrMemberEpoch: Int32
    package var memberID: String
    package var groupInstanceID: String?
    package var topics: [OffsetCommitRequestTopic]

    package init(
        apiVersion: Int16, groupID: String, generationIDOrMemberEpoch: Int32 = -1, memberID: String = "",
        groupInstanceID: String? = nil, topics: [OffsetCommitRequestTopic]
    ) {
        self.apiVersion = apiVersion
        self.groupID = groupID
        self.generationIDOrMemberEpoch = generationIDOrMemberEpoch
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
    }
}

/// One partition's result of an (transactional) offset commit.
package struct OffsetCommitResponsePartition: Sendable, Equatable {
    package var partitionIndex: Int32
    package var errorCode: KafkaErrorCode
    package init(partitionIndex: Int32, errorCode: KafkaErrorCode) {
        self.partitionIndex = partitionIndex
        self.errorCode = errorCode
    }
}

/// One topic's results of an (transactional) offset commit, in the request's order.
package struct OffsetCommitResponseTopic: Sendable, Equatable {
    package var name: String
    package var partitions: [OffsetCommitResponsePartition]
    package init(name: String, partitions: [OffsetCommitResponsePartition]) {
        self.name = name
        self.partitions = partitions
    }
}

/// The OffsetCommit answer: an error per partition (a group-level error is every partition's).
package struct OffsetCommitResponse: Sendable, Equatable {
    package var topics: [OffsetCommitResponseTopic]
    package init(topics: [OffsetCommitResponseTopic]) { self.topics = topics }

    /// Every partition's error code, in order (for tests and logs).
    package var errorCodes: [KafkaErrorCode] { topics.flatMap { $0.partitions.map(\.errorCode) } }
}
