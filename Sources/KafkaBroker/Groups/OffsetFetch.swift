/// The partitions of one topic whose offsets are asked for.
package struct OffsetFetchRequestTopic: Sendable, Equatable {
    package var name: String
    package var partitionIndexes: [Int32]
    package init(name: String, partitionIndexes: [Int32]) {
        self.name = name
        self.partitionIndexes = partitionIndexes
    }
}

/// One group of an OffsetFetch; `topics` nil asks for every partition the group has committed.
package struct OffsetFetchRequestGroup: Sendable, Equatable {
    package var groupID: String
    package var topics: [OffsetFetchRequestTopic]?
    package init(groupID: String, topics: [OffsetFetchRequestTopic]?) {
        self.groupID = groupID
        self.topics = topics
    }
}

/// OffsetFetch (API key 9), in its v8+ shape: several groups at once. v0–v7 ask for one group:
/// pass it as the only group and answer with that group's topics and error code (top-level from
/// v2). `requireStable` (v7+) answers UNSTABLE_OFFSET_COMMIT for a partition that an open
/// transaction has an offset staged for, so the client retries instead of reading an offset
/// that is about to change.
package struct OffsetFetchRequest: Sendable, Equatable {
    package var groups: [OffsetFetchRequestGroup]
    package var requireStable: Bool
    package init(groups: [OffsetFetchRequestGroup], requireStable: Bool = false) {
        self.groups = groups
        self.requireStable = requireStable
    }
}

/// One partition's committed offset: -1 and metadata "" when the group has none there.
package struct OffsetFetchResponsePartition: Sendable, Equatable {
    package var partitionIndex: Int32
    package var committedOffset: Int64
    /// Always -1: the stored value does not keep it.
    package var committedLeaderEpoch: Int32
    package var metadata: String?
    package var errorCode: KafkaErrorCode
}

/// One topic's committed offsets.
package struct OffsetFetchResponseTopic: Sendable, Equatable {
    package var name: String
    package var partitions: [OffsetFetchResponsePartition]
}

/// One group's committed offsets, with a group-level error.
package struct OffsetFetchResponseGroup: Sendable, Equatable {
    package var groupID: String
    package var topics: [OffsetFetchResponseTopic]
    package var errorCode: KafkaErrorCode
}

/// The OffsetFetch answer, one entry per requested group in the request's order.
package struct OffsetFetchResponse: Sendable, Equatable {
    package var groups: [OffsetFetchResponseGroup]
}
