import StreamCore
import Logging
import LogStorage

/// CreateTopics (API key 19).
package struct CreateTopicsRequest: Sendable {
    package var topics: [CreatableTopic]
    package var timeoutMilliseconds: Int32 = 30_000
    /// Check everything, create nothing.
    package var validateOnly = false
    package init(topics: [CreatableTopic], timeoutMilliseconds: Int32 = 30_000, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMilliseconds = timeoutMilliseconds
        self.validateOnly = validateOnly
    }
}

package struct CreatableTopic: Sendable {
    package var name: String
    /// -1: the broker's default partition count.
    package var numPartitions: Int32 = -1
    /// -1 or 1: one node holds the only replica.
    package var replicationFactor: Int16 = -1
    /// A manual assignment, partition by partition (then both counts above must be -1).
    package var assignments: [CreatableReplicaAssignment] = []
    package var configs: [CreatableTopicConfig] = []
    package init(name: String, numPartitions: Int32 = -1, replicationFactor: Int16 = -1,
                 assignments: [CreatableReplicaAssignment] = [], configs: [CreatableTopicConfig] = []) {
        self.name = name
        self.numPartitions = numPartitions
        self.replicationFactor = replicationFactor
        self.assignments = assignments
        self.configs = configs
    }
}

package struct CreatableReplicaAssignment: Sendable {
    package var partitionIndex: Int32
    package var brokerIDs: [Int32]
    package init(partitionIndex: Int32, brokerIDs: [Int32]) {
        self.partitionIndex = partitionIndex
        self.brokerIDs = brokerIDs
    }
}

package struct CreatableTopicConfig: Sendable {
    package var name: String
    package var value: String?
    package init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

package struct CreateTopicsResponse: Sendable, Equatable {
    package var topics: [CreatableTopicResult]
}

package struct CreatableTopicResult: Sendable, Equatable {
    package var name: String
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
    /// The created (or, validating only, the would-be) topic's partition count; -1 on error.
    package var numPartitions: Int32
    package var replicationFactor: Int16
    /// Its settings (v5+); empty on error.
    package var configs: [KafkaConfigEntry]

    static func failure(_ name: String, _ error: KafkaErrorCode, _ message: String) -> CreatableTopicResult {
        CreatableTopicResult(name: name, errorCode: error, errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: [])
    }
}

/// DeleteTopics (API key 20), by name.
package struct DeleteTopicsRequest: Sendable {
    package var topicNames: [String]
    package var timeoutMilliseconds: Int32 = 30_000
    package init(topicNames: [String], timeoutMilliseconds: Int32 = 30_000) {
        self.topicNames = topicNames
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

package struct DeleteTopicsResponse: Sendable, Equatable {
    package var responses: [DeletableTopicResult]
}

package struct DeletableTopicResult: Sendable, Equatable {
    package var name: String
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
}

/// CreatePartitions (API key 37).
package struct CreatePartitionsRequest: Sendable {
    package var topics: [CreatePartitionsTopic]
    package var timeoutMilliseconds: Int32 = 30_000
    package var validateOnly = false
    package init(topics: [CreatePartitionsTopic], timeoutMilliseconds: Int32 = 30_000, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMilliseconds = timeoutMilliseconds
        self.validateOnly = validateOnly
    }
}

package struct CreatePartitionsTopic: Sendable {
    package var name: String
    /// The new total partition count.
    package var count: Int32
    /// Nil, or the replicas of each new partition.
    package var assignments: [[Int32]]?
    package init(name: String, count: Int32, assignments: [[Int32]]? = nil) {
        self.name = name
        self.count = count
        self.assignments = assignments
    }
}

package struct CreatePartitionsResponse: Sendable, Equatable {
    package var results: [CreatePartitionsTopicResult]
}

package struct CreatePartitionsTopicResult: Sendable, Equatable {
    package var name: String
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
}

extension KafkaBroker {
    /// Answers CreateTopics, per topic: a duplicate name in the request is INVALID_REQUEST, an
    /// illegal or internal (`__`) name INVALID_TOPIC_EXCEPTION, an existing topic
    /// TOPIC_ALREADY_EXISTS, a partition count outside 1...1024 INVALID_PARTITIONS, a replication
    /// factor other than 1 (or -1) INVALID_REPLICATION_FACTOR, an assignment naming another
    /// node INVALID_REPLICA_ASSIGNMENT, an unknown setting or a bad value INVALID_CONFIG
    /// (``TopicConfig/apply(kafkaName:value:)``). Settings not given are `pipeline topics
    /// create`'s defaults. The topic appears whole or not at all (``LogManager/createTopic(_:config:)``);
    /// with `validateOnly` nothing is created and a valid topic answers NONE.
    package func createTopics(_ request: CreateTopicsRequest) -> CreateTopicsResponse {
        var counts: [String: Int] = [:]
        for topic in request.topics { counts[topic.name, default: 0] += 1 }
        return CreateTopicsResponse(topics: request.topics.map { topic in
            if counts[topic.name, default: 0] > 1 {
                return .failure(topic.name, .invalidRequest, "the request names topic \(topic.name) more than once")
            }
            return createTopic(topic, validateOnly: request.validateOnly)
        })
    }

    private func createTopic(_ topic: CreatableTopic, validateOnly: Bool) -> CreatableTopicResult {
        let name: TopicName
        do { name = try TopicName(validating: topic.name) } catch {
            return .failure(topic.name, .invalidTopicException, error.description)
        }
        if name.isInternal {
            return .failure(topic.name, .invalidTopicException, "names starting with '__' are reserved for internal topics")
        }
        if log.hasTopic(name) { return .failure(topic.name, .topicAlreadyExists, "topic '\(name)' already exists") }
        var partitionCount = Int(topic.numPartitions)
        if !topic.assignments.isEmpty {
            guard topic.numPartitions == -1, topic.replicationFactor == -1 else {
                return .failure(topic.name, .invalidRequest, "with a replica assignment, numPartitions and replicationFactor must be -1")
            }
            let indexes = topic.assignments.map(\.partitionIndex).sorted()
            guard indexes == Array(0..<Int32(indexes.count)) else {
                return .failure(topic.name, .invalidReplicaAssignment, "the assignment must cover partitions 0..<\(indexes.count) once each")
            }
            guard topic.assignments.allSatisfy({ $0.brokerIDs == [config.nodeID] }) else {
                return .failure(topic.name, .invalidReplicaAssignment, "every partition's only replica must be node \(config.nodeID)")
            }
            partitionCount = indexes.count
        } else if topic.numPartitions == -1 {
            partitionCount = config.defaultPartitions
        }
        guard partitionCount >= 1, partitionCount <= TopicConfig.partitionCountMax else {
            return .failure(topic.name, .invalidPartitions, "the partition count must be 1...\(TopicConfig.partitionCountMax), not \(partitionCount)")
        }
        guard topic.replicationFactor == -1 || topic.replicationFactor == 1 else {
            return .failure(topic.name, .invalidReplicationFactor, "one node: the replication factor must be 1, not \(topic.replicationFactor)")
        }
        var topicConfig = config.topicConfig(partitionCount: partitionCount)
        for setting in topic.configs {
            do { try topicConfig.apply(kafkaName: setting.name, value: setting.value) } catch {
                return .failure(topic.name, .invalidConfig, error.message)
            }
        }
        if let problem = topicConfig.problem() { return .failure(topic.name, .invalidConfig, problem) }
        let created = CreatableTopicResult(
            name: topic.name, errorCode: .none, errorMessage: nil, numPartitions: Int32(partitionCount), replicationFactor: 1,
            configs: topicConfig.kafkaEntries(defaults: config.defaultTopicConfig))
        if validateOnly { return created }
        do {
            try log.createTopic(name, config: topicConfig)
        } catch {
            return .failure(topic.name, KafkaErrorCode(error), error.description)
        }
        logger.info("created topic for a client", metadata: ["topic": "\(name)", "partitions": "\(partitionCount)"])
        return created
    }

    /// Answers DeleteTopics, per topic: an unknown one is UNKNOWN_TOPIC_OR_PARTITION, an internal
    /// one INVALID_REQUEST (the engine's coordinator state lives there), an illegal name
    /// INVALID_TOPIC_EXCEPTION; a deleted topic's data is gone when the answer is sent.
    package func deleteTopics(_ request: DeleteTopicsRequest) -> DeleteTopicsResponse {
        DeleteTopicsResponse(responses: request.topicNames.map { name in
            let topicName: TopicName
            do throws(InvalidTopicName) { topicName = try TopicName(validating: name) } catch {
                return DeletableTopicResult(name: name, errorCode: .invalidTopicException, errorMessage: error.description)
            }
            if topicName.isInternal {
                return DeletableTopicResult(name: name, errorCode: .invalidRequest, errorMessage: "internal topic \(name) cannot be deleted")
            }
            do throws(LogError) {
                try log.deleteTopic(topicName)
                logger.info("deleted topic for a client", metadata: ["topic": "\(name)"])
                return DeletableTopicResult(name: name, errorCode: .none, errorMessage: nil)
            } catch {
                return DeletableTopicResult(name: name, errorCode: KafkaErrorCode(error), errorMessage: error.description)
            }
        })
    }

    /// Answers CreatePartitions, per topic: grows the topic to `count` partitions crash-atomically
    /// (``LogManager/addPartitions(to:partitionCount:)``). A count not above the current one, or
    /// over 1024, is INVALID_PARTITIONS (Kafka never shrinks a topic); an unknown topic
    /// UNKNOWN_TOPIC_OR_PARTITION; an internal one INVALID_REQUEST (a group's or transactional
    /// id's partition is a hash modulo the count); an assignment that is not one list `[node]` per
    /// new partition INVALID_REPLICA_ASSIGNMENT; a duplicate name INVALID_REQUEST.
    package func createPartitions(_ request: CreatePartitionsRequest) -> CreatePartitionsResponse {
        var counts: [String: Int] = [:]
        for topic in request.topics { counts[topic.name, default: 0] += 1 }
        return CreatePartitionsResponse(results: request.topics.map { topic in
            func result(_ error: KafkaErrorCode, _ message: String?) -> CreatePartitionsTopicResult {
                CreatePartitionsTopicResult(name: topic.name, errorCode: error, errorMessage: message)
            }
            if counts[topic.name, default: 0] > 1 { return result(.invalidRequest, "the request names topic \(topic.name) more than once") }
            guard let name = TopicName(rawValue: topic.name), let existing = try? log.topic(name) else {
                return result(.unknownTopicOrPartition, "unknown topic \(topic.name)")
            }
            if name.isInternal { return result(.invalidRequest, "the partition count of internal topic \(name) is fixed") }
            let current = existing.partitionCount
            let wanted = Int(topic.count)
            if wanted == current { return result(.invalidPartitions, "topic \(name) already has \(current) partitions") }
            if wanted < current {
                return result(.invalidPartitions, "topic \(name) has \(current) partitions, more than the \(wanted) asked for; partitions cannot be removed")
            }
            if wanted > TopicConfig.partitionCountMax {
                return result(.invalidPartitions, "at most \(TopicConfig.partitionCountMax) partitions, not \(wanted)")
            }
            if let assignments = topic.assignments {
                guard assignments.count == wanted - current, assignments.allSatisfy({ $0 == [config.nodeID] }) else {
                    return result(.invalidReplicaAssignment, "give one assignment [\(config.nodeID)] for each of the \(wanted - current) new partitions")
                }
            }
            if request.validateOnly { return result(.none, nil) }
            do throws(LogError) {
                try log.addPartitions(to: name, partitionCount: wanted)
                return result(.none, nil)
            } catch {
                return result(error.code == .invalidPartition ? .invalidPartitions : KafkaErrorCode(error), error.description)
            }
        })
    }
}
