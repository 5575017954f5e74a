import StreamCore
import Logging
import LogStorage

/// Metadata (API key 3): the requested topics, or all non-internal topics.
package struct MetadataRequest: Sendable, Equatable {
    /// The topics asked for; nil asks for every topic (Metadata v0's empty list means the same:
    /// the glue maps it to nil).
    package var topics: [String]?
    /// Whether a topic asked for and not found may be created (with the broker's
    /// ``KafkaBrokerConfig/autoCreateTopics`` on).
    package var allowAutoTopicCreation: Bool = true

    package init(topics: [String]?, allowAutoTopicCreation: Bool = true) {
        self.topics = topics
        self.allowAutoTopicCreation = allowAutoTopicCreation
    }
}

package struct MetadataResponse: Sendable, Equatable {
    package var brokers: [BrokerNode]
    package var clusterID: String
    package var controllerID: Int32
    package var topics: [MetadataTopic]
}

package struct MetadataTopic: Sendable, Equatable {
    package var errorCode: KafkaErrorCode
    package var name: String
    package var isInternal: Bool
    package var partitions: [MetadataPartition]
}

/// One partition: this node leads it at epoch 0 and is its only replica.
package struct MetadataPartition: Sendable, Equatable {
    package var errorCode: KafkaErrorCode = .none
    package var partitionIndex: Int32
    package var leaderID: Int32
    package var leaderEpoch: Int32 = 0
    package var replicaNodes: [Int32]
    package var isrNodes: [Int32]
    package var offlineReplicas: [Int32] = []
}

extension KafkaBroker {
    /// Answers Metadata. A topic asked for and missing is created with the default partition
    /// count and topic settings when both the broker and the request allow it (never an internal
    /// or illegal name), and listed at once; otherwise it is UNKNOWN_TOPIC_OR_PARTITION, and an
    /// illegal name INVALID_TOPIC_EXCEPTION. Listing all topics leaves out internal ones; asking
    /// for an internal topic by name lists it, marked internal.
    package func metadata(_ request: MetadataRequest) -> MetadataResponse {
        let names = request.topics ?? log.topicNames(includeInternal: false).map(\.rawValue)
        var topics: [MetadataTopic] = []
        var seen: Set<String> = []
        for name in names where seen.insert(name).inserted {
            topics.append(describeTopic(name, autoCreate: request.topics != nil && request.allowAutoTopicCreation))
        }
        return MetadataResponse(brokers: [node], clusterID: clusterID, controllerID: config.nodeID, topics: topics)
    }

    private func describeTopic(_ name: String, autoCreate: Bool) -> MetadataTopic {
        let topicName: TopicName
        do { topicName = try TopicName(validating: name) } catch {
            return MetadataTopic(errorCode: .invalidTopicException, name: name, isInternal: false, partitions: [])
        }
        let missing = MetadataTopic(errorCode: .unknownTopicOrPartition, name: name, isInternal: topicName.isInternal, partitions: [])
        var found = try? log.topic(topicName)
        if found == nil {
            guard autoCreate, config.autoCreateTopics, !topicName.isInternal else { return missing }
            switch autoCreateTopic(topicName) {
            case .success(let created): found = created
            case .failure(let error):
                return MetadataTopic(errorCode: KafkaErrorCode(error), name: name, isInternal: false, partitions: [])
            }
        }
        guard let topic = found else { return missing }
        let nodeID = config.nodeID
        let partitions = (0..<Int32(topic.partitionCount)).map {
            MetadataPartition(partitionIndex: $0, leaderID: nodeID, replicaNodes: [nodeID], isrNodes: [nodeID])
        }
        return MetadataTopic(errorCode: .none, name: name, isInternal: topicName.isInternal, partitions: partitions)
    }

    /// Creates a topic a client asked for, with the defaults; one created meanwhile by someone
    /// else is as good.
    private func autoCreateTopic(_ name: TopicName) -> Result<Topic, LogError> {
        do {
            let topic = try log.createTopic(name, config: config.topicConfig(partitionCount: config.defaultPartitions))
            logger.info("auto-created topic", metadata: ["topic": "\(name)", "partitions": "\(config.defaultPartitions)"])
            return .success(topic)
        } catch {
            if error.code == .topicExists, let topic = try? log.topic(name) { return .success(topic) }
            logger.error("auto-creating a topic failed", metadata: ["topic": "\(name)", "error": "\(error)"])
            return .failure(error)
        }
    }
}
