import Testing
@testable import KafkaBroker

@Suite("Classic group protocol: JoinGroup and the rebalance")
struct ClassicGroupJoinTests {
    @Test("from v4 a member without an id is told MEMBER_ID_REQUIRED with a generated clientId-uuid id, and joins with it")
    func memberIDRequiredRound() {
        var harness = GroupHarness()
        var consumer = TestConsumer("kafka-python-1")
        let first = harness.join(consumer)
        let answer = harness.effects.join(first)
        #expect(answer?.errorCode == .memberIdRequired)
        let generated = answer?.memberID ?? ""
        #expect(generated.hasPrefix("kafka-python-1-"))
        #expect(generated.count == "kafka-python-1-".count + 36, "a UUID: 8-4-4-4-12 hex digits")
        #expect(harness.state == .empty, "a pending member is not a member yet")
        consumer.memberID = generated
        let second = harness.join(consumer)
        #expect(harness.effects.join(second) == nil, "parked until the initial rebalance completes")
        harness.advance(by: 0)
        let joined = harness.effects.join(second)
        #expect(joined?.errorCode == KafkaErrorCode.none)
        #expect(joined?.memberID == generated)
        #expect(joined?.generationID == 1)
        #expect(joined?.leader == generated)
        #expect(joined?.protocolName == "range")
        #expect(joined?.protocolType == "consumer")
        #expect(joined?.members.map(\.memberID) == [generated])
        #expect(harness.state == .completingRebalance)
    }

    @Test("before v4 a member without an id joins at once (no id round)")
    func oldVersionsJoinWithoutRound() {
        var harness = GroupHarness()
        var consumer = TestConsumer("old")
        consumer.apiVersion = 3
        let token = harness.join(consumer)
        #expect(harness.effects.join(token) == nil)
        harness.advance(by: 0)
        #expect(harness.effects.join(token)?.errorCode == KafkaErrorCode.none)
        #expect(harness.effects.join(token)?.memberID.hasPrefix("old-") == true)
    }

    @Test("a pending member that never comes back with its id is forgotten after its session timeout")
    func pendingMemberExpires() {
        var harness = GroupHarness()
        var a = TestConsumer("a")
        var consumers = [a]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        a = consumers[0]
        let ghost = TestConsumer("ghost")
        #expect(harness.joinAnswer(ghost)?.errorCode == .memberIdRequired)
        // The leader rejoins: the rebalance cannot complete while a pending member may still come.
        let rejoin = harness.join(a)
        harness.advance(by: 100)
        #expect(harness.effects.join(rejoin) == nil, "waits for the pending member")
        harness.advance(by: Int64(ghost.sessionTimeoutMilliseconds))
        #expect(harness.effects.join(rejoin)?.errorCode == KafkaErrorCode.none, "the pending member's session ran out; the join completed")
        #expect(harness.effects.join(rejoin)?.generationID == 2)
    }

    @Test("parked JoinGroups are all answered when the last member rejoins; only the leader gets the members")
    func parkedJoinsReleasedWhenAllRejoin() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b"), TestConsumer("c")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 6])
        #expect(harness.state == .stable)
        // A fourth member joins: the group rebalances and the three must rejoin.
        var d = TestConsumer("d")
        let dToken = harness.joinWithIDRound(&d)
        #expect(harness.state == .preparingRebalance)
        #expect(harness.heartbeat(consumers[1]) == .rebalanceInProgress)
        let a = harness.join(consumers[0]), b = harness.join(consumers[1])
        #expect([dToken, a, b].allSatisfy { harness.effects.join($0) == nil }, "parked while c has not rejoined")
        let c = harness.join(consumers[2])
        let answers = [a, b, c, dToken].compactMap { harness.effects.join($0) }
        #expect(answers.count == 4, "the last rejoin releases every parked join")
        #expect(Set(answers.map(\.generationID)) == [2])
        #expect(answers.filter { !$0.members.isEmpty }.count == 1, "only the leader gets the member list")
        #expect(answers.first { !$0.members.isEmpty }?.members.count == 4)
        #expect(answers.allSatisfy { $0.leader == answers[0].leader })
        #expect(harness.state == .completingRebalance)
    }

    @Test("the rebalance timeout removes a member that does not rejoin and completes the join without it")
    func rebalanceTimeoutRemovesMissingMember() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        // a rejoins (as a leader does to reassign); b never does, but keeps heartbeating.
        let a = harness.join(consumers[0])
        for _ in 0..<5 {
            #expect(harness.heartbeat(consumers[1]) == .rebalanceInProgress)
            harness.advance(by: 5_000)
        }
        #expect(harness.effects.join(a) == nil, "still waiting for b after 25 s of its 30 s rebalance timeout")
        #expect(harness.heartbeat(consumers[1]) == .rebalanceInProgress)
        harness.advance(by: 5_000)
        let answer = harness.effects.join(a)
        #expect(answer?.errorCode == KafkaErrorCode.none)
        #expect(answer?.members.map(\.memberID) == [consumers[0].memberID], "b was removed")
        #expect(harness.heartbeat(consumers[1]) == .unknownMemberId)
    }

    @Test("a new group waits the initial rebalance delay, extended by each new member up to the rebalance timeout", arguments: [Int32(0), 3_000])
    func initialRebalanceDelay(delay: Int32) {
        var harness = GroupHarness(config: testGroupConfig(initialDelayMilliseconds: delay))
        var a = TestConsumer("a"), b = TestConsumer("b")
        let aToken = harness.joinWithIDRound(&a)
        harness.advance(by: Int64(delay) / 2)
        let bToken = harness.joinWithIDRound(&b)
        if delay == 0 {
            #expect(harness.effects.join(aToken)?.errorCode == KafkaErrorCode.none, "no delay: the first tick completed the join with a alone")
            #expect(harness.effects.join(bToken) == nil, "b joined after: a new rebalance")
            return
        }
        harness.advance(by: Int64(delay) / 2)
        #expect(harness.effects.join(aToken) == nil, "b arrived during the delay: it is extended")
        harness.advance(by: Int64(delay))
        #expect(harness.effects.join(aToken)?.generationID == 1)
        #expect(harness.effects.join(bToken)?.generationID == 1, "both in the first generation")
    }

    @Test("members that keep arriving extend the initial delay no further than the rebalance timeout")
    func initialDelayBoundedByRebalanceTimeout() {
        var harness = GroupHarness(config: testGroupConfig(initialDelayMilliseconds: 3_000))
        var first = TestConsumer("first")
        first.rebalanceTimeoutMilliseconds = 5_000
        let token = harness.joinWithIDRound(&first)
        for index in 0..<10 {
            harness.advance(by: 1_000)
            if harness.effects.join(token) != nil { break }
            var late = TestConsumer("late-\(index)")
            late.rebalanceTimeoutMilliseconds = 5_000
            harness.joinWithIDRound(&late)
        }
        #expect(harness.effects.join(token)?.errorCode == KafkaErrorCode.none)
        #expect(harness.now - 1_000_000 == 5_000, "completed at the rebalance timeout, not later")
    }

    @Test("the protocol is chosen by votes among those every member supports")
    func protocolSelectionByVotes() {
        var harness = GroupHarness()
        func consumer(_ name: String, _ protocols: [String]) -> TestConsumer {
            var consumer = TestConsumer(name)
            consumer.protocols = protocols.map { JoinGroupProtocol(name: $0, metadata: Array($0.utf8)) }
            return consumer
        }
        var consumers = [
            consumer("a", ["range", "roundrobin", "cooperative-sticky"]),
            consumer("b", ["cooperative-sticky", "roundrobin"]),
            consumer("c", ["roundrobin", "cooperative-sticky"]),
        ]
        var tokens: [GroupCompletionToken] = []
        for index in consumers.indices { tokens.append(harness.joinWithIDRound(&consumers[index])) }
        harness.advance(by: 0)
        let leader = tokens.compactMap { harness.effects.join($0) }.first { !$0.members.isEmpty }
        // Candidates: roundrobin, cooperative-sticky. a and c vote roundrobin, b cooperative-sticky.
        #expect(leader?.protocolName == "roundrobin")
        #expect(leader?.members.map(\.metadata) == Array(repeating: Array("roundrobin".utf8), count: 3), "each member's metadata for the chosen protocol")
        // A member that shares no protocol with the group is refused.
        let odd = consumer("d", ["range"])
        #expect(harness.joinAnswer(odd)?.errorCode == .inconsistentGroupProtocol)
        var otherType = TestConsumer("e")
        otherType.protocols = [JoinGroupProtocol(name: "roundrobin", metadata: [])]
        var request = otherType.joinRequest()
        request.protocolType = "connect"
        let token = harness.effects.token()
        harness.effects.record(harness.coordinator.joinGroup(request, token: token, now: harness.now))
        #expect(harness.effects.join(token)?.errorCode == .inconsistentGroupProtocol, "another protocol type")
    }

    @Test("session timeouts outside the broker's bounds are INVALID_SESSION_TIMEOUT", arguments: [Int32(999), 1_800_001])
    func sessionTimeoutBounds(timeout: Int32) {
        var harness = GroupHarness()
        var consumer = TestConsumer("a")
        consumer.sessionTimeoutMilliseconds = timeout
        #expect(harness.joinAnswer(consumer)?.errorCode == .invalidSessionTimeout)
        #expect(harness.state == nil, "no group was created")
    }

    @Test("an empty group id is INVALID_GROUP_ID; a member id for an unknown group is UNKNOWN_MEMBER_ID")
    func invalidGroupAndUnknownMember() {
        var harness = GroupHarness(group: "")
        #expect(harness.joinAnswer(TestConsumer("a"))?.errorCode == .invalidGroupId)
        var other = GroupHarness()
        var stale = TestConsumer("a")
        stale.memberID = "a-from-before-the-restart"
        #expect(other.joinAnswer(stale)?.errorCode == .unknownMemberId)
    }

    @Test("group.max.size refuses the member past it with GROUP_MAX_SIZE_REACHED")
    func groupMaxSize() {
        var config = testGroupConfig()
        config.groupMembersMax = 2
        var harness = GroupHarness(config: config)
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        var c = TestConsumer("c")
        let token = harness.joinWithIDRound(&c)
        #expect(harness.effects.join(token)?.errorCode == .groupMaxSizeReached)
        #expect(harness.state == .stable, "the group was not disturbed")
    }

    @Test("a static member that restarts keeps its place and assignment without a rebalance; its old id is fenced")
    func staticMemberRejoin() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a", groupInstanceID: "payments-1"), TestConsumer("b", groupInstanceID: "payments-2")]
        let before = harness.formGroup(&consumers, partitionCount: ["orders": 4])
        #expect(before == [[0, 1], [2, 3]])
        let generation = consumers[0].generationID
        // payments-2 restarts: it has no member id, only its instance id.
        var restarted = TestConsumer("b", groupInstanceID: "payments-2")
        let token = harness.join(restarted)
        let answer = harness.effects.join(token)
        #expect(answer?.errorCode == KafkaErrorCode.none, "a static member needs no MEMBER_ID_REQUIRED round")
        #expect(answer?.generationID == generation, "no rebalance")
        #expect(answer?.memberID.hasPrefix("payments-2-") == true, "static ids are instance-id-uuid")
        #expect(harness.state == .stable)
        restarted.memberID = answer?.memberID ?? ""
        restarted.generationID = generation
        let synced = harness.syncAnswer(restarted)
        #expect(ConsumerProtocolBytes.partitions(ofAssignment: synced?.assignment ?? []) == ["orders": [2, 3]], "its old assignment")
        // The old process (a zombie with the old member id) is fenced.
        #expect(harness.heartbeat(consumers[1]) == .fencedInstanceId)
        #expect(harness.joinAnswer(consumers[1])?.errorCode == .fencedInstanceId)
        #expect(harness.syncAnswer(consumers[1])?.errorCode == .fencedInstanceId)
        #expect(harness.heartbeat(restarted) == KafkaErrorCode.none)
    }

    @Test("from v9 a static leader rejoining a Stable group gets the members with skipAssignment")
    func staticLeaderSkipAssignment() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a", groupInstanceID: "i-1"), TestConsumer("b", groupInstanceID: "i-2")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        let answer = harness.joinAnswer(TestConsumer("a", groupInstanceID: "i-1"))
        #expect(answer?.skipAssignment == true)
        #expect(answer?.leader == answer?.memberID)
        #expect(answer?.members.count == 2)
    }

    @Test("a static member rejoining while its JoinGroup is parked fences the parked one")
    func staticRejoinFencesParkedJoin() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a", groupInstanceID: "i-1"), TestConsumer("b", groupInstanceID: "i-2")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        let parked = harness.join(consumers[0])  // the leader rejoins: a rebalance starts
        #expect(harness.state == .preparingRebalance)
        #expect(harness.effects.join(parked) == nil)
        let replacement = harness.join(TestConsumer("a", groupInstanceID: "i-1"))
        #expect(harness.effects.join(parked)?.errorCode == .fencedInstanceId)
        _ = harness.join(consumers[1])
        #expect(harness.effects.join(replacement)?.errorCode == KafkaErrorCode.none)
        #expect(harness.effects.answeredTwice.isEmpty)
    }
}
