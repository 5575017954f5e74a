import StreamCore
import LogStorage
import Transactions

/// DescribeConfigs (API key 32).
package struct DescribeConfigsRequest: Sendable {
    package var resources: [DescribeConfigsResource]
    package init(resources: [DescribeConfigsResource]) { self.resources = resources }
}

package struct DescribeConfigsResource: Sendable {
    /// 2: topic, 4: broker.
    package var resourceType: Int8
    package var resourceName: String
    /// Nil for every setting.
    package var configurationKeys: [String]?
    package init(resourceType: Int8, resourceName: String, configurationKeys: [String]? = nil) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.configurationKeys = configurationKeys
    }

    package static let topicType: Int8 = 2
    package static let brokerType: Int8 = 4
}

package struct DescribeConfigsResponse: Sendable, Equatable {
    package var results: [DescribeConfigsResult]
}

package struct DescribeConfigsResult: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
    package var resourceType: Int8
    package var resourceName: String
    package var configs: [KafkaConfigEntry]
}

/// DescribeCluster (API key 60).
package struct DescribeClusterResponse: Sendable, Equatable {
    package var errorCode: KafkaErrorCode = .none
    package var clusterID: String
    package var controllerID: Int32
    package var brokers: [BrokerNode]
}

extension KafkaBroker {
    /// Answers DescribeConfigs: a topic's settings under their Kafka names
    /// (``TopicConfig/kafkaEntries(defaults:)``, default where they equal `pipeline topics
    /// create`'s), or this node's (its id, the defaults topics are created with, the internal
    /// topics' partition counts, the data directory), read-only. Only the keys asked for when
    /// given (unknown ones are left out, as Kafka does). An unknown topic is
    /// UNKNOWN_TOPIC_OR_PARTITION, another node's id or another resource type INVALID_REQUEST.
    package func describeConfigs(_ request: DescribeConfigsRequest) -> DescribeConfigsResponse {
        DescribeConfigsResponse(results: request.resources.map { resource in
            func result(_ error: KafkaErrorCode, _ message: String?, _ configs: [KafkaConfigEntry]) -> DescribeConfigsResult {
                let wanted = resource.configurationKeys.map(Set.init)
                return DescribeConfigsResult(errorCode: error, errorMessage: message, resourceType: resource.resourceType,
                                             resourceName: resource.resourceName,
                                             configs: configs.filter { wanted?.contains($0.name) ?? true })
            }
            switch resource.resourceType {
            case DescribeConfigsResource.topicType:
                guard let name = TopicName(rawValue: resource.resourceName), let topic = try? log.topic(name) else {
                    return result(.unknownTopicOrPartition, "unknown topic \(resource.resourceName)", [])
                }
                return result(.none, nil, topic.config.kafkaEntries(defaults: config.defaultTopicConfig))
            case DescribeConfigsResource.brokerType:
                guard resource.resourceName.isEmpty || resource.resourceName == String(config.nodeID) else {
                    return result(.invalidRequest, "this cluster has one node, \(config.nodeID)", [])
                }
                return result(.none, nil, brokerConfigs())
            default:
                return result(.invalidRequest, "unsupported resource type \(resource.resourceType)", [])
            }
        })
    }

    private func brokerConfigs() -> [KafkaConfigEntry] {
        let defaults = config.defaultTopicConfig
        func entry(_ name: String, _ value: String, _ type: Int8) -> KafkaConfigEntry {
            KafkaConfigEntry(name: name, value: value, readOnly: true, isDefault: false,
                             configSource: KafkaConfigEntry.staticBrokerConfigSource, configType: type)
        }
        let offsetsPartitions = (try? log.topic(ConsumerOffsets.topicName).partitionCount) ?? 0
        let transactionPartitions = (try? log.topic(TransactionCoordinator.topicName).partitionCount) ?? 0
        return [
            entry("node.id", String(config.nodeID), 3),
            entry("broker.id", String(config.nodeID), 3),
            entry("advertised.listeners", "PLAINTEXT://\(config.advertisedHost):\(config.advertisedPort)", 7),
            entry("auto.create.topics.enable", String(config.autoCreateTopics), 1),
            entry("num.partitions", String(config.defaultPartitions), 3),
            entry("default.replication.factor", "1", 3),
            entry("log.dirs", log.directory, 2),
            entry("message.max.bytes", String(defaults.batchBytesMax), 3),
            entry("log.segment.bytes", String(defaults.segmentBytesMax), 3),
            entry("log.retention.ms", String(defaults.retentionMilliseconds), 5),
            entry("log.cleanup.policy", defaults.cleanupPolicy.rawValue, 7),
            entry("offsets.topic.num.partitions", String(offsetsPartitions), 3),
            entry("transaction.state.log.num.partitions", String(transactionPartitions), 3),
            entry("transaction.max.timeout.ms", String(config.transactionTimeoutMillisecondsMax), 3),
        ]
    }

    /// Answers DescribeCluster: this node is the cluster and its controller.
    package func describeCluster() -> DescribeClusterResponse {
        DescribeClusterResponse(clusterID: clusterID, controllerID: config.nodeID, brokers: [node])
    }
}
