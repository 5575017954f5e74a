package import StreamCore
package import LogStorage
package import Transactions

/// The consumer-group coordinator the Kafka front calls, one entry point per request: the
/// ``ClassicGroupCoordinator`` state machine under one lock, plus committed offsets in the
/// engine's `__consumer_offsets` (``ConsumerOffsets``), so `pipeline consume --group G` and a
/// Kafka consumer in group G read and write the same committed offsets.
///
/// Time is the engine clock's monotonic reading (`clock`, the log's by default). After every
/// call the network layer re-arms one timer for ``millisecondsUntilNextDeadline()`` and calls
/// ``tick()`` when it fires; the effects of every call (and of ticks) answer parked JoinGroup and
/// SyncGroup requests by their tokens. An effect for a token whose connection has closed is
/// simply dropped.
///
/// Groups are in memory and offsets are durable: on open every group that has committed offsets
/// is known as Empty, so its old members' heartbeats and commits get UNKNOWN_MEMBER_ID and they
/// rejoin, and its offsets are where they were.
///
/// Membership here is the Kafka clients' only: the embedded engine's in-process groups
/// (`LogManager.groups`) are a separate registry. The two share committed offsets, not members,
/// so a group id should be used by Kafka clients or by in-process pipelines, not by both at once.
///
/// - Invariant: a committed offset is durable (appended and synced) before its commit is
///   answered; offsets a transaction commits become visible only with its COMMIT marker.
/// Thread-safety: safe from any thread. Every call holds the service's lock for its whole
/// duration, offset writes (and their sync) included, so no rebalance slips between a commit's
/// membership check and its write.
package final class GroupCoordinatorService: @unchecked Sendable {
    private let lock = Lock()
    /// Under `lock`.
    var machine: ClassicGroupCoordinator
    let log: LogManager
    let transactions: TransactionCoordinator
    private let clock: any EngineClock

    /// A coordinator over `log`'s consumer offsets; TxnOffsetCommit is checked against
    /// `transactions` (the producer's id, epoch and open transaction).
    package init(
        log: LogManager, transactions: TransactionCoordinator, config: GroupCoordinatorConfig = GroupCoordinatorConfig(),
        clock: (any EngineClock)? = nil
    ) {
        self.log = log
        self.transactions = transactions
        self.clock = clock ?? log.clock
        machine = ClassicGroupCoordinator(config: config)
        for group in log.offsets.groupNames() { machine.ensureGroup(group) }
    }

    /// Milliseconds on the monotonic clock.
    var now: Int64 { Int64(clock.monotonicNanoseconds() / 1_000_000) }

    func withLock<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }

    /// A group with committed offsets exists even when no member ever joined here (the engine's
    /// pipelines commit offsets too).
    func makeKnownIfCommitted(_ groupID: String) {
        if machine.state(of: groupID) == nil && !groupID.isEmpty && !log.offsets.committedOffsets(group: groupID).isEmpty {
            machine.ensureGroup(groupID)
        }
    }

    // MARK: Membership

    /// JoinGroup; see ``ClassicGroupCoordinator/joinGroup(_:token:now:)``.
    package func joinGroup(_ request: JoinGroupRequest, token: GroupCompletionToken) -> [GroupEffect] {
        withLock {
            makeKnownIfCommitted(request.groupID)
            return machine.joinGroup(request, token: token, now: now)
        }
    }

    /// SyncGroup; see ``ClassicGroupCoordinator/syncGroup(_:token:now:)``.
    package func syncGroup(_ request: SyncGroupRequest, token: GroupCompletionToken) -> [GroupEffect] {
        withLock { machine.syncGroup(request, token: token, now: now) }
    }

    /// Heartbeat; see ``ClassicGroupCoordinator/heartbeat(_:now:)``.
    package func heartbeat(_ request: HeartbeatRequest) -> HeartbeatResponse {
        withLock { machine.heartbeat(request, now: now) }
    }

    /// LeaveGroup; see ``ClassicGroupCoordinator/leaveGroup(_:now:)``.
    package func leaveGroup(_ request: LeaveGroupRequest) -> GroupOutcome<LeaveGroupResponse> {
        withLock { machine.leaveGroup(request, now: now) }
    }

    /// DescribeGroups; a group that only has committed offsets is Empty.
    package func describeGroups(_ groupIDs: [String]) -> [DescribedGroup] {
        withLock {
            for groupID in groupIDs { makeKnownIfCommitted(groupID) }
            return machine.describeGroups(groupIDs)
        }
    }

    /// ListGroups; groups that only have committed offsets are listed as Empty.
    package func listGroups(_ request: ListGroupsRequest) -> ListGroupsResponse {
        withLock {
            for groupID in log.offsets.groupNames() { makeKnownIfCommitted(groupID) }
            return machine.listGroups(request)
        }
    }

    // MARK: Time

    /// How long until the earliest timer is due (0: now), or nil when none is armed.
    package func millisecondsUntilNextDeadline() -> Int64? {
        withLock { machine.nextDeadline.map { max($0 - now, 0) } }
    }

    /// Fires every timer that is due and returns the answers they release.
    package func tick() -> [GroupEffect] {
        withLock { machine.tick(now: now) }
    }
}
