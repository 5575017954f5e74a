/// One protocol a member supports, with its opaque metadata (for the consumer protocol: the
/// subscription, encoded by the client's assignor; passed through untouched).
package struct JoinGroupProtocol: Sendable, Equatable {
    package var name: String
    package var metadata: [UInt8]
    package init(name: String, metadata: [UInt8]) {
        self.name = name
        self.metadata = metadata
    }
}

/// JoinGroup (API key 11, v0–v9), field by field, plus what the request header and the
/// connection say (`clientID`, `clientHost`).
///
/// Version rules the coordinator applies: from v4 a member without an id is answered
/// MEMBER_ID_REQUIRED with a generated id to rejoin with; v0 has no rebalance timeout (pass -1:
/// the session timeout stands in); from v9 a static member that rejoins a Stable group without
/// changing its protocols is told `skipAssignment` when it is the leader.
package struct JoinGroupRequest: Sendable, Equatable {
    package var apiVersion: Int16
    package var groupID: String
    package var sessionTimeoutMilliseconds: Int32
    /// -1 when the request has none (v0).
    package var rebalanceTimeoutMilliseconds: Int32
    /// Empty for a member that has none yet.
    package var memberID: String
    /// `group.instance.id` of a static member (v5+).
    package var groupInstanceID: String?
    package var protocolType: String
    /// In the member's order of preference.
    package var protocols: [JoinGroupProtocol]
    /// Why the member (re)joins (v8+, KIP-800); recorded nowhere but accepted.
    package var reason: String?
    package var clientID: String
    package var clientHost: String

    package init(
        apiVersion: Int16, groupID: String, sessionTimeoutMilliseconds: Int32, rebalanceTimeoutMilliseconds: Int32 = -1,
        memberID: String = "", groupInstanceID: String? = nil, protocolType: String, protocols: [JoinGroupProtocol],
        reason: String? = nil, clientID: String, clientHost: String
    ) {
        self.apiVersion = apiVersion
        self.groupID = groupID
        self.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        self.rebalanceTimeoutMilliseconds = rebalanceTimeoutMilliseconds
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocols = protocols
        self.reason = reason
        self.clientID = clientID
        self.clientHost = clientHost
    }

    /// The rebalance timeout in force: the session timeout when the request carries none.
    var effectiveRebalanceTimeoutMilliseconds: Int32 {
        rebalanceTimeoutMilliseconds > 0 ? rebalanceTimeoutMilliseconds : sessionTimeoutMilliseconds
    }
}

/// One member as the leader sees it in its JoinGroup answer.
package struct JoinGroupResponseMember: Sendable, Equatable {
    package var memberID: String
    package var groupInstanceID: String?
    /// The member's metadata for the protocol the group chose.
    package var metadata: [UInt8]
    package init(memberID: String, groupInstanceID: String?, metadata: [UInt8]) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.metadata = metadata
    }
}

/// The JoinGroup answer, field by field (`ThrottleTimeMs` is the network layer's).
package struct JoinGroupResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var generationID: Int32
    package var protocolType: String?
    package var protocolName: String?
    package var leader: String
    package var skipAssignment: Bool
    package var memberID: String
    /// Every member with its metadata for the leader; empty for the others.
    package var members: [JoinGroupResponseMember]

    package init(
        errorCode: KafkaErrorCode = .none, generationID: Int32 = -1, protocolType: String? = nil, protocolName: String? = nil,
        leader: String = "", skipAssignment: Bool = false, memberID: String, members: [JoinGroupResponseMember] = []
    ) {
        self.errorCode = errorCode
        self.generationID = generationID
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.leader = leader
        self.skipAssignment = skipAssignment
        self.memberID = memberID
        self.members = members
    }

    /// An error answer: no generation, no protocol, no leader.
    static func failure(_ error: KafkaErrorCode, memberID: String) -> JoinGroupResponse {
        JoinGroupResponse(errorCode: error, memberID: memberID)
    }
}
