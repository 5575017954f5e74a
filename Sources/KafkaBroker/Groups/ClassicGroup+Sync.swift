/// SyncGroup and Heartbeat, as Kafka's classic coordinator answers them.
extension ClassicGroup {
    /// A SyncGroup: parked while the leader's assignment is awaited; the leader's releases every
    /// parked one and makes the group Stable.
    mutating func sync(_ request: SyncGroupRequest, token: GroupCompletionToken, now: Int64) {
        if let error = syncError(request) {
            outbox.append(.syncGroup(token, SyncGroupResponse(errorCode: error)))
            return
        }
        switch state {
        case .preparingRebalance:
            outbox.append(.syncGroup(token, SyncGroupResponse(errorCode: .rebalanceInProgress)))
        case .completingRebalance:
            parkSync(request.memberID, token)
            receivedSync(from: request.memberID)
            guard isLeader(request.memberID) else { return }
            var assignments: [String: [UInt8]] = [:]
            for entry in request.assignments { assignments[entry.memberID] = entry.assignment }
            for memberID in memberOrder { members[memberID]?.assignment = assignments[memberID] ?? [] }
            propagateAssignment(error: .none, now: now)
            transition(to: .stable)
        case .stable:
            receivedSync(from: request.memberID)
            let member = members[request.memberID]
            outbox.append(.syncGroup(token, SyncGroupResponse(
                errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: member?.assignment ?? [])))
        case .empty, .dead:
            outbox.append(.syncGroup(token, SyncGroupResponse(errorCode: .unknownMemberId)))
        }
    }

    private func syncError(_ request: SyncGroupRequest) -> KafkaErrorCode? {
        if state == .empty { return .unknownMemberId }
        if let error = memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) { return error }
        if request.generationID != generationID { return .illegalGeneration }
        if Self.isInconsistent(request.protocolType, protocolType) || Self.isInconsistent(request.protocolName, protocolName) {
            return .inconsistentGroupProtocol
        }
        return nil
    }

    /// A protocol type or name in a request (v5+) that differs from the group's.
    private static func isInconsistent(_ requested: String?, _ actual: String?) -> Bool {
        guard let requested, let actual else { return false }
        return requested != actual
    }

    private mutating func receivedSync(from memberID: String) {
        pendingSyncMembers.remove(memberID)
        if pendingSyncMembers.isEmpty { syncTimer = nil }
    }

    /// Clears every assignment and answers the parked SyncGroups with `error`.
    /// - Precondition: the group is CompletingRebalance.
    mutating func resetAndPropagateAssignment(error: KafkaErrorCode, now: Int64) {
        precondition(state == .completingRebalance, "group \(groupID) resets assignments in state \(state.rawValue)")
        for memberID in memberOrder { members[memberID]?.assignment = [] }
        propagateAssignment(error: error, now: now)
    }

    /// Answers every parked SyncGroup with the member's assignment (or `error`), and restarts
    /// the session of each member answered: its session was not counted while it was parked.
    private mutating func propagateAssignment(error: KafkaErrorCode, now: Int64) {
        for member in membersInOrder {
            let response = error == .none
                ? SyncGroupResponse(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)
                : SyncGroupResponse(errorCode: error, assignment: member.assignment)
            if completeSync(of: member.memberID, with: response) {
                rescheduleSession(of: member.memberID, now: now)
            }
        }
    }

    /// A Heartbeat: extends the member's session, and tells it to rejoin while the group
    /// rebalances.
    mutating func heartbeat(_ request: HeartbeatRequest, now: Int64) -> KafkaErrorCode {
        if let error = memberError(memberID: request.memberID, groupInstanceID: request.groupInstanceID) { return error }
        if request.generationID != generationID { return .illegalGeneration }
        switch state {
        case .empty, .dead:
            return .unknownMemberId
        case .preparingRebalance:
            rescheduleSession(of: request.memberID, now: now)
            return .rebalanceInProgress
        case .completingRebalance, .stable:
            rescheduleSession(of: request.memberID, now: now)
            return .none
        }
    }
}
