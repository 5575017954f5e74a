/// Heartbeat (API key 12, v0–v4), field by field.
package struct HeartbeatRequest: Sendable, Equatable {
    package var groupID: String
    package var generationID: Int32
    package var memberID: String
    package var groupInstanceID: String?

    package init(groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// The Heartbeat answer: NONE, or REBALANCE_IN_PROGRESS (rejoin), ILLEGAL_GENERATION,
/// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, INVALID_GROUP_ID.
package struct HeartbeatResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package init(errorCode: KafkaErrorCode = .none) { self.errorCode = errorCode }
}
