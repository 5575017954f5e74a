/// One classic consumer group: its state, generation, chosen protocol, members and timers, and
/// the answers its last operation released (`outbox`, drained by the coordinator).
///
/// The operations (``ClassicGroup+Join.swift`` and beside it) follow Kafka's classic group
/// coordinator step by step; times are milliseconds on the coordinator's monotonic clock.
///
/// - Invariant: `memberOrder` holds exactly the keys of `members`, in join order (the leader
///   falls to the first of them, which keeps every choice deterministic).
/// - Invariant: `staticMembers` maps each member's `groupInstanceID` to its member id.
/// - Invariant: a member holds at most one parked JoinGroup and one parked SyncGroup; a token
///   leaves the group only through `outbox`.
/// Thread-safety: a value, mutated by its coordinator only.
struct ClassicGroup {
    let groupID: String
    let config: GroupCoordinatorConfig
    private(set) var state: ClassicGroupState = .empty
    private(set) var previousState: ClassicGroupState = .dead
    var protocolType: String?
    var protocolName: String?
    var generationID: Int32 = 0
    var leaderID: String?
    var members: [String: ClassicGroupMember] = [:]
    private(set) var memberOrder: [String] = []
    var staticMembers: [String: String] = [:]
    /// Members told MEMBER_ID_REQUIRED, with the deadline of their session to rejoin.
    var pendingJoinMembers: [String: Int64] = [:]
    /// Members of this generation that have not sent SyncGroup yet.
    var pendingSyncMembers: Set<String> = []
    /// A member joined during the initial rebalance's current delay (which is then extended).
    var newMemberAdded = false
    var joinTimer: JoinTimer?
    var syncTimer: SyncTimer?
    var outbox: [GroupEffect] = []

    /// The join phase's timer: the initial rebalance's delay, or the rebalance timeout.
    struct JoinTimer: Equatable {
        enum Kind: Equatable {
            case initialRebalance(delayMilliseconds: Int64, remainingMilliseconds: Int64)
            case completeJoin
        }
        var deadline: Int64
        var kind: Kind
    }

    /// The deadline for every member of `generationID` to have sent SyncGroup.
    struct SyncTimer: Equatable {
        var deadline: Int64
        var generationID: Int32
    }

    init(groupID: String, config: GroupCoordinatorConfig) {
        self.groupID = groupID
        self.config = config
    }

    // MARK: State

    mutating func transition(to next: ClassicGroupState) {
        precondition(next.validPreviousStates.contains(state), "group \(groupID) cannot go from \(state.rawValue) to \(next.rawValue)")
        previousState = state
        state = next
    }

    var canRebalance: Bool { ClassicGroupState.preparingRebalance.validPreviousStates.contains(state) }

    var awaitingJoinCount: Int { members.values.reduce(0) { $0 + ($1.awaitingJoin != nil ? 1 : 0) } }

    var hasAllMembersJoined: Bool { members.count == awaitingJoinCount && pendingJoinMembers.isEmpty }

    /// The longest rebalance timeout among the members.
    var rebalanceTimeoutMilliseconds: Int64 {
        Int64(members.values.map(\.rebalanceTimeoutMilliseconds).max() ?? 0)
    }

    func isLeader(_ memberID: String) -> Bool { leaderID == memberID }

    var membersInOrder: [ClassicGroupMember] { memberOrder.compactMap { members[$0] } }

    // MARK: Membership

    /// Checks a member's identity: a static member must present the id its instance holds now
    /// (else FENCED_INSTANCE_ID: another process took the instance over).
    func memberError(memberID: String, groupInstanceID: String?) -> KafkaErrorCode? {
        if let groupInstanceID {
            guard let current = staticMembers[groupInstanceID] else { return .unknownMemberId }
            if current != memberID { return .fencedInstanceId }
        }
        return members[memberID] == nil ? .unknownMemberId : nil
    }

    mutating func add(_ member: ClassicGroupMember) {
        precondition(members[member.memberID] == nil, "member \(member.memberID) is already in group \(groupID)")
        if let instance = member.groupInstanceID {
            precondition(staticMembers[instance] == nil, "instance \(instance) is already a member of group \(groupID)")
            staticMembers[instance] = member.memberID
        }
        if members.isEmpty { protocolType = member.protocolType }
        precondition(protocolType == member.protocolType, "member \(member.memberID) has protocol type \(member.protocolType), group \(groupID) \(protocolType ?? "none")")
        if leaderID == nil { leaderID = member.memberID }
        members[member.memberID] = member
        memberOrder.append(member.memberID)
        pendingJoinMembers[member.memberID] = nil
    }

    /// Removes a member; whatever it has parked is answered UNKNOWN_MEMBER_ID (its client, if it
    /// is still there, rejoins).
    mutating func remove(_ memberID: String) {
        if let removed = members.removeValue(forKey: memberID) {
            memberOrder.removeAll { $0 == memberID }
            if let instance = removed.groupInstanceID { staticMembers[instance] = nil }
            if let token = removed.awaitingJoin {
                outbox.append(.joinGroup(token, .failure(.unknownMemberId, memberID: "")))
            }
            if let token = removed.awaitingSync {
                outbox.append(.syncGroup(token, SyncGroupResponse(errorCode: .unknownMemberId)))
            }
        }
        if leaderID == memberID { leaderID = memberOrder.first }
        pendingJoinMembers[memberID] = nil
        pendingSyncMembers.remove(memberID)
    }

    /// Gives a static member's place (assignment, leadership, timeouts) to its new member id;
    /// the old id's parked requests are answered FENCED_INSTANCE_ID.
    mutating func replaceStaticMember(instance: String, oldMemberID: String, newMemberID: String) {
        guard var member = members.removeValue(forKey: oldMemberID) else {
            preconditionFailure("static member \(oldMemberID) of instance \(instance) is not in group \(groupID)")
        }
        if let token = member.awaitingJoin {
            outbox.append(.joinGroup(token, .failure(.fencedInstanceId, memberID: oldMemberID)))
        }
        if let token = member.awaitingSync {
            outbox.append(.syncGroup(token, SyncGroupResponse(errorCode: .fencedInstanceId)))
        }
        member.memberID = newMemberID
        member.awaitingJoin = nil
        member.awaitingSync = nil
        members[newMemberID] = member
        memberOrder = memberOrder.map { $0 == oldMemberID ? newMemberID : $0 }
        if leaderID == oldMemberID { leaderID = newMemberID }
        if pendingSyncMembers.remove(oldMemberID) != nil { pendingSyncMembers.insert(newMemberID) }
        staticMembers[instance] = newMemberID
    }

    /// Parks `token` as the member's JoinGroup; one it had parked already is answered
    /// REBALANCE_IN_PROGRESS (its client has given up on it and sent this one).
    mutating func parkJoin(_ memberID: String, _ token: GroupCompletionToken?) {
        if let previous = members[memberID]?.awaitingJoin {
            outbox.append(.joinGroup(previous, .failure(.rebalanceInProgress, memberID: memberID)))
        }
        members[memberID]?.awaitingJoin = token
    }

    /// Parks `token` as the member's SyncGroup (a previous one: REBALANCE_IN_PROGRESS).
    mutating func parkSync(_ memberID: String, _ token: GroupCompletionToken) {
        if let previous = members[memberID]?.awaitingSync {
            outbox.append(.syncGroup(previous, SyncGroupResponse(errorCode: .rebalanceInProgress)))
        }
        members[memberID]?.awaitingSync = token
    }

    /// Answers the member's parked JoinGroup.
    @discardableResult
    mutating func completeJoin(of memberID: String, with response: JoinGroupResponse) -> Bool {
        guard let token = members[memberID]?.awaitingJoin else { return false }
        members[memberID]?.awaitingJoin = nil
        outbox.append(.joinGroup(token, response))
        return true
    }

    /// Answers the member's parked SyncGroup.
    @discardableResult
    mutating func completeSync(of memberID: String, with response: SyncGroupResponse) -> Bool {
        guard let token = members[memberID]?.awaitingSync else { return false }
        members[memberID]?.awaitingSync = nil
        outbox.append(.syncGroup(token, response))
        return true
    }

    /// Arms (or re-arms) the member's session timer.
    mutating func rescheduleSession(of memberID: String, now: Int64, timeoutMilliseconds: Int64? = nil) {
        guard let member = members[memberID] else { return }
        members[memberID]?.sessionDeadline = now + (timeoutMilliseconds ?? Int64(member.sessionTimeoutMilliseconds))
    }

    // MARK: Protocols

    /// Whether a member with this protocol type and these protocols may join: any non-empty
    /// offer while the group is Empty, else the group's type and a protocol every member
    /// supports.
    func supportsProtocols(type: String, names: [String]) -> Bool {
        if state == .empty { return !type.isEmpty && !names.isEmpty }
        guard protocolType == type else { return false }
        return names.contains { name in members.values.allSatisfy { $0.supports(name) } }
    }

    /// Kafka's choice: of the protocols every member supports, each member votes for the first
    /// in its own order of preference; the most votes win. A tie goes to the protocol preferred
    /// by the member that joined first.
    /// - Precondition: the group has members, and they share a protocol.
    func selectProtocol() -> String {
        let ordered = membersInOrder
        precondition(!ordered.isEmpty, "selecting a protocol for empty group \(groupID)")
        let candidates = Set(ordered[0].protocols.map(\.name)).filter { name in ordered.allSatisfy { $0.supports(name) } }
        var votes: [String: Int] = [:]
        for member in ordered {
            guard let vote = member.vote(among: candidates) else { preconditionFailure("member \(member.memberID) supports no common protocol") }
            votes[vote, default: 0] += 1
        }
        let most = votes.values.max() ?? 0
        guard let chosen = ordered[0].protocols.map(\.name).first(where: { votes[$0] == most }) else {
            preconditionFailure("group \(groupID) has no common protocol")
        }
        return chosen
    }

    /// The members as the leader's JoinGroup answer lists them.
    var joinResponseMembers: [JoinGroupResponseMember] {
        membersInOrder.map { JoinGroupResponseMember(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata(for: protocolName)) }
    }

    /// The JoinGroup answer for `memberID` in the current generation.
    func joinResponse(for memberID: String, includeMembers: Bool, skipAssignment: Bool = false, leader: String? = nil) -> JoinGroupResponse {
        JoinGroupResponse(
            errorCode: .none, generationID: generationID, protocolType: protocolType, protocolName: protocolName,
            leader: leader ?? leaderID ?? "", skipAssignment: skipAssignment, memberID: memberID,
            members: includeMembers ? joinResponseMembers : [])
    }
}
