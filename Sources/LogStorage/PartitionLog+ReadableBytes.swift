package import StreamCore

extension PartitionLog {
    /// About how many bytes of batches a read from `offset` could return now (up to the last
    /// stable offset for read-committed readers, the log end otherwise), without reading any:
    /// what a Kafka Fetch's `min_bytes` is compared with.
    ///
    /// Computed from segment sizes and the sparse offset indexes, so it is exact to within one
    /// index interval (``TopicConfig/indexIntervalBytes``) at either end; it is 0 exactly when
    /// nothing is readable from `offset` (or `offset` is outside the log), and at least 1 otherwise.
    /// - Complexity: O(log n) in the index entries plus O(segments after `offset`).
    package func readableBytes(from offset: Offset, isolation: IsolationLevel) -> Int64 {
        lock.lock(); defer { lock.unlock() }
        let start = max(segments[0].baseOffset, recordsStartOffset)
        let end = segments[segments.count - 1].nextOffset
        let upTo = isolation == .readCommitted ? (producerState.firstUnstableOffset ?? end) : end
        guard offset >= start, offset < upTo else { return 0 }
        var total: Int64 = 0
        for segment in segments where segment.nextOffset > offset && segment.baseOffset < upTo {
            let from = segment.baseOffset < offset ? segment.indexEntry(for: offset).position : 0
            let to = upTo < segment.nextOffset ? segment.indexEntry(for: upTo).position : segment.sizeBytes
            total += max(0, to - from)
        }
        return max(1, total)
    }

    /// The largest record timestamp in the partition, or `.none` when it holds no record.
    package var maxTimestamp: Timestamp {
        lock.lock(); defer { lock.unlock() }
        return segments.map(\.maxTimestamp).max() ?? .none
    }
}
