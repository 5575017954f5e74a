import StreamCore
import LogStorage

/// Deletes a worker's repartition partitions below its committed offsets, as Kafka Streams
/// purges repartition topics: partition P of a repartition topic is read by worker P of the
/// pipeline's group alone, so a record below that group's committed offset is never read again.
/// Repartition topics have no retention (``RuntimeTopics/repartition(partitionCount:)``), so
/// this is the only way their records go, and only once consumed.
///
/// At most once per ``intervalNanoseconds`` of the engine's monotonic clock (each purge that
/// moves the log start writes and syncs a small file).
///
/// - Invariant: it never deletes at or above an offset the group committed.
/// Thread-safety: owned by one worker.
struct RepartitionPurge {
    static let intervalNanoseconds: UInt64 = 30_000_000_000
    private let partitions: [TopicPartition: PartitionLog]
    private var lastPurgeNanoseconds: UInt64

    /// - Parameter partitions: the worker's input partitions of repartition topics.
    init(partitions: [TopicPartition: PartitionLog], nowNanoseconds: UInt64) {
        self.partitions = partitions
        lastPurgeNanoseconds = nowNanoseconds
    }

    /// Called after a commit of `committed` (the offsets now committed for the group): deletes
    /// below them when the interval has passed.
    mutating func committed(_ committed: [TopicPartition: Offset], nowNanoseconds: UInt64) throws {
        guard !partitions.isEmpty, nowNanoseconds &- lastPurgeNanoseconds >= Self.intervalNanoseconds else { return }
        lastPurgeNanoseconds = nowNanoseconds
        for (topicPartition, partition) in partitions {
            guard let offset = committed[topicPartition] else { continue }
            try partition.deleteRecords(below: offset)
        }
    }
}
