import KafkaProtocol
import KafkaBroker

extension KafkaGateway {
    /// The groups' routes: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
    /// OffsetFetch, DescribeGroups, ListGroups, DeleteGroups, TxnOffsetCommit, each at every
    /// version the codec and ``GroupCoordinatorService`` support.
    ///
    /// ```
    /// JoinGroup       0–9   parked until the join phase completes
    /// SyncGroup       0–5   a follower's parked until the leader syncs
    /// Heartbeat       0–4
    /// LeaveGroup      0–5   v0–v2 one member, v3+ a list (KIP-345)
    /// OffsetCommit    0–9
    /// OffsetFetch     0–9   v0–v7 one group, v8+ several; require_stable from v7
    /// DescribeGroups  0–5
    /// ListGroups      0–5   state filter v4+, type filter v5+
    /// DeleteGroups    0–2
    /// TxnOffsetCommit 0–4   KIP-447 group metadata from v3
    /// ```
    static var groupRoutes: [KafkaAPI: KafkaRoute] {
        [
            .joinGroup: joinGroupRoute,
            .syncGroup: syncGroupRoute,
            .heartbeat: heartbeatRoute,
            .leaveGroup: leaveGroupRoute,
            .offsetCommit: offsetCommitRoute,
            .offsetFetch: offsetFetchRoute,
            .describeGroups: describeGroupsRoute,
            .listGroups: listGroupsRoute,
            .deleteGroups: deleteGroupsRoute,
            .txnOffsetCommit: txnOffsetCommitRoute,
        ]
    }

    /// Starts the groups' timer (parked JoinGroup/SyncGroup answers, rebalance and session
    /// expiry): armed for the coordinator's next deadline after every call and every tick. At
    /// ``close()`` it is cancelled and the requests still parked are answered NOT_COORDINATOR.
    func start() {
        lifecycle.onStop { [groupAnswers] in groupAnswers.stop() }
        rearmGroupTimer()
    }

    /// Arms the groups' timer for the coordinator's next deadline (when it has one and the timer
    /// is not armed for earlier).
    func rearmGroupTimer() {
        groupAnswers.rearm(inMilliseconds: groups.millisecondsUntilNextDeadline()) { [weak self] in
            self?.tickGroups()
        }
    }

    /// Fires the coordinator's due timers, delivers what they release and re-arms.
    private func tickGroups() {
        deliverGroupEffects(groups.tick())
    }
}
