package import StreamCore

/// One consumer group's lag in one partition: what a reader at the group's committed offset
/// has yet to read, in data records (``PartitionLog/dataRecordCount(from:isolation:)``).
///
/// Thread-safety: a value.
package struct ConsumerLag: Sendable, Equatable {
    package var group: String
    package var topicPartition: TopicPartition
    /// The group's committed offset (the next record it reads).
    package var committedOffset: Offset
    /// Where the reader's view ends: the last stable offset read-committed, else the log end.
    package var endOffset: Offset
    /// Data records in [``committedOffset``, ``endOffset``): markers and, read-committed,
    /// aborted records are not counted.
    package var lagRecords: Int64

    package init(group: String, topicPartition: TopicPartition, committedOffset: Offset, endOffset: Offset, lagRecords: Int64) {
        self.group = group
        self.topicPartition = topicPartition
        self.committedOffset = committedOffset
        self.endOffset = endOffset
        self.lagRecords = lagRecords
    }

    /// The lag of every group with committed offsets in `log` (pipelines and Kafka clients
    /// alike), or of `group` alone, sorted by group then partition. A committed offset of a topic
    /// that no longer exists is left out.
    /// - Throws: a storage failure while reading a partition's batch headers.
    package static func all(in log: LogManager, group: String? = nil, isolation: IsolationLevel = .readCommitted) throws(LogError) -> [ConsumerLag] {
        var result: [ConsumerLag] = []
        let groups = group.map { [$0] } ?? log.offsets.groupNames()
        for name in groups {
            for (topicPartition, committed) in log.offsets.committedOffsets(group: name).sorted(by: { $0.key < $1.key }) {
                guard log.hasTopic(topicPartition.topic), let partition = try? log.partition(topicPartition) else { continue }
                let (lag, end) = try partition.dataRecordCount(from: committed.offset, isolation: isolation)
                result.append(ConsumerLag(group: name, topicPartition: topicPartition, committedOffset: committed.offset,
                                          endOffset: end, lagRecords: lag))
            }
        }
        return result
    }
}
