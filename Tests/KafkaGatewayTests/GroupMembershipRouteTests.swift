import Foundation
import Testing
import KafkaProtocol
import KafkaServer
import KafkaBroker
@testable import KafkaGateway

/// A member as a client drives it through the gateway, at one set of versions.
struct GroupMemberClient {
    var fixture: GroupsGatewayFixture
    var connection: UInt64
    var joinVersion: Int16 = 5
    var syncVersion: Int16 = 3
    var heartbeatVersion: Int16 = 3
    var group = "payment-service"
    var memberID = ""
    var generationID: Int32 = -1
    var sessionTimeoutMilliseconds: Int32 = 10_000
    var rebalanceTimeoutMilliseconds: Int32 = 10_000
    var metadata: [UInt8] = [0, 1, 2]

    /// Starts a JoinGroup; with v4+ and no member id yet, first takes the MEMBER_ID_REQUIRED answer's id.
    mutating func startJoin(sourceLocation: SourceLocation = #_sourceLocation) throws -> PendingAnswer {
        if memberID.isEmpty && joinVersion >= 4 {
            let first = try fixture.call(.joinGroup, version: joinVersion, connection: connection, build)
            #expect(first.int16("errorCode") == KafkaErrorCode.memberIdRequired.rawValue, sourceLocation: sourceLocation)
            memberID = first.string("memberId")
            #expect(!memberID.isEmpty, sourceLocation: sourceLocation)
        }
        return try fixture.send(.joinGroup, version: joinVersion, connection: connection, build)
    }

    private func build(_ body: inout KafkaStruct) {
        body.set("groupId", group)
        body.set("sessionTimeoutMs", sessionTimeoutMilliseconds)
        if joinVersion >= 1 { body.set("rebalanceTimeoutMs", rebalanceTimeoutMilliseconds) }
        body.set("memberId", memberID)
        body.set("protocolType", "consumer")
        var range = body.makeElement("protocols")
        range.set("name", "range")
        range.set("metadata", bytes: metadata)
        body.set("protocols", [range])
    }

    /// Takes a JoinGroup answer: the member's id and generation.
    mutating func joined(_ answer: KafkaStruct, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.int16("errorCode") == 0, sourceLocation: sourceLocation)
        memberID = answer.string("memberId")
        generationID = answer.int32("generationId")
    }

    func sendSync(assignments: [String: [UInt8]] = [:]) throws -> PendingAnswer {
        try fixture.send(.syncGroup, version: syncVersion, connection: connection) { body in
            body.set("groupId", group)
            body.set("generationId", generationID)
            body.set("memberId", memberID)
            if syncVersion >= 5 {
                body.set("protocolType", "consumer")
                body.set("protocolName", "range")
            }
            body.set("assignments", assignments.keys.sorted().map { member in
                var element = body.makeElement("assignments")
                element.set("memberId", member)
                element.set("assignment", bytes: assignments[member]!)
                return element
            })
        }
    }

    func heartbeat() throws -> Int16 {
        try fixture.call(.heartbeat, version: heartbeatVersion, connection: connection) { body in
            body.set("groupId", group)
            body.set("generationId", generationID)
            body.set("memberId", memberID)
        }.int16("errorCode")
    }
}

@Suite("Group routes: JoinGroup, SyncGroup, Heartbeat, LeaveGroup through the gateway")
struct GroupMembershipRouteTests {
    /// Every version of each API (JoinGroup 0–9 paired with SyncGroup, Heartbeat and LeaveGroup
    /// at min(v, their highest)), so every field each version carries is read and written.
    static let versionSets: [(join: Int16, sync: Int16, heartbeat: Int16, leave: Int16)] =
        (Int16(0)...9).map { ($0, min($0, 5), min($0, 4), min($0, 5)) }
        + [(5, 3, 3, 1), (7, 5, 4, 5)] // confluent-kafka 2.16, kafka-python 3.0

    @Test("one member joins (the timer completes the join phase), syncs, heartbeats, is described and leaves",
          arguments: versionSets.indices)
    func oneMemberLifecycle(_ index: Int) throws {
        let versions = Self.versionSets[index]
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        var member = GroupMemberClient(fixture: fixture, connection: 1, joinVersion: versions.join, syncVersion: versions.sync,
                                       heartbeatVersion: versions.heartbeat)
        let join = try #require(try member.startJoin().wait())
        member.joined(join)
        #expect(member.generationID == 1)
        #expect(join.string("leader") == member.memberID)
        #expect(join.nullableString("protocolName") == "range")
        if versions.join >= 7 { #expect(join.nullableString("protocolType") == "consumer") }
        let members = join.array("members")
        #expect(members.map { $0.string("memberId") } == [member.memberID])
        #expect(members.map { $0.bytes("metadata") } == [[0, 1, 2]])

        let sync = try #require(try member.sendSync(assignments: [member.memberID: [9, 8]]).wait())
        #expect(sync.int16("errorCode") == 0)
        #expect(sync.bytes("assignment") == [9, 8])
        if versions.sync >= 5 { #expect(sync.nullableString("protocolName") == "range") }
        #expect(try member.heartbeat() == 0)

        let described = try fixture.call(.describeGroups, version: min(versions.join, 5)) { $0.set("groups", ["payment-service"]) }
        let group = try #require(described.array("groups").first)
        #expect(group.string("groupState") == "Stable")
        #expect(group.string("protocolData") == "range")
        #expect(group.array("members").map { $0.string("clientHost") } == ["/127.0.0.1"])
        #expect(group.array("members").map { $0.string("clientId") } == ["test"])
        #expect(group.array("members").map { $0.bytes("memberAssignment") } == [[9, 8]])

        let leave = try fixture.call(.leaveGroup, version: versions.leave) { body in
            body.set("groupId", "payment-service")
            if versions.leave <= 2 {
                body.set("memberId", member.memberID)
            } else {
                var identity = body.makeElement("members")
                identity.set("memberId", member.memberID)
                body.set("members", [identity])
            }
        }
        #expect(leave.int16("errorCode") == 0)
        if versions.leave >= 3 {
            #expect(leave.array("members").map { $0.string("memberId") } == [member.memberID])
            #expect(leave.array("members").map { $0.int16("errorCode") } == [0])
        }
        let after = try fixture.call(.describeGroups, version: 0) { $0.set("groups", ["payment-service"]) }
        #expect(after.array("groups").first?.string("groupState") == "Empty")
        #expect(try member.heartbeat() == KafkaErrorCode.unknownMemberId.rawValue)
    }

    @Test("LeaveGroup v0–v2 answers its one member's error at top level: an unknown member is UNKNOWN_MEMBER_ID",
          arguments: [Int16(0), 1, 2, 3, 5])
    func leaveUnknownMember(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        var member = GroupMemberClient(fixture: fixture, connection: 1)
        member.joined(try #require(try member.startJoin().wait()))
        let leave = try fixture.call(.leaveGroup, version: version) { body in
            body.set("groupId", "payment-service")
            if version <= 2 {
                body.set("memberId", "nobody")
            } else {
                var identity = body.makeElement("members")
                identity.set("memberId", "nobody")
                body.set("members", [identity])
            }
        }
        if version <= 2 {
            #expect(leave.int16("errorCode") == KafkaErrorCode.unknownMemberId.rawValue)
        } else {
            #expect(leave.int16("errorCode") == 0)
            #expect(leave.array("members").map { $0.int16("errorCode") } == [KafkaErrorCode.unknownMemberId.rawValue])
        }
    }

    @Test("a second member's JoinGroup parks until the first rejoins on its own connection; both answers arrive; a follower's SyncGroup waits for the leader's")
    func parkedAnswersAcrossConnections() throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        var first = GroupMemberClient(fixture: fixture, connection: 1)
        first.joined(try #require(try first.startJoin().wait()))
        _ = try #require(try first.sendSync(assignments: [first.memberID: [1]]).wait())

        var second = GroupMemberClient(fixture: fixture, connection: 2, joinVersion: 7, syncVersion: 5, heartbeatVersion: 4)
        let secondJoin = try second.startJoin()
        #expect(try secondJoin.wait(timeout: 0.3) == nil, "parked: the first member has not rejoined")
        #expect(try first.heartbeat() == KafkaErrorCode.rebalanceInProgress.rawValue)
        let firstJoin = try first.startJoin()
        let firstAnswer = try #require(try firstJoin.wait())
        let secondAnswer = try #require(try secondJoin.wait())
        first.joined(firstAnswer)
        second.joined(secondAnswer)
        #expect(first.generationID == 2 && second.generationID == 2)
        #expect(firstAnswer.string("leader") == secondAnswer.string("leader"))
        let leaderIsFirst = firstAnswer.string("leader") == first.memberID
        let (leader, follower) = leaderIsFirst ? (first, second) : (second, first)
        let leaderAnswer = leaderIsFirst ? firstAnswer : secondAnswer
        #expect(Set(leaderAnswer.array("members").map { $0.string("memberId") }) == [first.memberID, second.memberID])

        let followerSync = try follower.sendSync()
        #expect(try followerSync.wait(timeout: 0.3) == nil, "parked until the leader syncs")
        let leaderSync = try #require(try leader.sendSync(assignments: [leader.memberID: [7], follower.memberID: [8]]).wait())
        #expect(leaderSync.bytes("assignment") == [7])
        #expect(try #require(try followerSync.wait()).bytes("assignment") == [8])
        #expect(followerSync.answerCount == 1 && secondJoin.answerCount == 1 && firstJoin.answerCount == 1)
        #expect(fixture.gateway.groupAnswers.parkedCount == 0)

        // The generation before is refused for commits now.
        let stale = try fixture.call(.offsetCommit, version: 8) { body in
            body.set("groupId", "payment-service")
            body.set("generationIdOrMemberEpoch", Int32(1))
            body.set("memberId", first.memberID)
            var topic = body.makeElement("topics")
            topic.set("name", "orders")
            var partition = topic.makeElement("partitions")
            partition.set("partitionIndex", Int32(0))
            partition.set("committedOffset", Int64(5))
            topic.set("partitions", [partition])
            body.set("topics", [topic])
        }
        #expect(stale.array("topics").first?.array("partitions").first?.int16("errorCode") == KafkaErrorCode.illegalGeneration.rawValue)
    }

    @Test("the timer expires a session: a member that stops heartbeating is removed after its session timeout and the other gets REBALANCE_IN_PROGRESS")
    func sessionExpiry() throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        var first = GroupMemberClient(fixture: fixture, connection: 1, sessionTimeoutMilliseconds: 5_000)
        var second = GroupMemberClient(fixture: fixture, connection: 2, sessionTimeoutMilliseconds: 400)
        first.joined(try #require(try first.startJoin().wait()))
        _ = try #require(try first.sendSync(assignments: [first.memberID: []]).wait())
        let secondJoin = try second.startJoin()
        let firstJoin = try first.startJoin()
        first.joined(try #require(try firstJoin.wait()))
        second.joined(try #require(try secondJoin.wait()))
        let leader = try #require(try firstJoin.wait()).string("leader") == first.memberID ? first : second
        let followerSync = try (leader.memberID == first.memberID ? second : first).sendSync()
        _ = try #require(try leader.sendSync(assignments: [first.memberID: [1], second.memberID: [2]]).wait())
        _ = try #require(try followerSync.wait())

        // The second member goes silent; the first keeps heartbeating.
        let silentSince = Date()
        var error: Int16 = 0
        while error == 0 && Date().timeIntervalSince(silentSince) < 5 {
            error = try first.heartbeat()
            Thread.sleep(forTimeInterval: 0.05)
        }
        let elapsed = Date().timeIntervalSince(silentSince)
        #expect(error == KafkaErrorCode.rebalanceInProgress.rawValue)
        #expect(elapsed >= 0.35, "not before the session timeout (\(elapsed) s)")
        #expect(elapsed < 3, "the timer fired soon after the session timeout (\(elapsed) s)")
        let rejoin = try #require(try first.startJoin().wait())
        #expect(rejoin.int32("generationId") == 3)
        #expect(rejoin.array("members").map { $0.string("memberId") } == [first.memberID], "the silent member is gone")
    }

    @Test("close answers parked requests NOT_COORDINATOR (as Kafka does when it unloads a group), and later ones at once")
    func closeAnswersParked() throws {
        let fixture = try GroupsGatewayFixture()
        var first = GroupMemberClient(fixture: fixture, connection: 1)
        first.joined(try #require(try first.startJoin().wait()))
        _ = try #require(try first.sendSync(assignments: [first.memberID: []]).wait())
        var second = GroupMemberClient(fixture: fixture, connection: 2)
        let parked = try second.startJoin()
        #expect(try parked.wait(timeout: 0.2) == nil)
        fixture.close()
        let answer = try #require(try parked.wait())
        #expect(answer.int16("errorCode") == KafkaErrorCode.notCoordinator.rawValue)
        #expect(parked.answerCount == 1)
        let late = try #require(try second.startJoin().wait())
        #expect(late.int16("errorCode") == KafkaErrorCode.notCoordinator.rawValue)
        let lateSync = try #require(try first.sendSync().wait())
        #expect(lateSync.int16("errorCode") == KafkaErrorCode.notCoordinator.rawValue)
    }
}
