import StreamCore
import Logging
package import RecordFormat
package import LogStorage

/// Fetch (API key 1): stored batches from each partition, as they are.
package struct FetchRequest: Sendable {
    /// The server's long poll: how long it may wait for `minBytes` (not used here; see
    /// ``KafkaBroker/readableBytes(_:)`` and ``KafkaBroker/watch(_:callback:)``).
    package var maxWaitMilliseconds: Int32 = 500
    package var minBytes: Int32 = 1
    /// The response's byte budget across partitions.
    package var maxBytes: Int32 = Int32.max
    package var isolationLevel: IsolationLevel
    package var topics: [FetchTopicRequest]
    /// Fetch v0-v2: `maxBytes` and `partitionMaxBytes` are hard limits (a batch larger than
    /// them is never returned). From v3 the first batch of the first partition with data is
    /// returned even when it is larger, so a consumer always makes progress (KIP-74).
    package var maxBytesAreHard = false

    package init(maxWaitMilliseconds: Int32 = 500, minBytes: Int32 = 1, maxBytes: Int32 = Int32.max,
                 isolationLevel: IsolationLevel, topics: [FetchTopicRequest], maxBytesAreHard: Bool = false) {
        self.maxWaitMilliseconds = maxWaitMilliseconds
        self.minBytes = minBytes
        self.maxBytes = maxBytes
        self.isolationLevel = isolationLevel
        self.topics = topics
        self.maxBytesAreHard = maxBytesAreHard
    }
}

package struct FetchTopicRequest: Sendable {
    package var topic: String
    package var partitions: [FetchPartitionRequest]
    package init(topic: String, partitions: [FetchPartitionRequest]) {
        self.topic = topic
        self.partitions = partitions
    }
}

package struct FetchPartitionRequest: Sendable {
    package var partition: Int32
    /// -1, or the leader epoch the client knows; this node's is always 0.
    package var currentLeaderEpoch: Int32 = -1
    package var fetchOffset: Int64
    package var partitionMaxBytes: Int32
    package init(partition: Int32, currentLeaderEpoch: Int32 = -1, fetchOffset: Int64, partitionMaxBytes: Int32) {
        self.partition = partition
        self.currentLeaderEpoch = currentLeaderEpoch
        self.fetchOffset = fetchOffset
        self.partitionMaxBytes = partitionMaxBytes
    }
}

package struct FetchResponse: Sendable {
    package var responses: [FetchTopicResult]
    /// The record bytes of all partitions together.
    package var recordsSizeBytes: Int {
        responses.reduce(0) { $0 + $1.partitions.reduce(0) { $0 + $1.recordsSizeBytes } }
    }
}

extension FetchResponse {
    /// Where each partition answered without error stood: what a long poll watches
    /// (``KafkaBroker/watch(_:callback:)``) when the response has fewer than `minBytes`.
    package var watchedPositions: [WatchedPosition] {
        responses.flatMap { topic -> [WatchedPosition] in
            guard let name = TopicName(rawValue: topic.topic) else { return [] }
            return topic.partitions.filter { $0.errorCode == .none }.map {
                WatchedPosition(TopicPartition(name, PartitionID($0.partitionIndex)),
                                logEndOffset: Offset($0.highWatermark), lastStableOffset: Offset($0.lastStableOffset))
            }
        }
    }
}

package struct FetchTopicResult: Sendable {
    package var topic: String
    package var partitions: [FetchPartitionResult]
}

package struct FetchPartitionResult: Sendable {
    package var partitionIndex: Int32
    package var errorCode: KafkaErrorCode
    /// The log end offset (one node: every appended batch is "replicated"); -1 on an unknown partition.
    package var highWatermark: Int64
    package var lastStableOffset: Int64
    package var logStartOffset: Int64
    /// For read-committed fetches, the aborted transactions overlapping the returned batches
    /// (the client drops a producer's batches from `firstOffset` until its ABORT marker); nil for
    /// read-uncommitted ones, as Kafka sends null.
    package var abortedTransactions: [FetchAbortedTransaction]?
    /// The stored batches, whole and unchanged: the records field is their concatenation.
    package var batches: [RecordBatch]

    package var recordsSizeBytes: Int { batches.reduce(0) { $0 + $1.bytes.count } }

    /// The records field as the wire carries it.
    package var records: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(recordsSizeBytes)
        for batch in batches { bytes.append(contentsOf: batch.bytes) }
        return bytes
    }

    static func failure(_ index: Int32, _ error: KafkaErrorCode, partition: PartitionLog? = nil) -> FetchPartitionResult {
        FetchPartitionResult(
            partitionIndex: index, errorCode: error, highWatermark: partition?.logEndOffset.rawValue ?? -1,
            lastStableOffset: partition?.lastStableOffset.rawValue ?? -1, logStartOffset: partition?.logStartOffset.rawValue ?? -1,
            abortedTransactions: nil, batches: [])
    }
}

package struct FetchAbortedTransaction: Sendable, Equatable {
    package var producerID: Int64
    package var firstOffset: Int64
}

extension KafkaBroker {
    /// Answers Fetch with Kafka's semantics: per partition, whole stored batches from the one
    /// holding `fetchOffset`, up to `partitionMaxBytes` and what is left of `maxBytes`; the first
    /// partition that returns data returns at least one batch even when it is larger than both
    /// (unless ``FetchRequest/maxBytesAreHard``), later ones only what fits. `maxBytes` is capped
    /// at ``KafkaBrokerConfig/fetchResponseBytesMax``. Read-committed
    /// fetches stop at the last stable offset and carry the aborted transactions overlapping
    /// what they return; they may return only markers and aborted batches, which the client skips.
    /// An offset outside `logStartOffset...logEndOffset` is OFFSET_OUT_OF_RANGE, an unknown topic or
    /// partition UNKNOWN_TOPIC_OR_PARTITION, a leader epoch from the future UNKNOWN_LEADER_EPOCH,
    /// a batch damaged on disk CORRUPT_MESSAGE. Never waits: `minBytes`/`maxWaitMilliseconds`
    /// are the server's to apply, with ``readableBytes(_:)`` and ``watch(_:callback:)``.
    package func fetch(_ request: FetchRequest) -> FetchResponse {
        var remaining = min(Int(max(0, request.maxBytes)), config.fetchResponseBytesMax)
        var atLeastOneBatch = !request.maxBytesAreHard
        var responses: [FetchTopicResult] = []
        for topic in request.topics {
            var results: [FetchPartitionResult] = []
            for wanted in topic.partitions {
                let result = fetchPartition(wanted, topic: topic.topic, isolation: request.isolationLevel,
                                            limitBytes: remaining, atLeastOneBatch: atLeastOneBatch)
                let size = result.recordsSizeBytes
                remaining = max(0, remaining - size)
                if size > 0 { atLeastOneBatch = false }
                results.append(result)
            }
            responses.append(FetchTopicResult(topic: topic.topic, partitions: results))
        }
        return FetchResponse(responses: responses)
    }

    private func fetchPartition(
        _ wanted: FetchPartitionRequest, topic: String, isolation: IsolationLevel, limitBytes: Int, atLeastOneBatch: Bool
    ) -> FetchPartitionResult {
        guard let partition = partition(topic: topic, index: wanted.partition) else {
            return .failure(wanted.partition, .unknownTopicOrPartition)
        }
        if wanted.currentLeaderEpoch > 0 {
            return .failure(wanted.partition, .unknownLeaderEpoch, partition: partition)
        }
        let limit = min(Int(max(0, wanted.partitionMaxBytes)), limitBytes)
        if limit == 0 && !atLeastOneBatch {
            var empty = FetchPartitionResult.failure(wanted.partition, .none, partition: partition)
            if isolation == .readCommitted { empty.abortedTransactions = [] }
            return empty
        }
        let fetched: FetchResult
        do {
            fetched = try partition.read(from: Offset(wanted.fetchOffset), maxBytes: max(1, limit), isolation: isolation)
        } catch {
            if error.code != .offsetOutOfRange {
                logger.error("a fetch failed", metadata: ["partition": "\(partition.topicPartition)", "error": "\(error)"])
            }
            return .failure(wanted.partition, KafkaErrorCode(error), partition: partition)
        }
        var batches = fetched.batches
        // The log returns at least one batch; only the first can pass the limit.
        if !atLeastOneBatch, let first = batches.first, first.bytes.count > limit { batches = [] }
        var aborted: [FetchAbortedTransaction]?
        if isolation == .readCommitted {
            let upTo = batches.last?.header.nextOffset ?? Offset(wanted.fetchOffset)
            aborted = fetched.abortedTransactions
                .filter { $0.firstOffset < upTo && $0.lastOffset >= Offset(wanted.fetchOffset) }
                .map { FetchAbortedTransaction(producerID: $0.producerID.rawValue, firstOffset: $0.firstOffset.rawValue) }
        }
        return FetchPartitionResult(
            partitionIndex: wanted.partition, errorCode: .none, highWatermark: fetched.logEndOffset.rawValue,
            lastStableOffset: fetched.lastStableOffset.rawValue, logStartOffset: fetched.logStartOffset.rawValue,
            abortedTransactions: aborted, batches: batches)
    }

    /// How many bytes a Fetch could return now, summed over its partitions (each about exact,
    /// see ``PartitionLog/readableBytes(from:isolation:)``): the server answers at once when it
    /// reaches `minBytes`, and otherwise waits with ``watch(_:callback:)`` until it does or
    /// `maxWaitMilliseconds` pass. Unknown partitions count nothing.
    package func readableBytes(_ request: FetchRequest) -> Int64 {
        var total: Int64 = 0
        for topic in request.topics {
            for wanted in topic.partitions {
                guard let partition = partition(topic: topic.topic, index: wanted.partition) else { continue }
                total += partition.readableBytes(from: Offset(wanted.fetchOffset), isolation: request.isolationLevel)
            }
        }
        return total
    }
}
