import Testing
@testable import KafkaBroker

@Suite("Group administration: DescribeGroups and ListGroups")
struct GroupAdministrationTests {
    @Test("DescribeGroups shows state, protocol and members with client id, host, metadata and assignment; unknown groups are Dead")
    func describe() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("client-a"), TestConsumer("client-b", groupInstanceID: "static-b")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 2])
        let described = harness.coordinator.describeGroups([harness.group, "unknown"])
        #expect(described.map(\.groupState) == ["Stable", "Dead"])
        #expect(described.map(\.errorCode) == [.none, .none])
        let group = described[0]
        #expect(group.protocolType == "consumer")
        #expect(group.protocolData == "range")
        #expect(group.members.map(\.clientID) == ["client-a", "client-b"])
        #expect(group.members.map(\.clientHost) == ["/127.0.0.1", "/127.0.0.1"])
        #expect(group.members.map(\.groupInstanceID) == [nil, "static-b"])
        #expect(group.members.map { ConsumerProtocolBytes.topics(ofSubscription: $0.memberMetadata) } == [["orders"], ["orders"]])
        #expect(group.members.map { ConsumerProtocolBytes.partitions(ofAssignment: $0.memberAssignment) } == [["orders": [0]], ["orders": [1]]])
        // While rebalancing: no protocol data, no metadata.
        _ = harness.join(consumers[0])
        let rebalancing = harness.coordinator.describeGroups([harness.group])[0]
        #expect(rebalancing.groupState == "PreparingRebalance")
        #expect(rebalancing.protocolData == "")
        #expect(rebalancing.members.allSatisfy { $0.memberMetadata.isEmpty })
        #expect(described[1].members.isEmpty && described[1].protocolType == "")
    }

    @Test("ListGroups filters by state (v4, case-insensitive) and type (v5: only classic here)")
    func list() {
        var harness = GroupHarness()
        var consumers = [TestConsumer("a")]
        _ = harness.formGroup(&consumers, partitionCount: ["orders": 1])
        var other = GroupHarness(group: "other")
        other.coordinator = harness.coordinator
        _ = other.join(TestConsumer("x"))  // MEMBER_ID_REQUIRED only: "other" stays Empty
        harness.coordinator = other.coordinator
        let all = harness.coordinator.listGroups(ListGroupsRequest())
        #expect(all.groups.map(\.groupID) == ["other", "payment-service"])
        #expect(all.groups.map(\.groupState) == ["Empty", "Stable"])
        #expect(all.groups.map(\.protocolType) == ["", "consumer"])
        #expect(all.groups.map(\.groupType) == ["classic", "classic"])
        #expect(harness.coordinator.listGroups(ListGroupsRequest(statesFilter: ["stable"])).groups.map(\.groupID) == ["payment-service"])
        #expect(harness.coordinator.listGroups(ListGroupsRequest(statesFilter: ["Empty", "PreparingRebalance"])).groups.map(\.groupID) == ["other"])
        #expect(harness.coordinator.listGroups(ListGroupsRequest(typesFilter: ["consumer"])).groups.isEmpty)
        #expect(harness.coordinator.listGroups(ListGroupsRequest(typesFilter: ["Classic"])).groups.count == 2)
    }
}
