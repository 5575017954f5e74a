/// Settings of the consumer-group coordinator, with Kafka's broker defaults.
package struct GroupCoordinatorConfig: Sendable {
    /// The shortest session timeout a member may ask for (`group.min.session.timeout.ms`).
    package var sessionTimeoutMinMilliseconds: Int32 = 6_000
    /// The longest session timeout a member may ask for (`group.max.session.timeout.ms`).
    package var sessionTimeoutMaxMilliseconds: Int32 = 1_800_000
    /// How long a new (Empty) group waits for more members before its first rebalance
    /// completes, extended by each new member up to the rebalance timeout
    /// (`group.initial.rebalance.delay.ms`).
    package var initialRebalanceDelayMilliseconds: Int32 = 3_000
    /// The most members a group may hold (`group.max.size`); a join past it gets
    /// GROUP_MAX_SIZE_REACHED.
    package var groupMembersMax: Int = Int(Int32.max)
    /// How long a new member's parked JoinGroup may wait before the member is dropped (its client
    /// may have gone away while parked; Kafka's `CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS`).
    package var newMemberJoinTimeoutMilliseconds: Int32 = 300_000
    /// The longest metadata string an offset commit may carry, in UTF-16 code units as Java's
    /// `String.length()` counts (`offset.metadata.max.bytes`).
    package var offsetMetadataLengthMax: Int = 4_096
    /// Seeds the random part of generated member ids, for replayable tests; nil: the system's
    /// random source.
    package var memberIDSeed: UInt64?

    package init() {}

    /// Checks the settings' own consistency.
    /// - Precondition: `0 < sessionTimeoutMinMilliseconds <= sessionTimeoutMaxMilliseconds`,
    ///   `initialRebalanceDelayMilliseconds >= 0`, `groupMembersMax >= 1`,
    ///   `newMemberJoinTimeoutMilliseconds > 0`: every timer the coordinator arms moves time on.
    func checked() -> GroupCoordinatorConfig {
        precondition(sessionTimeoutMinMilliseconds > 0 && sessionTimeoutMinMilliseconds <= sessionTimeoutMaxMilliseconds,
                     "session timeout bounds [\(sessionTimeoutMinMilliseconds), \(sessionTimeoutMaxMilliseconds)] are empty or not positive")
        precondition(initialRebalanceDelayMilliseconds >= 0, "initial rebalance delay \(initialRebalanceDelayMilliseconds) ms is negative")
        precondition(groupMembersMax >= 1, "groupMembersMax \(groupMembersMax) admits no member")
        precondition(newMemberJoinTimeoutMilliseconds > 0, "new member join timeout \(newMemberJoinTimeoutMilliseconds) ms is not positive")
        return self
    }
}
