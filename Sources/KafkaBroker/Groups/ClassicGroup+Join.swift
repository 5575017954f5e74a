/// JoinGroup and the rebalance it drives, as Kafka's classic coordinator does it.
extension ClassicGroup {
    /// Whether the group takes this member now (`group.max.size`): one already in, or a new one
    /// while there is room.
    func acceptsJoiningMember(_ memberID: String) -> Bool {
        switch state {
        case .empty, .dead:
            return true
        case .preparingRebalance:
            return members[memberID]?.awaitingJoin != nil || awaitingJoinCount < config.groupMembersMax
        case .completingRebalance, .stable:
            return members[memberID] != nil || members.count < config.groupMembersMax
        }
    }

    /// A member without an id. `newMemberID` is the id generated for it.
    mutating func joinNewMember(_ request: JoinGroupRequest, newMemberID: String, token: GroupCompletionToken, now: Int64) {
        guard supportsProtocols(type: request.protocolType, names: request.protocols.map(\.name)) else {
            outbox.append(.joinGroup(token, .failure(.inconsistentGroupProtocol, memberID: "")))
            return
        }
        if let instance = request.groupInstanceID {
            if let existing = staticMembers[instance] {
                updateStaticMemberThenRebalanceOrCompleteJoin(request, oldMemberID: existing, newMemberID: newMemberID, token: token, now: now)
            } else {
                addMemberThenRebalanceOrCompleteJoin(request, memberID: newMemberID, token: token, now: now)
            }
        } else if request.apiVersion >= 4 {
            // The member must come back with this id, so a client that retries a lost answer
            // is not counted twice.
            pendingJoinMembers[newMemberID] = now + Int64(request.sessionTimeoutMilliseconds)
            outbox.append(.joinGroup(token, .failure(.memberIdRequired, memberID: newMemberID)))
        } else {
            addMemberThenRebalanceOrCompleteJoin(request, memberID: newMemberID, token: token, now: now)
        }
    }

    /// A member that presents an id: a pending one completing its MEMBER_ID_REQUIRED round, or a
    /// member of the group rejoining.
    mutating func joinExistingMember(_ request: JoinGroupRequest, token: GroupCompletionToken, now: Int64) {
        let memberID = request.memberID
        guard supportsProtocols(type: request.protocolType, names: request.protocols.map(\.name)) else {
            outbox.append(.joinGroup(token, .failure(.inconsistentGroupProtocol, memberID: memberID)))
            return
        }
        if pendingJoinMembers[memberID] != nil {
            // Static members never get MEMBER_ID_REQUIRED, so a pending id with an instance id is
            // not the member that was given it.
            guard request.groupInstanceID == nil else {
                outbox.append(.joinGroup(token, .failure(.unknownMemberId, memberID: memberID)))
                return
            }
            addMemberThenRebalanceOrCompleteJoin(request, memberID: memberID, token: token, now: now)
            return
        }
        if let error = memberError(memberID: memberID, groupInstanceID: request.groupInstanceID) {
            outbox.append(.joinGroup(token, .failure(error, memberID: memberID)))
            return
        }
        guard let member = members[memberID] else { preconditionFailure("validated member \(memberID) is missing") }
        switch state {
        case .preparingRebalance:
            updateMemberThenRebalanceOrCompleteJoin(request, token: token, now: now)
        case .completingRebalance:
            if member.matches(request.protocols) {
                // The same metadata again: its answer was probably lost; send it again.
                outbox.append(.joinGroup(token, joinResponse(for: memberID, includeMembers: isLeader(memberID))))
            } else {
                updateMemberThenRebalanceOrCompleteJoin(request, token: token, now: now)
            }
        case .stable:
            if isLeader(memberID) || !member.matches(request.protocols) {
                // A leader rejoins to have the group reassigned (topic metadata changed, say).
                updateMemberThenRebalanceOrCompleteJoin(request, token: token, now: now)
            } else {
                outbox.append(.joinGroup(token, joinResponse(for: memberID, includeMembers: false)))
            }
        case .empty, .dead:
            outbox.append(.joinGroup(token, .failure(.unknownMemberId, memberID: memberID)))
        }
    }

    private mutating func addMemberThenRebalanceOrCompleteJoin(_ request: JoinGroupRequest, memberID: String, token: GroupCompletionToken, now: Int64) {
        var member = ClassicGroupMember(
            memberID: memberID, groupInstanceID: request.groupInstanceID, clientID: request.clientID, clientHost: request.clientHost,
            rebalanceTimeoutMilliseconds: request.effectiveRebalanceTimeoutMilliseconds,
            sessionTimeoutMilliseconds: request.sessionTimeoutMilliseconds, protocolType: request.protocolType,
            protocols: request.protocols)
        member.isNew = true
        member.awaitingJoin = token
        if state == .preparingRebalance && previousState == .empty { newMemberAdded = true }
        add(member)
        // A new member cannot heartbeat while its JoinGroup is parked; if its client went away,
        // this drops it.
        rescheduleSession(of: memberID, now: now, timeoutMilliseconds: Int64(config.newMemberJoinTimeoutMilliseconds))
        maybePrepareRebalanceOrCompleteJoin(now: now)
    }

    private mutating func updateMemberThenRebalanceOrCompleteJoin(_ request: JoinGroupRequest, token: GroupCompletionToken, now: Int64) {
        updateMember(request.memberID, with: request, token: token)
        maybePrepareRebalanceOrCompleteJoin(now: now)
    }

    private mutating func updateMember(_ memberID: String, with request: JoinGroupRequest, token: GroupCompletionToken) {
        members[memberID]?.protocols = request.protocols
        members[memberID]?.rebalanceTimeoutMilliseconds = request.effectiveRebalanceTimeoutMilliseconds
        members[memberID]?.sessionTimeoutMilliseconds = request.sessionTimeoutMilliseconds
        parkJoin(memberID, token)
    }

    /// A static member rejoining without its id (its process restarted): it takes its old place
    /// under a new id; the old id is fenced. A Stable group whose protocol choice does not change
    /// is not rebalanced: the member gets the current generation and its old assignment.
    private mutating func updateStaticMemberThenRebalanceOrCompleteJoin(
        _ request: JoinGroupRequest, oldMemberID: String, newMemberID: String, token: GroupCompletionToken, now: Int64
    ) {
        guard let instance = request.groupInstanceID else { preconditionFailure("static rejoin without an instance id") }
        let currentLeader = leaderID
        replaceStaticMember(instance: instance, oldMemberID: oldMemberID, newMemberID: newMemberID)
        rescheduleSession(of: newMemberID, now: now)
        updateMember(newMemberID, with: request, token: token)
        switch state {
        case .stable:
            if protocolName == selectProtocol() {
                let response: JoinGroupResponse
                if request.apiVersion >= 9 {
                    let leads = isLeader(newMemberID)
                    response = joinResponse(for: newMemberID, includeMembers: leads, skipAssignment: leads)
                } else {
                    response = joinResponse(for: newMemberID, includeMembers: false, leader: currentLeader ?? "")
                }
                completeJoin(of: newMemberID, with: response)
            } else {
                maybePrepareRebalanceOrCompleteJoin(now: now)
            }
        case .completingRebalance:
            // The leader may already have assigned to the old id: assign again.
            prepareRebalance(now: now)
        case .preparingRebalance:
            maybeCompleteJoinPhase(now: now)
        case .empty, .dead:
            preconditionFailure("group \(groupID) is \(state.rawValue) yet holds static member \(instance)")
        }
    }

    mutating func maybePrepareRebalanceOrCompleteJoin(now: Int64) {
        if canRebalance {
            prepareRebalance(now: now)
        } else {
            maybeCompleteJoinPhase(now: now)
        }
    }

    /// Starts a rebalance: parked SyncGroups are answered REBALANCE_IN_PROGRESS (rejoin), and
    /// the join phase waits for the members, or for the initial delay of a new group.
    mutating func prepareRebalance(now: Int64) {
        if state == .completingRebalance { resetAndPropagateAssignment(error: .rebalanceInProgress, now: now) }
        pendingSyncMembers = []
        syncTimer = nil
        let isInitial = state == .empty
        if isInitial {
            let delay = Int64(config.initialRebalanceDelayMilliseconds)
            let remaining = max(rebalanceTimeoutMilliseconds - delay, 0)
            joinTimer = JoinTimer(deadline: now + delay, kind: .initialRebalance(delayMilliseconds: delay, remainingMilliseconds: remaining))
        }
        transition(to: .preparingRebalance)
        if !isInitial { maybeCompleteJoinElseSchedule(now: now) }
    }

    private mutating func maybeCompleteJoinElseSchedule(now: Int64) {
        if hasAllMembersJoined {
            completeJoinPhase(now: now)
        } else {
            joinTimer = JoinTimer(deadline: now + rebalanceTimeoutMilliseconds, kind: .completeJoin)
        }
    }

    /// Completes the join phase once every member has rejoined (never during the initial
    /// rebalance, which waits out its delay).
    mutating func maybeCompleteJoinPhase(now: Int64) {
        guard state == .preparingRebalance, previousState != .empty, hasAllMembersJoined else { return }
        completeJoinPhase(now: now)
    }

    /// The initial rebalance's delay ran out: extend it while new members keep arriving, up to
    /// the rebalance timeout, else complete the join phase.
    mutating func initialRebalanceDelayExpired(delayMilliseconds: Int64, remainingMilliseconds: Int64, now: Int64) {
        if newMemberAdded && remainingMilliseconds != 0 {
            newMemberAdded = false
            let nextDelay = min(Int64(config.initialRebalanceDelayMilliseconds), remainingMilliseconds)
            let nextRemaining = max(remainingMilliseconds - delayMilliseconds, 0)
            joinTimer = JoinTimer(deadline: now + nextDelay, kind: .initialRebalance(delayMilliseconds: nextDelay, remainingMilliseconds: nextRemaining))
        } else {
            completeJoinPhase(now: now)
        }
    }

    /// Ends the join phase: dynamic members that did not rejoin are removed, the generation
    /// moves on, and every parked JoinGroup is answered (the leader with every member's
    /// metadata). Then the group waits for SyncGroups, up to the rebalance timeout.
    mutating func completeJoinPhase(now: Int64) {
        joinTimer = nil
        for member in membersInOrder where member.awaitingJoin == nil && !member.isStatic {
            remove(member.memberID)
        }
        if !electJoinedLeader() && !members.isEmpty {
            // Nobody rejoined: wait again; the session timeouts remove the silent ones.
            joinTimer = JoinTimer(deadline: now + max(rebalanceTimeoutMilliseconds, 1), kind: .completeJoin)
            return
        }
        generationID += 1
        pendingSyncMembers = []
        if members.isEmpty {
            protocolName = nil
            transition(to: .empty)
            return
        }
        protocolName = selectProtocol()
        transition(to: .completingRebalance)
        for member in membersInOrder {
            completeJoin(of: member.memberID, with: joinResponse(for: member.memberID, includeMembers: isLeader(member.memberID)))
            rescheduleSession(of: member.memberID, now: now)
            members[member.memberID]?.isNew = false
            pendingSyncMembers.insert(member.memberID)
        }
        syncTimer = SyncTimer(deadline: now + rebalanceTimeoutMilliseconds, generationID: generationID)
    }

    /// Keeps the leader if it rejoined, else makes the first member that did the leader.
    /// - Returns: false when no member rejoined.
    private mutating func electJoinedLeader() -> Bool {
        guard let leader = leaderID, let current = members[leader] else { return false }
        if current.awaitingJoin != nil { return true }
        guard let joined = membersInOrder.first(where: { $0.awaitingJoin != nil }) else { return false }
        leaderID = joined.memberID
        return true
    }
}
