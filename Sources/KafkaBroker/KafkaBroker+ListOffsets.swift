import StreamCore
import RecordFormat
package import LogStorage

/// ListOffsets (API key 2): an offset per partition, by timestamp or by a special value.
package struct ListOffsetsRequest: Sendable {
    package var isolationLevel: IsolationLevel
    package var topics: [ListOffsetsTopicRequest]
    package init(isolationLevel: IsolationLevel, topics: [ListOffsetsTopicRequest]) {
        self.isolationLevel = isolationLevel
        self.topics = topics
    }

    /// The latest offset (the LSO for read-committed requests).
    package static let latestTimestamp: Int64 = -1
    /// The log start offset.
    package static let earliestTimestamp: Int64 = -2
    /// The offset (and timestamp) of the record with the largest timestamp (v7+).
    package static let maxTimestamp: Int64 = -3
    /// The earliest offset kept locally (v8+): the log start offset, without tiered storage.
    package static let earliestLocalTimestamp: Int64 = -4
}

package struct ListOffsetsTopicRequest: Sendable {
    package var name: String
    package var partitions: [ListOffsetsPartitionRequest]
    package init(name: String, partitions: [ListOffsetsPartitionRequest]) {
        self.name = name
        self.partitions = partitions
    }
}

package struct ListOffsetsPartitionRequest: Sendable {
    package var partitionIndex: Int32
    package var currentLeaderEpoch: Int32 = -1
    /// A timestamp in milliseconds, or one of ``ListOffsetsRequest``'s special values.
    package var timestamp: Int64
    package init(partitionIndex: Int32, currentLeaderEpoch: Int32 = -1, timestamp: Int64) {
        self.partitionIndex = partitionIndex
        self.currentLeaderEpoch = currentLeaderEpoch
        self.timestamp = timestamp
    }
}

package struct ListOffsetsResponse: Sendable, Equatable {
    package var topics: [ListOffsetsTopicResult]
}

package struct ListOffsetsTopicResult: Sendable, Equatable {
    package var name: String
    package var partitions: [ListOffsetsPartitionResult]
}

package struct ListOffsetsPartitionResult: Sendable, Equatable {
    package var partitionIndex: Int32
    package var errorCode: KafkaErrorCode
    /// -1 for the special values, and when nothing was found.
    package var timestamp: Int64
    /// -1 when no record has a timestamp at or after the one asked for.
    package var offset: Int64
    package var leaderEpoch: Int32
}

extension KafkaBroker {
    /// Answers ListOffsets as Kafka does: earliest (-2, and -4) is the log start offset; latest
    /// (-1) the log end offset, or the last stable offset for read-committed requests, which is
    /// exactly where a read-committed reader's reads end; a timestamp the first offset whose
    /// record's timestamp is at or after it, with that timestamp (-1/-1 when there is none, or
    /// when it lies at or past the LSO for read-committed requests); max timestamp (-3) the
    /// first record with the largest timestamp. Unknown partitions are
    /// UNKNOWN_TOPIC_OR_PARTITION, a leader epoch from the future UNKNOWN_LEADER_EPOCH, other
    /// negative timestamps INVALID_REQUEST.
    package func listOffsets(_ request: ListOffsetsRequest) -> ListOffsetsResponse {
        ListOffsetsResponse(topics: request.topics.map { topic in
            ListOffsetsTopicResult(name: topic.name, partitions: topic.partitions.map {
                listOffset($0, topic: topic.name, isolation: request.isolationLevel)
            })
        })
    }

    private func listOffset(_ wanted: ListOffsetsPartitionRequest, topic: String, isolation: IsolationLevel) -> ListOffsetsPartitionResult {
        func failure(_ error: KafkaErrorCode) -> ListOffsetsPartitionResult {
            ListOffsetsPartitionResult(partitionIndex: wanted.partitionIndex, errorCode: error, timestamp: -1, offset: -1, leaderEpoch: -1)
        }
        func found(_ offset: Offset?, _ timestamp: Timestamp = .none) -> ListOffsetsPartitionResult {
            ListOffsetsPartitionResult(partitionIndex: wanted.partitionIndex, errorCode: .none,
                                       timestamp: offset == nil ? -1 : timestamp.rawValue, offset: offset?.rawValue ?? -1, leaderEpoch: 0)
        }
        guard let partition = partition(topic: topic, index: wanted.partitionIndex) else { return failure(.unknownTopicOrPartition) }
        if wanted.currentLeaderEpoch > 0 { return failure(.unknownLeaderEpoch) }
        let fetchable = isolation == .readCommitted ? partition.lastStableOffset : partition.logEndOffset
        switch wanted.timestamp {
        case ListOffsetsRequest.earliestTimestamp, ListOffsetsRequest.earliestLocalTimestamp:
            return found(partition.logStartOffset)
        case ListOffsetsRequest.latestTimestamp:
            return found(fetchable)
        case ListOffsetsRequest.maxTimestamp:
            let max = partition.maxTimestamp
            guard max != .none else { return found(nil) }
            return lookUp(max, in: partition, below: fetchable, found: found, failure: failure)
        case let timestamp where timestamp >= 0:
            return lookUp(Timestamp(milliseconds: timestamp), in: partition, below: fetchable, found: found, failure: failure)
        default:
            return failure(.invalidRequest)
        }
    }

    private func lookUp(
        _ timestamp: Timestamp, in partition: PartitionLog, below fetchable: Offset,
        found: (Offset?, Timestamp) -> ListOffsetsPartitionResult, failure: (KafkaErrorCode) -> ListOffsetsPartitionResult
    ) -> ListOffsetsPartitionResult {
        do {
            guard let offset = try partition.offset(forTimestamp: timestamp), offset < fetchable else { return found(nil, .none) }
            return found(offset, try recordTimestamp(at: offset, in: partition) ?? timestamp)
        } catch {
            return failure(KafkaErrorCode(error))
        }
    }

    /// The timestamp of the record at `offset`.
    private func recordTimestamp(at offset: Offset, in partition: PartitionLog) throws(LogError) -> Timestamp? {
        let fetched = try partition.read(from: offset, maxBytes: 1)
        guard let batch = fetched.batches.first, let records = try? batch.records() else { return nil }
        return records.first { $0.offset == offset }?.timestamp
    }
}
