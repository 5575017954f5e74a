/// LeaveGroup, and the removals timers make.
extension ClassicGroup {
    /// Removes the members named (v3+: several; a static member also by instance id alone),
    /// each with its own result, then rebalances the rest.
    mutating func leave(_ request: LeaveGroupRequest, now: Int64) -> [LeaveGroupMemberResponse] {
        var results: [LeaveGroupMemberResponse] = []
        var removedAny = false
        for identity in request.members {
            var error: KafkaErrorCode = .none
            if identity.memberID.isEmpty {
                if let instance = identity.groupInstanceID, let memberID = staticMembers[instance] {
                    remove(memberID)
                } else {
                    error = .unknownMemberId
                }
            } else if pendingJoinMembers[identity.memberID] != nil {
                remove(identity.memberID)
            } else if let memberError = memberError(memberID: identity.memberID, groupInstanceID: identity.groupInstanceID) {
                error = memberError
            } else {
                remove(identity.memberID)
            }
            if error == .none { removedAny = true }
            results.append(LeaveGroupMemberResponse(memberID: identity.memberID, groupInstanceID: identity.groupInstanceID, errorCode: error))
        }
        if removedAny {
            switch state {
            case .stable, .completingRebalance: maybePrepareRebalanceOrCompleteJoin(now: now)
            case .preparingRebalance: maybeCompleteJoinPhase(now: now)
            case .empty, .dead: break
            }
        }
        return results
    }

    /// A member's session ran out: a member that is not kept alive by a parked request is removed
    /// and the group rebalances; a pending member (MEMBER_ID_REQUIRED) that never came back is
    /// forgotten.
    mutating func sessionExpired(_ memberID: String, now: Int64) {
        if pendingJoinMembers[memberID] != nil {
            remove(memberID)
            if state == .preparingRebalance && hasAllMembersJoined { completeJoinPhase(now: now) }
            return
        }
        guard let member = members[memberID] else { return }
        guard !member.hasSatisfiedHeartbeat else {
            members[memberID]?.sessionDeadline = nil
            return
        }
        remove(memberID)
        switch state {
        case .stable, .completingRebalance: maybePrepareRebalanceOrCompleteJoin(now: now)
        case .preparingRebalance: if hasAllMembersJoined { completeJoinPhase(now: now) }
        case .empty, .dead: break
        }
    }

    /// The rebalance timeout passed with members of `generation` still not synced: they are
    /// removed and the group rebalances.
    mutating func syncExpired(generation: Int32, now: Int64) {
        syncTimer = nil
        guard generation == generationID, state == .completingRebalance || state == .stable, !pendingSyncMembers.isEmpty else { return }
        for memberID in pendingSyncMembers.sorted() { remove(memberID) }
        prepareRebalance(now: now)
    }
}
