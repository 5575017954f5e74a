import Testing
@testable import KafkaBroker

/// Drives a ``ClassicGroupCoordinator`` on a manual clock, as a network layer would: tokens for
/// parked requests, every effect recorded.
struct GroupHarness {
    var coordinator: ClassicGroupCoordinator
    var effects = EffectLog()
    var now: Int64 = 1_000_000
    let group: String

    init(config: GroupCoordinatorConfig = testGroupConfig(), group: String = "payment-service") {
        coordinator = ClassicGroupCoordinator(config: config)
        self.group = group
    }

    /// Sends a JoinGroup; returns its token (look the answer up in `effects`).
    @discardableResult
    mutating func join(_ consumer: TestConsumer) -> GroupCompletionToken {
        let token = effects.token()
        effects.record(coordinator.joinGroup(consumer.joinRequest(group: group), token: token, now: now))
        checkInvariants()
        return token
    }

    /// Joins as a new member through the MEMBER_ID_REQUIRED round; returns the token of the
    /// second, real join.
    @discardableResult
    mutating func joinWithIDRound(_ consumer: inout TestConsumer) -> GroupCompletionToken {
        let first = join(consumer)
        if let answer = effects.join(first), answer.errorCode == .memberIdRequired { consumer.memberID = answer.memberID }
        return join(consumer)
    }

    /// Sends a JoinGroup and returns its answer, nil when parked.
    mutating func joinAnswer(_ consumer: TestConsumer) -> JoinGroupResponse? {
        let token = join(consumer)
        return effects.join(token)
    }

    /// Sends a SyncGroup and returns its answer, nil when parked.
    mutating func syncAnswer(_ consumer: TestConsumer, assignments: [SyncGroupAssignment] = []) -> SyncGroupResponse? {
        let token = sync(consumer, assignments: assignments)
        return effects.sync(token)
    }

    @discardableResult
    mutating func sync(_ consumer: TestConsumer, assignments: [SyncGroupAssignment] = []) -> GroupCompletionToken {
        let token = effects.token()
        effects.record(coordinator.syncGroup(consumer.sync(group: group, assignments: assignments), token: token, now: now))
        checkInvariants()
        return token
    }

    mutating func heartbeat(_ consumer: TestConsumer) -> KafkaErrorCode {
        coordinator.heartbeat(consumer.heartbeat(group: group), now: now).errorCode
    }

    mutating func leave(_ members: [LeaveGroupMember]) -> LeaveGroupResponse {
        let outcome = coordinator.leaveGroup(LeaveGroupRequest(groupID: group, members: members), now: now)
        effects.record(outcome.effects)
        checkInvariants()
        return outcome.response
    }

    /// Moves the clock and fires what is due.
    mutating func advance(by milliseconds: Int64) {
        now += milliseconds
        effects.record(coordinator.tick(now: now))
        checkInvariants()
    }

    /// Every group's invariants hold, and no token was answered twice.
    func checkInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(coordinator.invariantViolations == [], sourceLocation: sourceLocation)
        #expect(effects.answeredTwice == [], sourceLocation: sourceLocation)
    }

    var state: ClassicGroupState? { coordinator.state(of: group) }

    /// Takes a JoinGroup answer into the consumer (its id and generation).
    func adopt(_ token: GroupCompletionToken, into consumer: inout TestConsumer) {
        guard let answer = effects.join(token), answer.errorCode == .none else { return }
        consumer.memberID = answer.memberID
        consumer.generationID = answer.generationID
    }

    /// Joins every consumer (id round included), completes the join phase, has the leader
    /// assign with the range assignor and every member sync.
    /// - Returns: each consumer's partitions of `topic`, in the consumers' order.
    mutating func formGroup(_ consumers: inout [TestConsumer], partitionCount: [String: Int32]) -> [[Int32]] {
        var tokens: [GroupCompletionToken] = []
        for index in consumers.indices {
            if consumers[index].memberID.isEmpty && consumers[index].groupInstanceID == nil && consumers[index].apiVersion >= 4 {
                tokens.append(joinWithIDRound(&consumers[index]))
            } else {
                tokens.append(join(consumers[index]))
            }
        }
        advance(by: 0)
        for (index, token) in tokens.enumerated() { adopt(token, into: &consumers[index]) }
        return syncAll(&consumers, joinTokens: tokens, partitionCount: partitionCount)
    }

    /// The sync round after a join phase: the leader assigns (range), everyone syncs.
    mutating func syncAll(_ consumers: inout [TestConsumer], joinTokens: [GroupCompletionToken], partitionCount: [String: Int32]) -> [[Int32]] {
        var syncTokens: [GroupCompletionToken] = Array(repeating: GroupCompletionToken(0), count: consumers.count)
        let leaderIndex = joinTokens.firstIndex { effects.join($0).map { $0.leader == $0.memberID } ?? false }
        for index in consumers.indices where index != leaderIndex {
            syncTokens[index] = sync(consumers[index])
        }
        if let leaderIndex, let answer = effects.join(joinTokens[leaderIndex]) {
            syncTokens[leaderIndex] = sync(consumers[leaderIndex], assignments: ConsumerProtocolBytes.rangeAssignment(members: answer.members, partitionCount: partitionCount))
        }
        return syncTokens.map { token in
            let bytes = effects.sync(token)?.assignment ?? []
            return ConsumerProtocolBytes.partitions(ofAssignment: bytes).values.flatMap { $0 }.sorted()
        }
    }
}
