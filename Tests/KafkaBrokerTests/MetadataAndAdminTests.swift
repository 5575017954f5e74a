import Testing
import StreamCore
import LogStorage
import Transactions
import Simulation
import EngineTestSupport
@testable import KafkaBroker

@Suite struct MetadataAndAdminTests {
    @Test func metadataDescribesTheOneNodeAndItsTopics() throws {
        var config = KafkaBrokerConfig()
        config.nodeID = 7
        config.advertisedHost = "broker.local"
        config.advertisedPort = 19092
        let fixture = try BrokerFixture(config: config)
        fixture.createTopic("orders", partitions: 3)
        let response = fixture.broker.metadata(MetadataRequest(topics: nil))
        #expect(response.brokers == [BrokerNode(nodeID: 7, host: "broker.local", port: 19092)])
        #expect(response.controllerID == 7)
        #expect(ClusterID.isValid(response.clusterID))
        #expect(response.topics.map(\.name) == ["orders"], "internal topics are not listed")
        let orders = response.topics[0]
        #expect(orders.errorCode == .none && !orders.isInternal)
        #expect(orders.partitions == (0..<3).map { MetadataPartition(partitionIndex: $0, leaderID: 7, replicaNodes: [7], isrNodes: [7]) })

        let internalTopic = fixture.broker.metadata(MetadataRequest(topics: ["__consumer_offsets"])).topics[0]
        #expect(internalTopic.errorCode == .none && internalTopic.isInternal && internalTopic.partitions.count == 2)
        #expect(fixture.broker.metadata(MetadataRequest(topics: ["bad name"])).topics[0].errorCode == .invalidTopicException)
        #expect(fixture.broker.metadata(MetadataRequest(topics: ["__nothing"])).topics[0].errorCode == .unknownTopicOrPartition)
    }

    @Test func metadataAutoCreatesWithTheDefaultsWhenAllowed() throws {
        var config = KafkaBrokerConfig()
        config.defaultPartitions = 3
        let fixture = try BrokerFixture(config: config)
        let refused = fixture.broker.metadata(MetadataRequest(topics: ["quiet"], allowAutoTopicCreation: false)).topics[0]
        #expect(refused.errorCode == .unknownTopicOrPartition)
        #expect(!fixture.log.hasTopic(TopicName(rawValue: "quiet")!))
        let created = fixture.broker.metadata(MetadataRequest(topics: ["orders"])).topics[0]
        #expect(created.errorCode == .none && created.partitions.count == 3)
        let topic = try fixture.log.topic(TopicName(rawValue: "orders")!)
        #expect(topic.config == config.topicConfig(partitionCount: 3), "the topic defaults of `topics create`")
        #expect(fixture.produce("orders", partition: 2, clientBatch(["x"])).errorCode == .none)
    }

    @Test func withAutoCreateOffUnknownTopicsStayUnknown() throws {
        var config = KafkaBrokerConfig()
        config.autoCreateTopics = false
        let fixture = try BrokerFixture(config: config)
        #expect(fixture.broker.metadata(MetadataRequest(topics: ["orders"])).topics[0].errorCode == .unknownTopicOrPartition)
        #expect(fixture.produce("orders", clientBatch(["x"])).errorCode == .unknownTopicOrPartition)
        #expect(!fixture.log.hasTopic(TopicName(rawValue: "orders")!))
    }

    /// The cluster id is created once, kept in the data directory, and the same after reopens and
    /// crashes.
    @Test func theClusterIDIsStable() throws {
        let fixture = try BrokerFixture()
        let id = fixture.broker.clusterID
        #expect(ClusterID.isValid(id))
        try fixture.crashAndReopen()
        #expect(fixture.broker.clusterID == id)
        try fixture.reopenCleanly()
        #expect(fixture.broker.describeCluster() == DescribeClusterResponse(clusterID: id, controllerID: 1, brokers: [fixture.broker.node]))
        #expect(try KafkaBroker(log: fixture.log, coordinator: fixture.engine.coordinator).clusterID == id)
        let other = try BrokerFixture(seed: 2)
        #expect(other.broker.clusterID != id)
    }

    @Test(arguments: [0, 1025])
    func unusableDefaultsAreRefusedAtStart(defaultPartitions: Int) throws {
        let fixture = try BrokerFixture()
        var config = KafkaBrokerConfig()
        config.defaultPartitions = defaultPartitions
        #expect(throws: LogError.self) { try KafkaBroker(log: fixture.log, coordinator: fixture.engine.coordinator, config: config) }
    }

    @Test func findCoordinatorIsAlwaysThisNode() throws {
        let fixture = try BrokerFixture()
        let single = fixture.broker.findCoordinator(FindCoordinatorRequest(key: "payment-service", keyType: 0))
        #expect(single.errorCode == .none && single.nodeID == 1 && single.host == "127.0.0.1" && single.port == 9092)
        #expect(single.coordinators.isEmpty)
        let batched = fixture.broker.findCoordinator(FindCoordinatorRequest(keyType: 1, coordinatorKeys: ["a", "b", ""]))
        #expect(batched.coordinators.map(\.key) == ["a", "b", ""])
        #expect(batched.coordinators.map(\.errorCode) == [.none, .none, .invalidRequest])
        #expect(fixture.broker.findCoordinator(FindCoordinatorRequest(key: "x", keyType: 2)).errorCode == .invalidRequest)
    }

    @Test func createTopicsMapsKafkaConfigsAndRefusesWhatItCannotDo() throws {
        let fixture = try BrokerFixture()
        let request = CreateTopicsRequest(topics: [
            CreatableTopic(name: "compacted", numPartitions: 2, replicationFactor: 1, configs: [
                CreatableTopicConfig(name: "cleanup.policy", value: "compact"),
                CreatableTopicConfig(name: "retention.ms", value: "3600000"),
                CreatableTopicConfig(name: "retention.bytes", value: "1000000"),
                CreatableTopicConfig(name: "segment.bytes", value: "1048576"),
                CreatableTopicConfig(name: "segment.ms", value: "60000"),
                CreatableTopicConfig(name: "max.message.bytes", value: "65536"),
                CreatableTopicConfig(name: "compression.type", value: "lz4"),
                CreatableTopicConfig(name: "delete.retention.ms", value: "1000"),
            ]),
            CreatableTopic(name: "unknown-config", configs: [CreatableTopicConfig(name: "min.insync.replicas", value: "2")]),
            CreatableTopic(name: "bad-value", configs: [CreatableTopicConfig(name: "retention.ms", value: "soon")]),
            CreatableTopic(name: "gzip", configs: [CreatableTopicConfig(name: "compression.type", value: "gzip")]),
            CreatableTopic(name: "replicated", replicationFactor: 3),
            CreatableTopic(name: "no-partitions", numPartitions: 0),
            CreatableTopic(name: "too-many", numPartitions: 5000),
            CreatableTopic(name: "bad name"),
            CreatableTopic(name: "__mine"),
            CreatableTopic(name: "twice"),
            CreatableTopic(name: "twice"),
            CreatableTopic(name: "assigned", assignments: [CreatableReplicaAssignment(partitionIndex: 0, brokerIDs: [1]),
                                                           CreatableReplicaAssignment(partitionIndex: 1, brokerIDs: [1])]),
            CreatableTopic(name: "elsewhere", assignments: [CreatableReplicaAssignment(partitionIndex: 0, brokerIDs: [2])]),
        ])
        let results = fixture.broker.createTopics(request).topics
        #expect(results.map(\.errorCode) == [
            .none, .invalidConfig, .invalidConfig, .invalidConfig, .invalidReplicationFactor, .invalidPartitions, .invalidPartitions,
            .invalidTopicException, .invalidTopicException, .invalidRequest, .invalidRequest, .none, .invalidReplicaAssignment,
        ])
        #expect(results[0].numPartitions == 2 && results[0].replicationFactor == 1)
        let config = try fixture.log.topic(TopicName(rawValue: "compacted")!).config
        #expect(config.cleanupPolicy == .compact && config.retentionMilliseconds == 3_600_000 && config.retentionBytes == 1_000_000)
        #expect(config.segmentBytesMax == 1 << 20 && config.segmentAgeMilliseconds == 60_000 && config.batchBytesMax == 65_536)
        #expect(config.compression == .lz4 && config.deleteRetentionMilliseconds == 1000)
        #expect(results[0].configs.first { $0.name == "cleanup.policy" } == KafkaConfigEntry(
            name: "cleanup.policy", value: "compact", readOnly: false, isDefault: false, configSource: 1, configType: 7))
        #expect(try fixture.log.topic(TopicName(rawValue: "assigned")!).partitionCount == 2)
        #expect(fixture.log.topicNames() == [TopicName(rawValue: "assigned")!, TopicName(rawValue: "compacted")!])
        #expect(fixture.createTopic("compacted").errorCode == .topicAlreadyExists)
    }

    @Test func validateOnlyCreatesNothing() throws {
        let fixture = try BrokerFixture()
        let result = fixture.broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: "orders", numPartitions: 4)], validateOnly: true))
        #expect(result.topics[0].errorCode == .none && result.topics[0].numPartitions == 4)
        #expect(!fixture.log.hasTopic(TopicName(rawValue: "orders")!))
        let bad = fixture.broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: "orders", replicationFactor: 2)], validateOnly: true))
        #expect(bad.topics[0].errorCode == .invalidReplicationFactor)
    }

    @Test func deleteTopicsRefusesInternalTopics() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders")
        #expect(fixture.produce("orders", clientBatch(["x"])).errorCode == .none)
        let response = fixture.broker.deleteTopics(DeleteTopicsRequest(topicNames: ["orders", "missing", "__consumer_offsets", "__transaction_state", "bad name"]))
        #expect(response.responses.map(\.errorCode) == [.none, .unknownTopicOrPartition, .invalidRequest, .invalidRequest, .invalidTopicException])
        #expect(!fixture.log.hasTopic(TopicName(rawValue: "orders")!))
        #expect(fixture.log.hasTopic(ConsumerOffsets.topicName) && fixture.log.hasTopic(TransactionCoordinator.topicName))
        #expect(fixture.produce("orders", clientBatch(["x"])).errorCode == .unknownTopicOrPartition)
    }

    @Test func createPartitionsOnlyGrows() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", partitions: 2)
        #expect(fixture.produce("orders", partition: 1, clientBatch(["kept"])).errorCode == .none)
        let response = fixture.broker.createPartitions(CreatePartitionsRequest(topics: [
            CreatePartitionsTopic(name: "orders", count: 4),
            CreatePartitionsTopic(name: "missing", count: 4),
            CreatePartitionsTopic(name: "__consumer_offsets", count: 10),
        ]))
        #expect(response.results.map(\.errorCode) == [.none, .unknownTopicOrPartition, .invalidRequest])
        #expect(fixture.broker.metadata(MetadataRequest(topics: ["orders"])).topics[0].partitions.count == 4)
        #expect(fixture.produce("orders", partition: 3, clientBatch(["new"])).errorCode == .none)
        #expect(fixture.consume("orders", partition: 1, isolation: .readUncommitted) == ["kept"])

        func grow(_ count: Int32, assignments: [[Int32]]? = nil, validateOnly: Bool = false) -> KafkaErrorCode {
            fixture.broker.createPartitions(CreatePartitionsRequest(
                topics: [CreatePartitionsTopic(name: "orders", count: count, assignments: assignments)], validateOnly: validateOnly)).results[0].errorCode
        }
        #expect(grow(3) == .invalidPartitions, "shrinking")
        #expect(grow(4) == .invalidPartitions, "the same count")
        #expect(grow(2000) == .invalidPartitions)
        #expect(grow(6, assignments: [[1]]) == .invalidReplicaAssignment)
        #expect(grow(6, assignments: [[1], [2]]) == .invalidReplicaAssignment)
        #expect(grow(6, validateOnly: true) == .none)
        #expect(try fixture.log.topic(TopicName(rawValue: "orders")!).partitionCount == 4)
        #expect(grow(6, assignments: [[1], [1]]) == .none)
        try fixture.reopenCleanly()
        #expect(try fixture.log.topic(TopicName(rawValue: "orders")!).partitionCount == 6)
        #expect(fixture.consume("orders", partition: 3, isolation: .readUncommitted) == ["new"])
    }

    @Test func describeConfigsNamesTopicAndBrokerSettingsAsKafkaDoes() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("orders", configs: [CreatableTopicConfig(name: "retention.ms", value: "1000")])
        let response = fixture.broker.describeConfigs(DescribeConfigsRequest(resources: [
            DescribeConfigsResource(resourceType: 2, resourceName: "orders"),
            DescribeConfigsResource(resourceType: 2, resourceName: "orders", configurationKeys: ["compression.type", "nonsense"]),
            DescribeConfigsResource(resourceType: 2, resourceName: "missing"),
            DescribeConfigsResource(resourceType: 4, resourceName: "1", configurationKeys: ["num.partitions", "offsets.topic.num.partitions"]),
            DescribeConfigsResource(resourceType: 4, resourceName: "9"),
            DescribeConfigsResource(resourceType: 3, resourceName: "x"),
        ]))
        #expect(response.results.map(\.errorCode) == [.none, .none, .unknownTopicOrPartition, .none, .invalidRequest, .invalidRequest])
        let all = response.results[0].configs
        #expect(all.map(\.name) == TopicConfig.kafkaNames)
        let retention = all.first { $0.name == "retention.ms" }
        #expect(retention?.value == "1000" && retention?.isDefault == false && retention?.configSource == KafkaConfigEntry.topicConfigSource)
        let segment = all.first { $0.name == "segment.bytes" }
        #expect(segment?.value == String(TopicConfig().segmentBytesMax) && segment?.isDefault == true)
        #expect(response.results[1].configs.map(\.name) == ["compression.type"])
        #expect(response.results[1].configs.first?.value == "producer")
        #expect(response.results[3].configs.map(\.value) == ["1", "2"])
    }

    @Test func everyKafkaTopicConfigRoundTrips() throws {
        var config = TopicConfig()
        for name in TopicConfig.kafkaNames {
            let value = config.kafkaValue(name)
            #expect(value != nil, "\(name) has a value")
            try config.apply(kafkaName: name, value: value)
        }
        #expect(config == TopicConfig())
    }
}
