/// A member of a classic group: what it said in its last JoinGroup, the assignment the leader
/// gave it, the requests it has parked, and its session deadline.
///
/// Times are milliseconds on the coordinator's monotonic clock.
struct ClassicGroupMember: Sendable {
    var memberID: String
    var groupInstanceID: String?
    var clientID: String
    var clientHost: String
    var rebalanceTimeoutMilliseconds: Int32
    var sessionTimeoutMilliseconds: Int32
    var protocolType: String
    /// In the member's order of preference.
    var protocols: [JoinGroupProtocol]
    var assignment: [UInt8] = []
    /// Its JoinGroup, parked until the join phase completes.
    var awaitingJoin: GroupCompletionToken?
    /// Its SyncGroup, parked until the leader's assignment arrives.
    var awaitingSync: GroupCompletionToken?
    /// Joined in the current rebalance and not yet answered: it may expire while parked.
    var isNew = false
    /// When its session ends without a heartbeat (nil: no timer armed, as while it is parked).
    var sessionDeadline: Int64?

    var isStatic: Bool { groupInstanceID != nil }

    /// Whether its session is kept alive anyway: a parked member needs no heartbeat, unless it is
    /// new (its client may have gone while its JoinGroup was parked).
    var hasSatisfiedHeartbeat: Bool {
        !isNew && (awaitingJoin != nil || awaitingSync != nil)
    }

    func supports(_ protocolName: String) -> Bool { protocols.contains { $0.name == protocolName } }

    /// Its metadata for `protocolName` (empty when it does not support it).
    func metadata(for protocolName: String?) -> [UInt8] {
        protocols.first { $0.name == protocolName }?.metadata ?? []
    }

    /// Whether `protocols` are exactly the ones it joined with (names, metadata and order).
    func matches(_ protocols: [JoinGroupProtocol]) -> Bool { self.protocols == protocols }

    /// Its vote: the first of its protocols, in its order of preference, among `candidates`.
    func vote(among candidates: Set<String>) -> String? {
        protocols.first { candidates.contains($0.name) }?.name
    }
}
