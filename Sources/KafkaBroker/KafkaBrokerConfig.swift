package import LogStorage

/// How the broker presents itself and what it does unasked.
package struct KafkaBrokerConfig: Sendable {
    /// This node's id (Kafka's `node.id`): the leader of every partition and the controller.
    package var nodeID: Int32 = 1
    /// The host clients are told to connect to (the advertised listener).
    package var advertisedHost: String = "127.0.0.1"
    /// The port clients are told to connect to.
    package var advertisedPort: Int32 = 9092
    /// Whether Metadata creates a topic a client asks for and does not find (Kafka's
    /// `auto.create.topics.enable`, on by default), when the request allows it.
    package var autoCreateTopics = true
    /// The partition count of topics created without one (Kafka's `num.partitions`).
    package var defaultPartitions = 1
    /// The settings of topics created without them: `pipeline topics create`'s defaults.
    package var defaultTopicConfig = TopicConfig()
    /// The longest transaction timeout a producer may ask for (Kafka's
    /// `transaction.max.timeout.ms`, 15 minutes).
    package var transactionTimeoutMillisecondsMax: Int32 = 900_000

    /// The most record bytes one Fetch response carries, whatever the client asks (Kafka's
    /// broker `fetch.max.bytes`, 55 MiB); the first batch of a response may pass it by up to one
    /// batch (at most the topic's `max.message.bytes`), so a consumer always makes progress.
    package var fetchResponseBytesMax = 55 << 20

    /// Why a record value may not go to a topic that requires `subject` (``TopicConfig/valueSubject``),
    /// or nil when it may: the schema registry's check, injected by whoever holds the registry
    /// (the broker sits below it). Nil: topics that require a subject refuse every batch.
    package var valueSubjectCheck: (@Sendable (_ value: [UInt8]?, _ subject: String) -> String?)? = nil

    package init() {}

    /// The configuration of a topic created with `partitionCount` partitions and no settings.
    package func topicConfig(partitionCount: Int) -> TopicConfig {
        var config = defaultTopicConfig
        config.partitionCount = partitionCount
        return config
    }
}
