/// One member as DescribeGroups shows it. Metadata only while the group is Stable (it is the
/// member's metadata for the chosen protocol); the assignment is the last one synced.
package struct DescribedGroupMember: Sendable, Equatable {
    package var memberID: String
    package var groupInstanceID: String?
    package var clientID: String
    package var clientHost: String
    package var memberMetadata: [UInt8]
    package var memberAssignment: [UInt8]
}

/// One group as DescribeGroups (API key 15, v0–v5) shows it. A group the coordinator does not
/// know is `Dead`, with no error (as Kafka answers).
package struct DescribedGroup: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var groupID: String
    /// Kafka's state name: `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`, `Dead`.
    package var groupState: String
    package var protocolType: String
    /// The chosen protocol, only while Stable.
    package var protocolData: String
    package var members: [DescribedGroupMember]
    /// Not computed (no ACLs here): Kafka's "not requested" value.
    package var authorizedOperations: Int32 = Int32.min
}

/// ListGroups (API key 16, v0–v5). An empty filter lets everything through; states match
/// case-insensitively (`stable`, `Empty`); the only group type here is `classic`.
package struct ListGroupsRequest: Sendable, Equatable {
    package var statesFilter: [String]
    package var typesFilter: [String]
    package init(statesFilter: [String] = [], typesFilter: [String] = []) {
        self.statesFilter = statesFilter
        self.typesFilter = typesFilter
    }
}

/// One group in a ListGroups answer.
package struct ListedGroup: Sendable, Equatable {
    package var groupID: String
    /// `consumer` for Kafka consumers; empty for a group that only has committed offsets.
    package var protocolType: String
    package var groupState: String
    package var groupType: String
}

/// The ListGroups answer, groups sorted by id.
package struct ListGroupsResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode = .none
    package var groups: [ListedGroup]
}

/// One group's result in a DeleteGroups (API key 42, v0–v2) answer.
package struct DeletableGroupResult: Sendable, Equatable {
    package var groupID: String
    package var errorCode: KafkaErrorCode
}
