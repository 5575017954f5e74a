import StreamCore
package import LogStorage
package import Transactions
import Logging

/// The data plane of Kafka's protocol over one engine: Metadata, Produce, Fetch, ListOffsets,
/// FindCoordinator, the transactional APIs (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
/// EndTxn) and the admin APIs (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
/// DescribeCluster), each with the semantics of Kafka's broker for that API, on the engine's own
/// log, transaction coordinator and consumer offsets: what a Kafka client writes a pipeline reads,
/// and the other way round.
///
/// It knows nothing of the wire: each operation takes and returns plain models named after the
/// fields of Kafka's JSON message definitions (`ProduceRequest` ↔ `ProduceRequestData`), so the
/// codec's glue maps them field by field. Everything is synchronous apart from disk I/O; long
/// polls are the server's, with ``watch(_:callback:)`` and
/// ``PartitionLog/readableBytes(from:isolation:)`` to wait without a thread.
///
/// One node: it is the leader (epoch 0) and only replica of every partition, the controller and
/// the coordinator of every group and transactional id.
///
/// - Invariant: a rejected batch appends nothing; a multi-partition request is answered per
///   partition, each independently, as Kafka does.
/// - Invariant: a transactional batch is appended only to a partition that is a participant of
///   its producer's transaction in the coordinator, under the same producer id and epoch; the
///   check and the append hold the producer's lock, which EndTxn and InitProducerId hold too, so
///   no batch of a transaction can land after its marker. The coordinator's timeout sweep does
///   not take it: its ABORT markers carry a bumped epoch, and the partition's producer state
///   refuses a batch of the older epoch that arrives after one.
/// Thread-safety: safe from any thread; the engine types underneath are, and the broker's own
/// state (the producer locks) is locked.
package final class KafkaBroker: Sendable {
    package let log: LogManager
    package let coordinator: TransactionCoordinator
    package let config: KafkaBrokerConfig
    /// The data directory's cluster id (``ClusterID``).
    package let clusterID: String
    let logger: Logger
    /// Serialises, per producer id, a transactional append's participant check with the append,
    /// and EndTxn (see the type's invariant).
    let producerLocks = StripedLocks(count: 64)

    /// A broker over an open data directory and its coordinator; reads (or creates) the cluster id.
    /// - Throws: `.invalidConfig` for a default partition count outside 1...1024 or unusable
    ///   default topic settings; the errors of ``ClusterID/loadOrCreate(in:storage:)``.
    package init(log: LogManager, coordinator: TransactionCoordinator, config: KafkaBrokerConfig = KafkaBrokerConfig()) throws(LogError) {
        if let problem = config.topicConfig(partitionCount: config.defaultPartitions).problem() {
            throw LogError(.invalidConfig, "the broker's default topic settings are unusable: \(problem)")
        }
        self.log = log
        self.coordinator = coordinator
        self.config = config
        self.logger = log.logger
        clusterID = try ClusterID.loadOrCreate(in: log.directory, storage: log.storage)
    }

    /// This node, as Metadata and DescribeCluster list it.
    package var node: BrokerNode {
        BrokerNode(nodeID: config.nodeID, host: config.advertisedHost, port: config.advertisedPort)
    }

    /// A partition of a topic named by a client: nil for an illegal name, an unknown topic or
    /// partition.
    func partition(topic: String, index: Int32) -> PartitionLog? {
        guard let name = TopicName(rawValue: topic) else { return nil }
        return try? log.partition(TopicPartition(name, PartitionID(index)))
    }
}

/// A broker as clients see it.
package struct BrokerNode: Sendable, Equatable {
    package var nodeID: Int32
    package var host: String
    package var port: Int32
    /// Always nil: one node, no racks.
    package var rack: String? = nil
}

/// A fixed set of locks chosen by a key's hash, so that unrelated keys rarely wait for each
/// other and the set never grows.
///
/// Thread-safety: safe from any thread.
final class StripedLocks: Sendable {
    private let locks: [Lock]

    init(count: Int) {
        precondition(count > 0)
        locks = (0..<count).map { _ in Lock() }
    }

    /// Runs `body` holding the lock of `key`.
    func withLock<T, E: Error>(_ key: Int64, _ body: () throws(E) -> T) throws(E) -> T {
        let lock = locks[Int(UInt64(bitPattern: key) % UInt64(locks.count))]
        lock.lock(); defer { lock.unlock() }
        return try body()
    }
}
