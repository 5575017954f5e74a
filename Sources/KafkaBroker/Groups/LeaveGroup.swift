/// One member leaving (LeaveGroup v3+ `MemberIdentity`). An empty `memberID` with a
/// `groupInstanceID` removes that static member, whatever its id (an administrator's removal).
package struct LeaveGroupMember: Sendable, Equatable {
    package var memberID: String
    package var groupInstanceID: String?
    package var reason: String?
    package init(memberID: String, groupInstanceID: String? = nil, reason: String? = nil) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.reason = reason
    }
}

/// LeaveGroup (API key 13, v0–v5). v0–v2 carry one `MemberId`: pass it as the only member and
/// answer with ``LeaveGroupResponse/singleMemberErrorCode``.
package struct LeaveGroupRequest: Sendable, Equatable {
    package var groupID: String
    package var members: [LeaveGroupMember]
    package init(groupID: String, members: [LeaveGroupMember]) {
        self.groupID = groupID
        self.members = members
    }
}

/// One member's result of a LeaveGroup.
package struct LeaveGroupMemberResponse: Sendable, Equatable {
    package var memberID: String
    package var groupInstanceID: String?
    package var errorCode: KafkaErrorCode
    package init(memberID: String, groupInstanceID: String?, errorCode: KafkaErrorCode = .none) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.errorCode = errorCode
    }
}

/// The LeaveGroup answer: a request-level error, and per member (v3+) its own.
package struct LeaveGroupResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var members: [LeaveGroupMemberResponse]
    package init(errorCode: KafkaErrorCode = .none, members: [LeaveGroupMemberResponse] = []) {
        self.errorCode = errorCode
        self.members = members
    }

    /// The one error code of a v0–v2 answer: the request-level error, else the first member's.
    package var singleMemberErrorCode: KafkaErrorCode {
        errorCode != .none ? errorCode : (members.first { $0.errorCode != .none }?.errorCode ?? .none)
    }
}
