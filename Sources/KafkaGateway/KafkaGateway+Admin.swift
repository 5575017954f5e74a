import KafkaProtocol
import KafkaBroker

extension KafkaGateway {
    /// CreateTopics v0–v7. v5+ answer the topic's partitions, replication factor and settings;
    /// v7's topic id is the zero id (the engine's topics have none).
    static let createTopicsRoute = KafkaRoute.immediate(0...7) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        let answer = gateway.broker.createTopics(CreateTopicsRequest(
            topics: body.array("topics").map { topic in
                CreatableTopic(
                    name: topic.string("name"), numPartitions: topic.int32("numPartitions"),
                    replicationFactor: topic.int16("replicationFactor"),
                    assignments: topic.array("assignments").map {
                        CreatableReplicaAssignment(partitionIndex: $0.int32("partitionIndex"), brokerIDs: $0.int32Array("brokerIds"))
                    },
                    configs: topic.array("configs").map { CreatableTopicConfig(name: $0.string("name"), value: $0.nullableString("value")) })
            },
            timeoutMilliseconds: body.int32("timeoutMs"), validateOnly: body.bool("validateOnly")))
        var response = KafkaStruct.response(.createTopics)
        response.set("topics", answer.topics.map { result in
            var topic = response.makeElement("topics")
            topic.set("name", result.name)
            topic.set("errorCode", result.errorCode.rawValue)
            if topic.has("errorMessage", at: version) { topic.set("errorMessage", result.errorMessage) }
            if topic.has("numPartitions", at: version) {
                topic.set("numPartitions", result.numPartitions)
                topic.set("replicationFactor", result.replicationFactor)
                topic.set("configs", result.configs.map { entry in
                    var config = topic.makeElement("configs")
                    config.set("name", entry.name)
                    config.set("value", entry.value)
                    config.set("readOnly", entry.readOnly)
                    config.set("configSource", entry.configSource)
                    config.set("isSensitive", entry.isSensitive)
                    return config
                })
            }
            return topic
        })
        return response
    }

    /// DeleteTopics v0–v6, by name (v6+ carry names in `topics`; one given by id only is
    /// UNKNOWN_TOPIC_ID, as the engine's topics have no ids).
    static let deleteTopicsRoute = KafkaRoute.immediate(0...6) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        var response = KafkaStruct.response(.deleteTopics)
        func element(name: String?, id: KafkaUUID, error: KafkaErrorCode, message: String?) -> KafkaStruct {
            var result = response.makeElement("responses")
            result.set("name", name)
            if result.has("topicId", at: version) { result.set("topicId", id) }
            result.set("errorCode", error.rawValue)
            if result.has("errorMessage", at: version) { result.set("errorMessage", message) }
            return result
        }
        var results: [KafkaStruct] = []
        if body.has("topics", at: version) {
            for topic in body.array("topics") {
                guard let name = topic.nullableString("name") else {
                    results.append(element(name: nil, id: topic.uuid("topicId"), error: .unknownTopicId,
                                           message: "topics are deleted by name here: they have no ids"))
                    continue
                }
                let deleted = gateway.broker.deleteTopics(DeleteTopicsRequest(topicNames: [name], timeoutMilliseconds: body.int32("timeoutMs")))
                for result in deleted.responses {
                    results.append(element(name: result.name, id: .zero, error: result.errorCode, message: result.errorMessage))
                }
            }
        } else {
            let deleted = gateway.broker.deleteTopics(DeleteTopicsRequest(
                topicNames: body.stringArray("topicNames"), timeoutMilliseconds: body.int32("timeoutMs")))
            results = deleted.responses.map { element(name: $0.name, id: .zero, error: $0.errorCode, message: $0.errorMessage) }
        }
        response.set("responses", results)
        return response
    }

    /// CreatePartitions v0–v3: grows topics; the partitions a topic has keep their data.
    static let createPartitionsRoute = KafkaRoute.immediate(0...3) { gateway, request, _ in
        let body = request.body
        let answer = gateway.broker.createPartitions(CreatePartitionsRequest(
            topics: body.array("topics").map { topic in
                CreatePartitionsTopic(name: topic.string("name"), count: topic.int32("count"),
                                      assignments: topic.nullableArray("assignments")?.map { $0.int32Array("brokerIds") })
            },
            timeoutMilliseconds: body.int32("timeoutMs"), validateOnly: body.bool("validateOnly")))
        var response = KafkaStruct.response(.createPartitions)
        response.set("results", answer.results.map { result in
            var element = response.makeElement("results")
            element.set("name", result.name)
            element.set("errorCode", result.errorCode.rawValue)
            element.set("errorMessage", result.errorMessage)
            return element
        })
        return response
    }

    /// DescribeConfigs v0–v4: a topic's settings or this node's. v0 says whether each value is
    /// the default, v1+ where it comes from (and, asked for, itself as its one synonym); v3+ its
    /// type, and no documentation (null, as Kafka answers when it is not asked for).
    static let describeConfigsRoute = KafkaRoute.immediate(0...4) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        let withSynonyms = body.bool("includeSynonyms")
        let answer = gateway.broker.describeConfigs(DescribeConfigsRequest(resources: body.array("resources").map {
            DescribeConfigsResource(resourceType: $0.int8("resourceType"), resourceName: $0.string("resourceName"),
                                    configurationKeys: nullableStrings($0["configurationKeys"]))
        }))
        var response = KafkaStruct.response(.describeConfigs)
        response.set("results", answer.results.map { result in
            var element = response.makeElement("results")
            element.set("errorCode", result.errorCode.rawValue)
            element.set("errorMessage", result.errorMessage)
            element.set("resourceType", result.resourceType)
            element.set("resourceName", result.resourceName)
            element.set("configs", result.configs.map { entry in
                var config = element.makeElement("configs")
                config.set("name", entry.name)
                config.set("value", entry.value)
                config.set("readOnly", entry.readOnly)
                config.set("isSensitive", entry.isSensitive)
                if version == 0 {
                    config.set("isDefault", entry.isDefault)
                } else {
                    config.set("configSource", entry.configSource)
                    if withSynonyms {
                        var synonym = config.makeElement("synonyms")
                        synonym.set("name", entry.name)
                        synonym.set("value", entry.value)
                        synonym.set("source", entry.configSource)
                        config.set("synonyms", [synonym])
                    }
                }
                if config.has("configType", at: version) {
                    config.set("configType", entry.configType)
                    config.set("documentation", nil as String?)
                }
                return config
            })
            return element
        })
        return response
    }

    /// DescribeCluster v0–v1: this node is the cluster and its controller. v1 asks for brokers
    /// (1) or controllers (2); this listener serves brokers, so 2 is MISMATCHED_ENDPOINT_TYPE and
    /// any other value UNSUPPORTED_ENDPOINT_TYPE, as Kafka answers.
    static let describeClusterRoute = KafkaRoute.immediate(0...1) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        var response = KafkaStruct.response(.describeCluster)
        let endpointType = body.int8("endpointType")
        if version >= 1 && endpointType != brokerEndpointType {
            let error: KafkaErrorCode = endpointType == controllerEndpointType ? .mismatchedEndpointType : .unsupportedEndpointType
            response.set("errorCode", error.rawValue)
            response.set("errorMessage", "this listener serves brokers (endpoint type 1), not endpoint type \(endpointType)")
            return response
        }
        let answer = gateway.broker.describeCluster()
        response.set("errorCode", answer.errorCode.rawValue)
        response.set("clusterId", answer.clusterID)
        response.set("controllerId", answer.controllerID)
        response.set("brokers", answer.brokers.map { node in
            var broker = response.makeElement("brokers")
            broker.set("brokerId", node.nodeID)
            broker.set("host", node.host)
            broker.set("port", node.port)
            broker.set("rack", node.rack)
            return broker
        })
        if body.bool("includeClusterAuthorizedOperations") {
            response.set("clusterAuthorizedOperations", AuthorizedOperations.cluster)
        }
        return response
    }

    /// A nullable string array's strings; nil for null (there is no typed accessor for one).
    static func nullableStrings(_ value: KafkaValue) -> [String]? {
        guard case .array(let elements) = value else { preconditionFailure("\(value) is not an array") }
        return elements?.map { element in
            guard case .string(let string?) = element else { preconditionFailure("\(element) is not a string") }
            return string
        }
    }

    /// DescribeCluster's endpoint types (KIP-919).
    static let brokerEndpointType: Int8 = 1
    static let controllerEndpointType: Int8 = 2
}
