import KafkaProtocol
import KafkaServer
import KafkaBroker

/// DescribeGroups, ListGroups and DeleteGroups: what an administrator (`kafka-consumer-groups`,
/// an AdminClient) sees of the groups and removes.
extension KafkaGateway {
    // MARK: DescribeGroups (v0–v5)

    /// A group this coordinator does not know is `Dead` with no error, as Kafka answers;
    /// authorized operations are Kafka's "not requested" value (there are no ACLs to compute
    /// them from), whether or not `includeAuthorizedOperations` asked.
    static let describeGroupsRoute = KafkaRoute.immediate(0...5) { gateway, request, _ in
        let described = gateway.groups.describeGroups(request.body.stringArray("groups"))
        var response = KafkaStruct.response(.describeGroups)
        response.set("groups", described.map { group in
            var element = response.makeElement("groups")
            element.set("errorCode", group.errorCode.rawValue)
            element.set("groupId", group.groupID)
            element.set("groupState", group.groupState)
            element.set("protocolType", group.protocolType)
            element.set("protocolData", group.protocolData)
            element.set("members", group.members.map { member in
                var memberElement = element.makeElement("members")
                memberElement.set("memberId", member.memberID)
                memberElement.set("groupInstanceId", member.groupInstanceID)
                memberElement.set("clientId", member.clientID)
                memberElement.set("clientHost", member.clientHost)
                memberElement.set("memberMetadata", bytes: member.memberMetadata)
                memberElement.set("memberAssignment", bytes: member.memberAssignment)
                return memberElement
            })
            element.set("authorizedOperations", group.authorizedOperations)
            return element
        })
        return response
    }

    // MARK: ListGroups (v0–v5)

    /// Every group, filtered by state (v4+) and type (v5+; every group here is `classic`).
    static let listGroupsRoute = KafkaRoute.immediate(0...5) { gateway, request, _ in
        let body = request.body
        let listed = gateway.groups.listGroups(ListGroupsRequest(
            statesFilter: body.stringArray("statesFilter"), typesFilter: body.stringArray("typesFilter")))
        var response = KafkaStruct.response(.listGroups)
        response.set("errorCode", listed.errorCode.rawValue)
        response.set("groups", listed.groups.map { group in
            var element = response.makeElement("groups")
            element.set("groupId", group.groupID)
            element.set("protocolType", group.protocolType)
            element.set("groupState", group.groupState)
            element.set("groupType", group.groupType)
            return element
        })
        return response
    }

    // MARK: DeleteGroups (v0–v2)

    /// A group with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND; a deleted
    /// group's committed offsets are removed (tombstones, synced) before the answer.
    static let deleteGroupsRoute = KafkaRoute.immediate(0...2) { gateway, request, _ in
        let results = gateway.groups.deleteGroups(request.body.stringArray("groupsNames"))
        var response = KafkaStruct.response(.deleteGroups)
        response.set("results", results.map { result in
            var element = response.makeElement("results")
            element.set("groupId", result.groupID)
            element.set("errorCode", result.errorCode.rawValue)
            return element
        })
        return response
    }
}
