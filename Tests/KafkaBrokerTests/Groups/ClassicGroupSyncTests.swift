import Testing
import EngineTestSupport
import StreamCore
@testable import KafkaBroker

@Suite("Classic group protocol: SyncGroup, Heartbeat and LeaveGroup")
struct ClassicGroupSyncTests {
    /// Three members joined and answered, nobody synced yet.
    private func joinedGroup() -> (GroupHarness, [TestConsumer], leader: Int, [GroupCompletionToken]) {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b"), TestConsumer("c")]
        var tokens: [GroupCompletionToken] = []
        for index in consumers.indices { tokens.append(harness.joinWithIDRound(&consumers[index])) }
        harness.advance(by: 0)
        for index in consumers.indices { harness.adopt(tokens[index], into: &consumers[index]) }
        let leader = tokens.firstIndex { harness.effects.join($0).map { $0.leader == $0.memberID } ?? false }!
        return (harness, consumers, leader, tokens)
    }

    @Test("followers' SyncGroups are parked and released with their assignments by the leader's")
    func followersReleasedOnLeaderSync() {
        var (harness, consumers, leader, joins) = joinedGroup()
        let followers = consumers.indices.filter { $0 != leader }
        let parked = followers.map { harness.sync(consumers[$0]) }
        #expect(parked.allSatisfy { harness.effects.sync($0) == nil }, "parked until the leader syncs")
        #expect(harness.state == .completingRebalance)
        #expect(harness.heartbeat(consumers[followers[0]]) == KafkaErrorCode.none, "heartbeats are fine while completing")
        let members = harness.effects.join(joins[leader])!.members
        let assignments = ConsumerProtocolBytes.rangeAssignment(members: members, partitionCount: ["orders": 6])
        let leaderSync = harness.sync(consumers[leader], assignments: assignments)
        #expect(harness.state == .stable)
        var owned: [Int32] = []
        for token in parked + [leaderSync] {
            let answer = harness.effects.sync(token)
            #expect(answer?.errorCode == KafkaErrorCode.none)
            #expect(answer?.protocolName == "range")
            #expect(answer?.protocolType == "consumer")
            let partitions = ConsumerProtocolBytes.partitions(ofAssignment: answer?.assignment ?? [])["orders"] ?? []
            #expect(partitions.count == 2)
            owned += partitions
        }
        #expect(owned.sorted() == [0, 1, 2, 3, 4, 5], "every partition owned once")
        // In Stable, a SyncGroup is answered at once with the stored assignment.
        let again = harness.sync(consumers[followers[0]])
        #expect(harness.effects.sync(again)?.assignment == harness.effects.sync(parked[0])?.assignment)
    }

    @Test("SyncGroup errors: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL, REBALANCE_IN_PROGRESS")
    func syncErrors() {
        var (harness, consumers, leader, _) = joinedGroup()
        let follower = consumers.indices.first { $0 != leader }!
        var stale = consumers[0]
        stale.generationID -= 1
        #expect(harness.syncAnswer(stale)?.errorCode == .illegalGeneration)
        var stranger = consumers[0]
        stranger.memberID = "nobody"
        #expect(harness.syncAnswer(stranger)?.errorCode == .unknownMemberId)
        var request = consumers[follower].sync(group: harness.group)
        request.protocolName = "roundrobin"
        let token = harness.effects.token()
        harness.effects.record(harness.coordinator.syncGroup(request, token: token, now: harness.now))
        #expect(harness.effects.sync(token)?.errorCode == .inconsistentGroupProtocol, "v5 protocol name checked")
        request.protocolName = nil
        request.protocolType = nil
        let unchecked = harness.effects.token()
        harness.effects.record(harness.coordinator.syncGroup(request, token: unchecked, now: harness.now))
        #expect(harness.effects.sync(unchecked) == nil, "before v5 (no protocol fields) nothing to check: parked")
        // A new member starts a rebalance: parked syncs are told to rejoin, new syncs too.
        var d = TestConsumer("d")
        _ = harness.joinWithIDRound(&d)
        #expect(harness.effects.sync(unchecked)?.errorCode == .rebalanceInProgress)
        #expect(harness.syncAnswer(consumers[1])?.errorCode == .rebalanceInProgress)
        var noGroup = GroupHarness()
        #expect(noGroup.syncAnswer(consumers[0])?.errorCode == .unknownMemberId)
    }

    @Test("Heartbeat: NONE when current, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS during a rebalance")
    func heartbeatErrors() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        #expect(harness.heartbeat(consumers[0]) == KafkaErrorCode.none)
        var stale = consumers[0]
        stale.generationID = 0
        #expect(harness.heartbeat(stale) == .illegalGeneration)
        var stranger = consumers[0]
        stranger.memberID = "nobody"
        #expect(harness.heartbeat(stranger) == .unknownMemberId)
        _ = harness.join(consumers[0])
        #expect(harness.heartbeat(consumers[1]) == .rebalanceInProgress)
        var empty = GroupHarness(group: "")
        #expect(empty.heartbeat(consumers[0]) == .invalidGroupId)
    }

    @Test("heartbeats keep a member; without them its session expires, it is removed and the group rebalances")
    func sessionExpiry() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        let session = Int64(consumers[0].sessionTimeoutMilliseconds)
        for _ in 0..<5 {
            harness.advance(by: session / 2)
            #expect(harness.heartbeat(consumers[0]) == KafkaErrorCode.none)
            #expect(harness.heartbeat(consumers[1]) == KafkaErrorCode.none)
        }
        #expect(harness.state == .stable, "heartbeats extend the session: nobody expired in 2.5 sessions")
        harness.advance(by: session / 2)
        #expect(harness.heartbeat(consumers[0]) == KafkaErrorCode.none)
        harness.advance(by: session / 2)
        #expect(harness.state == .preparingRebalance, "b stopped heartbeating: removed, rebalance")
        #expect(harness.heartbeat(consumers[1]) == .unknownMemberId)
        #expect(harness.heartbeat(consumers[0]) == .rebalanceInProgress)
    }

    @Test("members that never send SyncGroup are removed after the rebalance timeout")
    func pendingSyncExpiry() {
        var (harness, consumers, leader, joins) = joinedGroup()
        let members = harness.effects.join(joins[leader])!.members
        _ = harness.sync(consumers[leader], assignments: ConsumerProtocolBytes.rangeAssignment(members: members, partitionCount: ["orders": 3]))
        let follower = consumers.indices.first { $0 != leader }!
        _ = harness.sync(consumers[follower])
        #expect(harness.state == .stable)
        // The third member heartbeats but never syncs.
        let silent = consumers.indices.first { $0 != leader && $0 != follower }!
        for _ in 0..<6 {
            harness.advance(by: 5_000)
            _ = harness.heartbeat(consumers[leader]); _ = harness.heartbeat(consumers[follower]); _ = harness.heartbeat(consumers[silent])
        }
        #expect(harness.state == .preparingRebalance, "30 s rebalance timeout passed without its SyncGroup")
        #expect(harness.heartbeat(consumers[silent]) == .unknownMemberId)
    }

    @Test("LeaveGroup v3+: several members at once, each with its own result; a static member by instance id alone")
    func batchedLeave() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b"), TestConsumer("c", groupInstanceID: "static-c")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 3])
        let response = harness.leave([
            LeaveGroupMember(memberID: consumers[0].memberID, reason: "shutting down"),
            LeaveGroupMember(memberID: "nobody"),
            LeaveGroupMember(memberID: "", groupInstanceID: "static-c"),
            LeaveGroupMember(memberID: consumers[1].memberID, groupInstanceID: "not-its-instance"),
        ])
        #expect(response.errorCode == KafkaErrorCode.none)
        #expect(response.members.map(\.errorCode) == [.none, .unknownMemberId, .none, .unknownMemberId])
        #expect(response.members[2].groupInstanceID == "static-c")
        #expect(harness.state == .preparingRebalance, "b must rejoin")
        #expect(harness.heartbeat(consumers[0]) == .unknownMemberId)
        #expect(harness.joinAnswer(consumers[1])?.members.map(\.memberID) == [consumers[1].memberID], "b alone: its rejoin completes the join")
        // v0–v2 answer one error code.
        let single = harness.leave([LeaveGroupMember(memberID: "nobody")])
        #expect(single.singleMemberErrorCode == .unknownMemberId)
        var unknownGroup = GroupHarness(group: "never-joined")
        #expect(unknownGroup.leave([LeaveGroupMember(memberID: "x")]).singleMemberErrorCode == .unknownMemberId)
    }

    @Test("a member leaving during a rebalance releases the parked joins of those who rejoined")
    func leaveCompletesRebalance() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        let parked = harness.join(consumers[0])
        #expect(harness.effects.join(parked) == nil)
        _ = harness.leave([LeaveGroupMember(memberID: consumers[1].memberID)])
        #expect(harness.effects.join(parked)?.generationID == consumers[0].generationID + 1)
        #expect(harness.effects.join(parked)?.members.count == 1)
    }

    @Test("seeded random traffic: every token is answered exactly once, and a quiet group ends Empty",
          arguments: SimulationSeeds.seeds(ciCount: 40, ownVariables: "GROUP"))
    func everyTokenAnsweredOnce(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var harness = GroupHarness()
        var consumers = (0..<4).map { index -> TestConsumer in
            var consumer = TestConsumer("c\(index)", groupInstanceID: index == 3 ? "static" : nil)
            consumer.sessionTimeoutMilliseconds = 3_000
            consumer.rebalanceTimeoutMilliseconds = 5_000
            if index == 2 { consumer.apiVersion = 3 }
            return consumer
        }
        var joinTokens: [Int: GroupCompletionToken] = [:]
        for _ in 0..<200 {
            let index = Int(random.next() % UInt64(consumers.count))
            switch random.next() % 7 {
            case 0, 1:
                joinTokens[index] = harness.join(consumers[index])
            case 2:
                let assignments = (joinTokens[index].flatMap { harness.effects.join($0) }?.members ?? [])
                    .map { SyncGroupAssignment(memberID: $0.memberID, assignment: [1]) }
                _ = harness.sync(consumers[index], assignments: assignments)
            case 3:
                _ = harness.heartbeat(consumers[index])
            case 4:
                _ = harness.leave([LeaveGroupMember(memberID: consumers[index].memberID, groupInstanceID: consumers[index].groupInstanceID)])
            default:
                harness.advance(by: Int64(random.next() % 4_000))
            }
            // A client takes what its last join answered.
            if let token = joinTokens[index], let answer = harness.effects.join(token) {
                if answer.errorCode == KafkaErrorCode.none || answer.errorCode == .memberIdRequired { consumers[index].memberID = answer.memberID }
                if answer.errorCode == KafkaErrorCode.none { consumers[index].generationID = answer.generationID }
                if answer.errorCode == .unknownMemberId || answer.errorCode == .fencedInstanceId { consumers[index].memberID = "" }
            }
            #expect(harness.effects.answeredTwice.isEmpty, "\(SimulationSeeds.replay(seed, filter: "everyTokenAnsweredOnce"))")
            #expect(harness.coordinator.invariantViolations.isEmpty, "\(SimulationSeeds.replay(seed, filter: "everyTokenAnsweredOnce"))")
        }
        // Everyone goes quiet: sessions, rebalance and join timeouts answer whatever is parked.
        harness.advance(by: Int64(testGroupConfig().newMemberJoinTimeoutMilliseconds) + 60_000)
        #expect(harness.effects.unanswered.isEmpty, "\(SimulationSeeds.replay(seed, filter: "everyTokenAnsweredOnce")): unanswered \(harness.effects.unanswered)")
        #expect(harness.effects.answeredTwice.isEmpty, "\(SimulationSeeds.replay(seed, filter: "everyTokenAnsweredOnce"))")
        #expect(harness.state == nil || harness.state == .empty, "seed \(seed): \(String(describing: harness.state))")
        #expect(harness.coordinator.nextDeadline == nil, "seed \(seed): no timer left armed")
    }
}
