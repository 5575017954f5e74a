package import StreamCore

/// A topic: its name, its persisted configuration and its partitions.
///
/// Thread-safety: immutable; each ``PartitionLog`` is thread-safe.
package final class Topic: Sendable {
    package let name: TopicName
    package let config: TopicConfig
    package let directory: String
    package let partitions: [PartitionLog]

    init(name: TopicName, config: TopicConfig, directory: String, partitions: [PartitionLog]) {
        self.name = name
        self.config = config
        self.directory = directory
        self.partitions = partitions
    }

    /// The partition with this id.
    package func partition(_ id: PartitionID) throws(LogError) -> PartitionLog {
        guard id.rawValue >= 0, Int(id.rawValue) < partitions.count else {
            throw LogError(.invalidPartition, "topic '\(name)' has no partition \(id) (it has \(partitions.count))")
        }
        return partitions[Int(id.rawValue)]
    }

    package var partitionCount: Int { partitions.count }
}
