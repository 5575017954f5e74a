import Testing
import Foundation
import Synchronization
import EngineTestSupport
import Simulation
import StreamCore
@testable import KafkaBroker

@Suite("Group coordinator service: timers for the network layer, and thread-safety")
struct GroupCoordinatorServiceTests {
    @Test("the next deadline tells the network layer when to tick; a tick before it releases nothing, at it the parked join")
    func deadlinesDriveTicks() throws {
        var harness = try ServiceHarness(config: testGroupConfig(initialDelayMilliseconds: 3_000))
        #expect(harness.service.millisecondsUntilNextDeadline() == nil, "nothing armed")
        var consumer = TestConsumer("a")
        let first = harness.join(consumer)
        consumer.memberID = harness.effects.join(first)?.memberID ?? ""
        let token = harness.join(consumer)
        #expect(harness.service.millisecondsUntilNextDeadline() == 3_000, "the initial rebalance delay")
        harness.advance(by: 2_999)
        #expect(harness.effects.join(token) == nil)
        #expect(harness.service.millisecondsUntilNextDeadline() == 1)
        harness.advance(by: 1)
        #expect(harness.effects.join(token)?.generationID == 1)
        #expect(harness.service.millisecondsUntilNextDeadline() == Int64(consumer.sessionTimeoutMilliseconds), "now the member's session")
    }

    @Test("many threads joining, heartbeating, committing and ticking at once: every token answered once, offsets intact")
    func concurrentCallers() throws {
        let engine = try TestEngine()
        try engine.createTopic("orders", partitions: 4)
        let service = GroupCoordinatorService(log: engine.log, transactions: engine.coordinator, config: testGroupConfig())
        let clock = engine.clock
        let answers = Mutex<[GroupCompletionToken: Int]>([:])
        let tokens = Mutex<UInt64>(0)
        @Sendable func record(_ effects: [GroupEffect]) {
            answers.withLock { for effect in effects { $0[effect.token, default: 0] += 1 } }
        }
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var consumer = TestConsumer("c\(thread)")
            let group = "group-\(thread % 2)"
            for round in 0..<40 {
                let token = GroupCompletionToken(tokens.withLock { $0 += 1; return $0 })
                let effects = service.joinGroup(consumer.joinRequest(group: group), token: token)
                record(effects)
                for case .joinGroup(let answered, let response) in effects where answered == token {
                    if response.errorCode == .memberIdRequired || response.errorCode == KafkaErrorCode.none { consumer.memberID = response.memberID }
                    if response.errorCode == .none { consumer.generationID = response.generationID }
                }
                _ = service.heartbeat(consumer.heartbeat(group: group))
                _ = service.offsetCommit(OffsetCommitRequest(apiVersion: 8, groupID: group, generationIDOrMemberEpoch: consumer.generationID,
                                                             memberID: consumer.memberID, topics: [OffsetCommitRequestTopic(
                                                                name: "orders", partitions: [OffsetCommitRequestPartition(partitionIndex: Int32(thread % 4), committedOffset: Int64(round))])]))
                clock.advance(byMilliseconds: 50)
                record(service.tick())
            }
            let leave = service.leaveGroup(LeaveGroupRequest(groupID: group, members: [LeaveGroupMember(memberID: consumer.memberID)]))
            record(leave.effects)
        }
        engine.clock.advance(byMilliseconds: 3_600_000)
        record(service.tick())
        let handedOut = tokens.withLock { $0 }
        let counts = answers.withLock { $0 }
        #expect(counts.count == Int(handedOut), "every token answered")
        #expect(counts.values.allSatisfy { $0 == 1 }, "none twice")
        #expect(service.millisecondsUntilNextDeadline() == nil)
        #expect(service.listGroups(ListGroupsRequest()).groups.map(\.groupState) == ["Empty", "Empty"])
    }
}
