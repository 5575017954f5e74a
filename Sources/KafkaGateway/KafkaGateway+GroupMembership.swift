import KafkaProtocol
import KafkaServer
import KafkaBroker

/// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: the classic group protocol's membership,
/// decoded into ``GroupCoordinatorService``'s requests and its answers encoded at the request's
/// version. Fields a version lacks are at their schema defaults in the decoded body (no
/// rebalance timeout in JoinGroup v0: -1, the session timeout stands in), and a null a version
/// cannot carry is sent as "" (JoinGroup's protocol name before v7).
extension KafkaGateway {
    // MARK: JoinGroup (v0–v9)

    static let joinGroupRoute = KafkaRoute(versions: 0...9) { gateway, request, context, respond in
        let body = request.body
        let joinRequest = JoinGroupRequest(
            apiVersion: request.header.apiVersion, groupID: body.string("groupId"),
            sessionTimeoutMilliseconds: body.int32("sessionTimeoutMs"), rebalanceTimeoutMilliseconds: body.int32("rebalanceTimeoutMs"),
            memberID: body.string("memberId"), groupInstanceID: body.nullableString("groupInstanceId"),
            protocolType: body.string("protocolType"),
            protocols: body.array("protocols").map { JoinGroupProtocol(name: $0.string("name"), metadata: $0.bytes("metadata")) },
            reason: body.nullableString("reason"), clientID: request.header.clientId ?? "", clientHost: clientHost(of: context))
        let parked = gateway.groupAnswers.park(version: request.header.apiVersion, respond: respond) { token in
            .joinGroup(token, JoinGroupResponse(errorCode: .notCoordinator, memberID: joinRequest.memberID))
        }
        guard let token = parked else {
            respond(KafkaResponse(body: joinGroupResponse(
                JoinGroupResponse(errorCode: .notCoordinator, memberID: joinRequest.memberID), version: request.header.apiVersion)))
            return
        }
        gateway.deliverGroupEffects(gateway.groups.joinGroup(joinRequest, token: token))
    }

    /// A JoinGroup answer at `version`.
    static func joinGroupResponse(_ response: JoinGroupResponse, version: Int16) -> KafkaStruct {
        var body = KafkaStruct.response(.joinGroup)
        body.set("errorCode", response.errorCode.rawValue)
        body.set("generationId", response.generationID)
        body.set("protocolType", response.protocolType)
        body.set("protocolName", version >= 7 ? response.protocolName : (response.protocolName ?? ""))
        body.set("leader", response.leader)
        body.set("skipAssignment", response.skipAssignment)
        body.set("memberId", response.memberID)
        body.set("members", response.members.map { member in
            var element = body.makeElement("members")
            element.set("memberId", member.memberID)
            element.set("groupInstanceId", member.groupInstanceID)
            element.set("metadata", bytes: member.metadata)
            return element
        })
        return body
    }

    // MARK: SyncGroup (v0–v5)

    static let syncGroupRoute = KafkaRoute(versions: 0...5) { gateway, request, context, respond in
        let body = request.body
        let syncRequest = SyncGroupRequest(
            groupID: body.string("groupId"), generationID: body.int32("generationId"), memberID: body.string("memberId"),
            groupInstanceID: body.nullableString("groupInstanceId"), protocolType: body.nullableString("protocolType"),
            protocolName: body.nullableString("protocolName"),
            assignments: body.array("assignments").map { SyncGroupAssignment(memberID: $0.string("memberId"), assignment: $0.bytes("assignment")) })
        let parked = gateway.groupAnswers.park(version: request.header.apiVersion, respond: respond) { token in
            .syncGroup(token, SyncGroupResponse(errorCode: .notCoordinator))
        }
        guard let token = parked else {
            respond(KafkaResponse(body: syncGroupResponse(SyncGroupResponse(errorCode: .notCoordinator), version: request.header.apiVersion)))
            return
        }
        gateway.deliverGroupEffects(gateway.groups.syncGroup(syncRequest, token: token))
    }

    /// A SyncGroup answer at `version`.
    static func syncGroupResponse(_ response: SyncGroupResponse, version: Int16) -> KafkaStruct {
        var body = KafkaStruct.response(.syncGroup)
        body.set("errorCode", response.errorCode.rawValue)
        body.set("protocolType", response.protocolType)
        body.set("protocolName", response.protocolName)
        body.set("assignment", bytes: response.assignment)
        return body
    }

    // MARK: Heartbeat (v0–v4)

    static let heartbeatRoute = KafkaRoute.immediate(0...4) { gateway, request, _ in
        let body = request.body
        let answer = gateway.groups.heartbeat(HeartbeatRequest(
            groupID: body.string("groupId"), generationID: body.int32("generationId"), memberID: body.string("memberId"),
            groupInstanceID: body.nullableString("groupInstanceId")))
        gateway.rearmGroupTimer()
        var response = KafkaStruct.response(.heartbeat)
        response.set("errorCode", answer.errorCode.rawValue)
        return response
    }

    // MARK: LeaveGroup (v0–v5)

    /// v0–v2 name one member (`memberId`) and get one error code; v3+ name several (static
    /// members by instance id too, KIP-345) and get a result per member.
    static let leaveGroupRoute = KafkaRoute.immediate(0...5) { gateway, request, _ in
        let body = request.body
        let version = request.header.apiVersion
        let members: [LeaveGroupMember] =
            version <= 2
            ? [LeaveGroupMember(memberID: body.string("memberId"))]
            : body.array("members").map {
                LeaveGroupMember(memberID: $0.string("memberId"), groupInstanceID: $0.nullableString("groupInstanceId"),
                                 reason: $0.nullableString("reason"))
            }
        let outcome = gateway.groups.leaveGroup(LeaveGroupRequest(groupID: body.string("groupId"), members: members))
        gateway.deliverGroupEffects(outcome.effects)
        var response = KafkaStruct.response(.leaveGroup)
        if version <= 2 {
            response.set("errorCode", outcome.response.singleMemberErrorCode.rawValue)
        } else {
            response.set("errorCode", outcome.response.errorCode.rawValue)
            response.set("members", outcome.response.members.map { member in
                var element = response.makeElement("members")
                element.set("memberId", member.memberID)
                element.set("groupInstanceId", member.groupInstanceID)
                element.set("errorCode", member.errorCode.rawValue)
                return element
            })
        }
        return response
    }

    // MARK: Shared

    /// The peer's host as Kafka's broker shows it (`/127.0.0.1`: Java's `InetAddress` text,
    /// which DescribeGroups carries as `ClientHost`).
    static func clientHost(of context: KafkaConnectionContext) -> String {
        let address = context.remoteAddress
        guard let colon = address.lastIndex(of: ":") else { return "/" + address }
        return "/" + address[..<colon]
    }

    /// Answers the parked requests `effects` name and re-arms the groups' timer (every call can
    /// move a deadline).
    func deliverGroupEffects(_ effects: [GroupEffect]) {
        groupAnswers.deliver(effects)
        rearmGroupTimer()
    }
}
