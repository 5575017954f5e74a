/// Whether a member may commit offsets for this group, as Kafka's classic group decides.
extension ClassicGroup {
    /// The error refusing an (transactional) offset commit, or nil when it may go ahead.
    ///
    /// - generation < 0 while the group is Empty: a simple (standalone or admin) commit, allowed.
    /// - a generation, a member id or an instance id: the member must be current (else
    ///   UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID) and of this generation (else
    ///   ILLEGAL_GENERATION).
    /// - neither, while the group has members: UNKNOWN_MEMBER_ID, except for transactional
    ///   commits (older producers send no group metadata).
    /// - a plain commit while CompletingRebalance: REBALANCE_IN_PROGRESS (the member has its new
    ///   generation but not yet its assignment).
    func offsetCommitError(memberID: String, groupInstanceID: String?, generationID requested: Int32, isTransactional: Bool) -> KafkaErrorCode? {
        if state == .dead { return .coordinatorNotAvailable }
        if requested < 0 && state == .empty { return nil }
        if requested >= 0 || !memberID.isEmpty || groupInstanceID != nil {
            if let error = memberError(memberID: memberID, groupInstanceID: groupInstanceID) { return error }
            if requested != generationID { return .illegalGeneration }
        } else if !isTransactional && state != .empty {
            return .unknownMemberId
        }
        if !isTransactional && state == .completingRebalance { return .rebalanceInProgress }
        return nil
    }

    /// What DescribeGroups shows of the group.
    var described: DescribedGroup {
        let isStable = state == .stable
        return DescribedGroup(
            errorCode: .none, groupID: groupID, groupState: state.rawValue, protocolType: protocolType ?? "",
            protocolData: isStable ? (protocolName ?? "") : "",
            members: membersInOrder.map { member in
                DescribedGroupMember(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                    clientHost: member.clientHost, memberMetadata: isStable ? member.metadata(for: protocolName) : [],
                    memberAssignment: member.assignment)
            })
    }
}
