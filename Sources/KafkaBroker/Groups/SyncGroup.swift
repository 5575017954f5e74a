/// The assignment the leader computed for one member (opaque bytes, passed through).
package struct SyncGroupAssignment: Sendable, Equatable {
    package var memberID: String
    package var assignment: [UInt8]
    package init(memberID: String, assignment: [UInt8]) {
        self.memberID = memberID
        self.assignment = assignment
    }
}

/// SyncGroup (API key 14, v0–v5), field by field. Only the leader's `assignments` count; the
/// protocol type and name (v5+) are checked against the group's when present.
package struct SyncGroupRequest: Sendable, Equatable {
    package var groupID: String
    package var generationID: Int32
    package var memberID: String
    package var groupInstanceID: String?
    package var protocolType: String?
    package var protocolName: String?
    package var assignments: [SyncGroupAssignment]

    package init(
        groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil,
        protocolType: String? = nil, protocolName: String? = nil, assignments: [SyncGroupAssignment] = []
    ) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The SyncGroup answer, field by field: the member's assignment for the generation.
package struct SyncGroupResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var protocolType: String?
    package var protocolName: String?
    package var assignment: [UInt8]

    package init(errorCode: KafkaErrorCode = .none, protocolType: String? = nil, protocolName: String? = nil, assignment: [UInt8] = []) {
        self.errorCode = errorCode
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }
}
