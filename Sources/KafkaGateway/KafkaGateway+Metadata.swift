import KafkaProtocol
import KafkaBroker

extension KafkaGateway {
    /// Metadata v0–v12. v0's empty topic list and v1+'s null both mean every topic; v1+'s empty
    /// list means none. A topic asked for by id only (v10+, null name) is UNKNOWN_TOPIC_ID: the
    /// engine's topics have names, not ids, so every listed topic has the zero id. Auto-creation
    /// follows `allowAutoTopicCreation` (v4+; always allowed before, as Kafka).
    static let metadataRoute = KafkaRoute.immediate(0...12) { gateway, request, _ in
        gateway.metadataResponse(request.body, version: request.header.apiVersion)
    }

    func metadataResponse(_ body: KafkaStruct, version: Int16) -> KafkaStruct {
        let asked = body.nullableArray("topics")
        var names: [String]?
        var idsOnly: [KafkaUUID] = []
        if let asked, !(version == 0 && asked.isEmpty) {
            names = asked.compactMap { $0.nullableString("name") }
            idsOnly = asked.filter { $0.nullableString("name") == nil }.map { $0.uuid("topicId") }
        }
        let answer = broker.metadata(MetadataRequest(topics: names, allowAutoTopicCreation: body.bool("allowAutoTopicCreation")))
        let withTopicOperations = body.bool("includeTopicAuthorizedOperations")

        var response = KafkaStruct.response(.metadata)
        response.set("brokers", answer.brokers.map { node in
            var broker = response.makeElement("brokers")
            broker.set("nodeId", node.nodeID)
            broker.set("host", node.host)
            broker.set("port", node.port)
            broker.set("rack", node.rack)
            return broker
        })
        response.set("clusterId", answer.clusterID)
        response.set("controllerId", answer.controllerID)
        if response.has("clusterAuthorizedOperations", at: version) && body.bool("includeClusterAuthorizedOperations") {
            response.set("clusterAuthorizedOperations", AuthorizedOperations.cluster)
        }
        var topics = answer.topics.map { found in
            var topic = response.makeElement("topics")
            topic.set("errorCode", found.errorCode.rawValue)
            topic.set("name", found.name)
            topic.set("isInternal", found.isInternal)
            topic.set("partitions", found.partitions.map { partition in
                var element = topic.makeElement("partitions")
                element.set("errorCode", partition.errorCode.rawValue)
                element.set("partitionIndex", partition.partitionIndex)
                element.set("leaderId", partition.leaderID)
                element.set("leaderEpoch", partition.leaderEpoch)
                element.set("replicaNodes", partition.replicaNodes)
                element.set("isrNodes", partition.isrNodes)
                element.set("offlineReplicas", partition.offlineReplicas)
                return element
            })
            if withTopicOperations && found.errorCode == .none && topic.has("topicAuthorizedOperations", at: version) {
                topic.set("topicAuthorizedOperations", AuthorizedOperations.topic)
            }
            return topic
        }
        for id in idsOnly {
            var topic = response.makeElement("topics")
            topic.set("errorCode", KafkaErrorCode.unknownTopicId.rawValue)
            topic.set("name", version >= 12 ? nil : "")
            topic.set("topicId", id)
            topics.append(topic)
        }
        response.set("topics", topics)
        return response
    }
}
