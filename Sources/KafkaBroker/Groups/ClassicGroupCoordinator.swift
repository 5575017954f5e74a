/// Kafka's classic consumer-group protocol as a synchronous state machine: JoinGroup, SyncGroup,
/// Heartbeat, LeaveGroup, DescribeGroups, ListGroups and the membership checks of offset
/// commits, for every group of the broker.
///
/// It does no I/O and reads no clock: every call takes `now` (milliseconds on a monotonic
/// clock, never going back), and timers are deadlines the caller runs with ``tick(now:)`` at
/// ``nextDeadline`` or later. JoinGroup and SyncGroup may be parked (Kafka answers a JoinGroup
/// when the rebalance's join phase completes, a follower's SyncGroup when the leader has
/// synced): they take a ``GroupCompletionToken`` and every call returns the ``GroupEffect``s
/// that answer tokens, this call's and earlier ones'. A token missing from the effects is
/// parked.
///
/// ```
/// network layer ──join(token)/sync(token)/heartbeat/leave/tick(now)──▶ coordinator
///               ◀──────── responses now, and effects: token → response ─────┘
/// ```
///
/// Groups live in memory only (their offsets are durable elsewhere): after a restart a group
/// is Empty, its members' heartbeats get UNKNOWN_MEMBER_ID and they rejoin.
///
/// - Invariant: every token passed in is answered by exactly one effect, now or later.
/// - Invariant: a group known here is never Dead (a deleted group is forgotten).
/// Thread-safety: a value; one owner mutates it (``GroupCoordinatorService`` holds it under a
/// lock).
package struct ClassicGroupCoordinator {
    package let config: GroupCoordinatorConfig
    private var groups: [String: ClassicGroup] = [:]
    private var memberIDs: MemberIDGenerator

    package init(config: GroupCoordinatorConfig = GroupCoordinatorConfig()) {
        self.config = config.checked()
        memberIDs = MemberIDGenerator(seed: config.memberIDSeed)
    }

    /// The ids of the groups known here, sorted.
    package var groupIDs: [String] { groups.keys.sorted() }

    /// The state of a group, nil when unknown.
    package func state(of groupID: String) -> ClassicGroupState? { groups[groupID]?.state }

    /// The current generation of a group, nil when unknown.
    package func generation(of groupID: String) -> Int32? { groups[groupID]?.generationID }

    /// Makes a group known as Empty when it is not (a group that has committed offsets exists,
    /// as Kafka sees it, even with no members: after a restart, or committed by the engine).
    package mutating func ensureGroup(_ groupID: String) {
        if groups[groupID] == nil { groups[groupID] = ClassicGroup(groupID: groupID, config: config) }
    }

    private mutating func drain(_ groupID: String) -> [GroupEffect] {
        guard let outbox = groups[groupID]?.outbox, !outbox.isEmpty else { return [] }
        groups[groupID]!.outbox = []
        return outbox
    }

    // MARK: Requests

    /// A JoinGroup. Answered at once for errors, MEMBER_ID_REQUIRED and members rejoining an
    /// unchanged Stable group; otherwise parked until the join phase completes.
    package mutating func joinGroup(_ request: JoinGroupRequest, token: GroupCompletionToken, now: Int64) -> [GroupEffect] {
        let groupID = request.groupID
        guard !groupID.isEmpty else { return [.joinGroup(token, .failure(.invalidGroupId, memberID: request.memberID))] }
        guard (config.sessionTimeoutMinMilliseconds...config.sessionTimeoutMaxMilliseconds).contains(request.sessionTimeoutMilliseconds) else {
            return [.joinGroup(token, .failure(.invalidSessionTimeout, memberID: request.memberID))]
        }
        let isNewMember = request.memberID.isEmpty
        if groups[groupID] == nil {
            // A member with an id cannot join a group that does not exist: it belonged to a
            // group this coordinator has forgotten (restart, deletion).
            guard isNewMember else { return [.joinGroup(token, .failure(.unknownMemberId, memberID: request.memberID))] }
            groups[groupID] = ClassicGroup(groupID: groupID, config: config)
        }
        if !groups[groupID]!.acceptsJoiningMember(request.memberID) {
            groups[groupID]!.remove(request.memberID)
            groups[groupID]!.outbox.append(.joinGroup(token, .failure(.groupMaxSizeReached, memberID: "")))
            groups[groupID]!.maybeCompleteJoinPhase(now: now)
        } else if isNewMember {
            let newMemberID = memberIDs.next(prefix: request.groupInstanceID ?? request.clientID)
            groups[groupID]!.joinNewMember(request, newMemberID: newMemberID, token: token, now: now)
        } else {
            groups[groupID]!.joinExistingMember(request, token: token, now: now)
        }
        return drain(groupID)
    }

    /// A SyncGroup. Parked while the group awaits its leader's assignment; answered at once
    /// otherwise.
    package mutating func syncGroup(_ request: SyncGroupRequest, token: GroupCompletionToken, now: Int64) -> [GroupEffect] {
        guard !request.groupID.isEmpty else { return [.syncGroup(token, SyncGroupResponse(errorCode: .invalidGroupId))] }
        guard groups[request.groupID] != nil else { return [.syncGroup(token, SyncGroupResponse(errorCode: .unknownMemberId))] }
        groups[request.groupID]!.sync(request, token: token, now: now)
        return drain(request.groupID)
    }

    /// A Heartbeat; never parked, never releases anything.
    package mutating func heartbeat(_ request: HeartbeatRequest, now: Int64) -> HeartbeatResponse {
        guard !request.groupID.isEmpty else { return HeartbeatResponse(errorCode: .invalidGroupId) }
        guard groups[request.groupID] != nil else { return HeartbeatResponse(errorCode: .unknownMemberId) }
        return HeartbeatResponse(errorCode: groups[request.groupID]!.heartbeat(request, now: now))
    }

    /// A LeaveGroup: per-member results, and the parked answers the departures release.
    package mutating func leaveGroup(_ request: LeaveGroupRequest, now: Int64) -> GroupOutcome<LeaveGroupResponse> {
        guard !request.groupID.isEmpty else { return GroupOutcome(response: LeaveGroupResponse(errorCode: .invalidGroupId)) }
        guard groups[request.groupID] != nil else {
            let results = request.members.map { LeaveGroupMemberResponse(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, errorCode: .unknownMemberId) }
            return GroupOutcome(response: LeaveGroupResponse(members: results))
        }
        let results = groups[request.groupID]!.leave(request, now: now)
        return GroupOutcome(response: LeaveGroupResponse(members: results), effects: drain(request.groupID))
    }

    /// DescribeGroups: unknown groups are Dead, with no error, as Kafka answers.
    package func describeGroups(_ groupIDs: [String]) -> [DescribedGroup] {
        groupIDs.map { groupID in
            if groupID.isEmpty {
                return DescribedGroup(errorCode: .invalidGroupId, groupID: groupID, groupState: ClassicGroupState.dead.rawValue,
                                      protocolType: "", protocolData: "", members: [])
            }
            return groups[groupID]?.described
                ?? DescribedGroup(errorCode: .none, groupID: groupID, groupState: ClassicGroupState.dead.rawValue,
                                  protocolType: "", protocolData: "", members: [])
        }
    }

    /// ListGroups, filtered by state (case-insensitive) and type (`classic`), sorted by id.
    package func listGroups(_ request: ListGroupsRequest) -> ListGroupsResponse {
        let states = Set(request.statesFilter.map { $0.trimmingSpaces.lowercased() })
        let types = Set(request.typesFilter.map { $0.trimmingSpaces.lowercased() })
        guard types.isEmpty || types.contains("classic") else { return ListGroupsResponse(groups: []) }
        let listed = groups.values
            .filter { states.isEmpty || states.contains($0.state.rawValue.lowercased()) }
            .sorted { $0.groupID < $1.groupID }
            .map { ListedGroup(groupID: $0.groupID, protocolType: $0.protocolType ?? "", groupState: $0.state.rawValue, groupType: "classic") }
        return ListGroupsResponse(groups: listed)
    }

    // MARK: Offsets and deletion

    /// The membership check of an (transactional) offset commit; nil lets it go ahead. A simple
    /// commit (generation < 0) to an unknown group creates it, Empty, as Kafka does. A plain
    /// commit that passes extends the member's session while the group is Stable or
    /// PreparingRebalance.
    package mutating func offsetCommitError(
        groupID: String, memberID: String, groupInstanceID: String?, generationID: Int32,
        isTransactional: Bool, apiVersion: Int16, now: Int64
    ) -> KafkaErrorCode? {
        guard !groupID.isEmpty else { return .invalidGroupId }
        guard let group = groups[groupID] else {
            guard generationID < 0 else {
                return !isTransactional && apiVersion >= 9 ? .groupIdNotFound : .illegalGeneration
            }
            ensureGroup(groupID)
            return nil
        }
        if let error = group.offsetCommitError(memberID: memberID, groupInstanceID: groupInstanceID, generationID: generationID, isTransactional: isTransactional) {
            return error
        }
        if !isTransactional && (group.state == .stable || group.state == .preparingRebalance) {
            groups[groupID]!.rescheduleSession(of: memberID, now: now)
        }
        return nil
    }

    /// Why a group cannot be deleted now: GROUP_ID_NOT_FOUND when unknown, NON_EMPTY_GROUP while
    /// it has members; nil when it can.
    package func deletionError(_ groupID: String) -> KafkaErrorCode? {
        guard !groupID.isEmpty else { return .invalidGroupId }
        guard let group = groups[groupID] else { return .groupIdNotFound }
        return group.state == .empty ? nil : .nonEmptyGroup
    }

    /// Forgets an Empty group (DeleteGroups, once its offsets are gone).
    /// - Precondition: ``deletionError(_:)`` is nil for it.
    package mutating func removeGroup(_ groupID: String) {
        precondition(deletionError(groupID) == nil, "removing group \(groupID), which cannot be deleted now")
        groups[groupID] = nil
    }

    /// Every group's broken invariants, in sentences (for property tests); empty when none.
    package var invariantViolations: [String] { groups.keys.sorted().flatMap { groups[$0]!.invariantViolations } }

    // MARK: Time

    /// The earliest deadline of any timer; call ``tick(now:)`` at or after it.
    /// - Complexity: O(groups + members).
    package var nextDeadline: Int64? {
        groups.values.compactMap(\.earliestTimer?.deadline).min()
    }

    /// Fires every timer due at `now`, earliest first, each at its own deadline (so a late tick
    /// does what timely ones would have done), and returns the answers they release.
    package mutating func tick(now: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        while true {
            var due: (groupID: String, timer: ClassicGroup.DueTimer)?
            for (groupID, group) in groups {
                guard let timer = group.earliestTimer, timer.deadline <= now else { continue }
                if due == nil || (timer, groupID) < (due!.timer, due!.groupID) { due = (groupID, timer) }
            }
            guard let due else { return effects }
            groups[due.groupID]!.fire(due.timer)
            effects += drain(due.groupID)
        }
    }
}

extension String {
    /// Without leading and trailing spaces (Java's `trim` for filters).
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
