import Foundation
import Testing
import KafkaProtocol
import KafkaServer
import KafkaBroker
@testable import KafkaGateway

@Suite("Group routes: DescribeGroups, ListGroups, DeleteGroups through the gateway")
struct GroupAdministrationRouteTests {
    /// A Stable group `active` with one member, and an Empty group `idle` that only has committed offsets.
    private func twoGroups(_ fixture: GroupsGatewayFixture) throws -> GroupMemberClient {
        var member = GroupMemberClient(fixture: fixture, connection: 1, group: "active")
        member.joined(try #require(try member.startJoin().wait()))
        _ = try #require(try member.sendSync(assignments: [member.memberID: [5]]).wait())
        let committed = try fixture.call(.offsetCommit, version: 2) { body in
            body.set("groupId", "idle")
            setCommittedTopics(&body, [("orders", [(0, 3)])])
        }
        #expect(commitErrors(committed) == [0])
        return member
    }

    @Test("DescribeGroups at every version: a Stable group with its member, an Empty one, an unknown one Dead with no error",
          arguments: Int16(0)...5)
    func describe(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        let member = try twoGroups(fixture)
        let response = try fixture.call(.describeGroups, version: version) { body in
            body.set("groups", ["active", "idle", "unknown"])
            if version >= 3 { body.set("includeAuthorizedOperations", true) }
        }
        let groups = response.array("groups")
        #expect(groups.map { $0.string("groupId") } == ["active", "idle", "unknown"])
        #expect(groups.map { $0.string("groupState") } == ["Stable", "Empty", "Dead"])
        #expect(groups.map { $0.int16("errorCode") } == [0, 0, 0])
        #expect(groups[0].string("protocolType") == "consumer")
        let members = groups[0].array("members")
        #expect(members.map { $0.string("memberId") } == [member.memberID])
        #expect(members.map { $0.bytes("memberMetadata") } == [[0, 1, 2]])
        #expect(members.map { $0.bytes("memberAssignment") } == [[5]])
        if version >= 3 { #expect(groups[0].int32("authorizedOperations") == Int32.min) }
    }

    @Test("ListGroups at every version lists every group; from v4 filtered by state, from v5 by type",
          arguments: Int16(0)...5)
    func list(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        _ = try twoGroups(fixture)
        let all = try fixture.call(.listGroups, version: version) { _ in }
        #expect(all.int16("errorCode") == 0)
        #expect(all.array("groups").map { $0.string("groupId") } == ["active", "idle"])
        #expect(all.array("groups").map { $0.string("protocolType") } == ["consumer", ""])
        if version >= 4 {
            #expect(all.array("groups").map { $0.string("groupState") } == ["Stable", "Empty"])
            let stable = try fixture.call(.listGroups, version: version) { $0.set("statesFilter", ["stable"]) }
            #expect(stable.array("groups").map { $0.string("groupId") } == ["active"])
        }
        if version >= 5 {
            #expect(all.array("groups").map { $0.string("groupType") } == ["classic", "classic"])
            let consumerType = try fixture.call(.listGroups, version: version) { $0.set("typesFilter", ["consumer"]) }
            #expect(consumerType.array("groups").isEmpty, "every group here is classic")
        }
    }

    @Test("DeleteGroups at every version: a group with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND, an Empty one is deleted with its offsets",
          arguments: Int16(0)...2)
    func delete(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        _ = try twoGroups(fixture)
        let response = try fixture.call(.deleteGroups, version: version) { $0.set("groupsNames", ["active", "unknown", "idle"]) }
        let results = response.array("results")
        #expect(results.map { $0.string("groupId") } == ["active", "unknown", "idle"])
        #expect(results.map { $0.int16("errorCode") }
                == [KafkaErrorCode.nonEmptyGroup.rawValue, KafkaErrorCode.groupIdNotFound.rawValue, 0])
        #expect(try fixture.fetch("idle", [0], version: 5).partitions.map(\.0) == [-1], "its offsets are gone")
        let listed = try fixture.call(.listGroups, version: 0) { _ in }
        #expect(listed.array("groups").map { $0.string("groupId") } == ["active"])
    }
}
