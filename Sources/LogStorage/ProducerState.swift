package import StreamCore
import RecordFormat

/// A transaction that ended with an ABORT marker in one partition: its data lies between
/// `firstOffset` and the marker at `lastOffset`, and read-committed readers skip it.
///
/// Kept in `.txnindex` files in Kafka's layout plus a checksum (38 bytes an entry, big-endian):
/// ```
/// | version: i16 = 1 | producerId: i64 | firstOffset: i64 | lastOffset: i64 | lastStableOffset: i64 |
/// | crc32c: u32 (of the 34 bytes before it) |
/// ```
/// The checksum is what lets an open trust a `.txnindex` without reading the `.log`: a rotted
/// producer id or offset would otherwise still decode, and serve an aborted transaction's records
/// as committed. A file with a bad entry (or Kafka's unchecked version-0 entries) is damaged, and
/// rebuilt from the `.log`.
package struct AbortedTransaction: Sendable, Equatable, Hashable {
    package var producerID: ProducerID
    package var firstOffset: Offset
    package var lastOffset: Offset
    package init(producerID: ProducerID, firstOffset: Offset, lastOffset: Offset) {
        self.producerID = producerID
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }

    static let entryBytes = 38
    static let entryVersion: UInt16 = 1

    func encoded(lastStableOffset: Offset) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(AbortedTransaction.entryBytes)
        bytes.appendBigEndian(Int16(AbortedTransaction.entryVersion))
        bytes.appendBigEndian(producerID.rawValue)
        bytes.appendBigEndian(firstOffset.rawValue)
        bytes.appendBigEndian(lastOffset.rawValue)
        bytes.appendBigEndian(lastStableOffset.rawValue)
        bytes.appendBigEndian(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes a `.txnindex` file, or nil when it is damaged.
    static func decodeIndex(_ bytes: [UInt8]) -> [AbortedTransaction]? {
        guard bytes.count % entryBytes == 0 else { return nil }
        var result: [AbortedTransaction] = []
        var cursor = 0
        while cursor < bytes.count {
            guard bytes.readBigEndianUInt16(at: cursor) == entryVersion,
                  bytes.readBigEndianUInt32(at: cursor + 34) == CRC32C.checksum(bytes[cursor..<cursor + 34])
            else { return nil }
            let producer = Int64(bitPattern: bytes.readBigEndianUInt64(at: cursor + 2))
            let first = Int64(bitPattern: bytes.readBigEndianUInt64(at: cursor + 10))
            let last = Int64(bitPattern: bytes.readBigEndianUInt64(at: cursor + 18))
            guard producer >= 0, first >= 0, last >= first else { return nil }
            result.append(AbortedTransaction(producerID: ProducerID(producer), firstOffset: Offset(first), lastOffset: Offset(last)))
            cursor += entryBytes
        }
        return result
    }
}

/// What one producer has written to one partition.
struct ProducerStateEntry: Equatable {
    /// A batch kept to recognise a retried duplicate.
    struct BatchMetadata: Equatable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Offset
        var lastOffset: Offset
    }

    var epoch: ProducerEpoch
    var lastSequence: Int32 = -1
    /// The log's wall clock at this producer's last append here (`.none` while unknown: replayed
    /// by recovery, until recovery stamps it), which producer expiry measures idleness from.
    var lastAppendTimestamp: Timestamp = .none
    /// The last few batches, newest last (Kafka keeps five).
    var recentBatches: [BatchMetadata] = []
    /// The first offset of this producer's open transaction in the partition.
    var ongoingTransactionFirstOffset: Offset?

    static let recentBatchesMax = 5
}

/// What to do with a batch, decided before it is written.
enum ProducerAppendDecision: Equatable {
    case append
    /// A retry of a batch already in the log: acknowledge it with its original offsets.
    case duplicate(AppendResult)
    /// A marker for a transaction that is already complete here (a recovery rewrite).
    case markerAlreadyApplied
}

/// The producer state of one partition: sequences for idempotence, open transactions for the
/// last stable offset, aborted transactions for read-committed reads.
///
/// A pure state machine: ``decide(_:)`` checks a batch before it is written and
/// ``apply(_:marker:)`` folds in a batch after it is written (or found by recovery).
///
/// - Invariant: the last stable offset is the smallest first offset of an open transaction, or
///   the log end when none is open.
/// - Invariant: a producer's sequences in a partition increase by one per record, without gaps,
///   within an epoch; an epoch never goes back (while the partition knows the producer).
///
/// Expiry forgets idle producers (``expireProducers(idleBefore:)``). A transactional producer the
/// partition does not know (new, or expired) may start at any sequence, since the coordinator
/// checks its epoch before each of its writes (the transactional producer asks before every
/// batch) and records the partition before the first; a non-transactional one must start at 0.
/// So the partition's own fencing, by the epoch of the markers it holds, is a second line that
/// lasts while it remembers the producer; the coordinator's is the one that lasts.
struct ProducerStateMachine: Equatable {
    private(set) var producers: [ProducerID: ProducerStateEntry] = [:]
    /// Aborted transactions, in the order of their markers.
    private(set) var aborted: [AbortedTransaction] = []

    /// Checks a batch against the producer's state.
    /// - Throws: `.producerFenced` for an older epoch, `.outOfOrderSequence` for a gap or a
    ///   sequence that does not start a new epoch at 0, `.invalidBatch` for a non-transactional
    ///   write inside an open transaction.
    func decide(_ header: RecordBatchHeader, partition: TopicPartition) throws(LogError) -> ProducerAppendDecision {
        let producer = header.producerID
        guard producer.rawValue >= 0 else {
            if header.isTransactional || header.isControl {
                throw LogError(.invalidBatch, "a transactional or control batch for \(partition) has no producer id")
            }
            return .append
        }
        let entry = producers[producer]
        if let entry, header.producerEpoch < entry.epoch {
            throw LogError(.producerFenced, "producer \(producer) with epoch \(header.producerEpoch) is fenced by epoch \(entry.epoch) in \(partition)")
        }
        if header.isControl {
            // A marker under a newer epoch is always written: it fences the old epoch here even
            // when the old producer never wrote here. A marker for a transaction that is not open
            // under the same epoch is a recovery rewrite of one already applied.
            if let entry, header.producerEpoch == entry.epoch, entry.ongoingTransactionFirstOffset == nil {
                return .markerAlreadyApplied
            }
            return .append
        }
        let lastSequence = header.baseSequence &+ (header.lastOffsetDelta)
        if let entry, header.producerEpoch == entry.epoch {
            if let previous = entry.recentBatches.first(where: { $0.firstSequence == header.baseSequence && $0.lastSequence == lastSequence }) {
                return .duplicate(AppendResult(baseOffset: previous.firstOffset, lastOffset: previous.lastOffset))
            }
            let expected = entry.lastSequence == Int32.max ? 0 : entry.lastSequence + 1
            guard header.baseSequence == expected else {
                throw LogError(.outOfOrderSequence, "producer \(producer) epoch \(header.producerEpoch) sent sequence \(header.baseSequence) to \(partition), expected \(expected)")
            }
            if !header.isTransactional && entry.ongoingTransactionFirstOffset != nil {
                throw LogError(.invalidBatch, "producer \(producer) wrote a non-transactional batch to \(partition) inside an open transaction")
            }
        } else {
            guard header.baseSequence == 0 || (entry == nil && header.isTransactional) else {
                throw LogError(.outOfOrderSequence, "producer \(producer) epoch \(header.producerEpoch) must start \(partition) at sequence 0, sent \(header.baseSequence)")
            }
            if let entry, let open = entry.ongoingTransactionFirstOffset {
                throw LogError(.invalidBatch, "producer \(producer) started epoch \(header.producerEpoch) in \(partition) while its transaction from offset \(open) is open")
            }
        }
        return .append
    }

    /// Folds in a batch now in the log (with its final offsets); `marker` is its control record
    /// when it is a control batch; `appendedAt` is the log's wall clock at the append (`.none`
    /// when recovery replays the batch).
    /// - Returns: the aborted transaction an ABORT marker closed, for the `.txnindex`.
    @discardableResult
    mutating func apply(_ header: RecordBatchHeader, marker: ControlRecordType?, appendedAt: Timestamp = .none) -> AbortedTransaction? {
        let producer = header.producerID
        guard producer.rawValue >= 0 else { return nil }
        var entry = producers[producer] ?? ProducerStateEntry(epoch: header.producerEpoch)
        entry.lastAppendTimestamp = appendedAt
        if header.producerEpoch > entry.epoch {
            // A new epoch (from the producer, or a marker written by the coordinator after it
            // fenced the old one) restarts sequences at 0.
            entry.epoch = header.producerEpoch
            entry.lastSequence = -1
            entry.recentBatches = []
        }
        var closed: AbortedTransaction?
        if header.isControl {
            if let first = entry.ongoingTransactionFirstOffset, marker == .abort {
                closed = AbortedTransaction(producerID: producer, firstOffset: first, lastOffset: header.baseOffset)
                aborted.append(closed!)
            }
            entry.ongoingTransactionFirstOffset = nil
        } else {
            entry.lastSequence = header.baseSequence &+ header.lastOffsetDelta
            entry.recentBatches.append(.init(firstSequence: header.baseSequence, lastSequence: entry.lastSequence,
                                             firstOffset: header.baseOffset, lastOffset: header.lastOffset))
            if entry.recentBatches.count > ProducerStateEntry.recentBatchesMax { entry.recentBatches.removeFirst() }
            if header.isTransactional && entry.ongoingTransactionFirstOffset == nil {
                entry.ongoingTransactionFirstOffset = header.baseOffset
            }
        }
        producers[producer] = entry
        return closed
    }

    /// The first offset of the oldest open transaction, if any.
    var firstUnstableOffset: Offset? {
        producers.values.compactMap(\.ongoingTransactionFirstOffset).min()
    }

    /// Drops aborted transactions that end before `offset` (after retention).
    mutating func forgetAborted(before offset: Offset) {
        aborted.removeAll { $0.lastOffset < offset }
    }

    /// Drops the aborted transactions whose markers are at `markers` (the cleaner removed them,
    /// after their data).
    mutating func forgetAborted(endingAt markers: Set<Offset>) {
        aborted.removeAll { markers.contains($0.lastOffset) }
    }

    /// Forgets every producer whose last append here was before `cutoff` and that has no
    /// transaction open here.
    /// - Returns: the producers forgotten.
    mutating func expireProducers(idleBefore cutoff: Timestamp) -> [ProducerID] {
        let expired = producers.filter { $0.value.ongoingTransactionFirstOffset == nil && $0.value.lastAppendTimestamp < cutoff }.keys
        for producer in expired { producers[producer] = nil }
        return expired.sorted()
    }

    /// Gives the producers recovery replayed (whose append time the log does not keep) the time
    /// of the recovery: expiry then counts their idleness from the restart, never from before.
    mutating func stampReplayedProducers(at now: Timestamp) {
        for (producer, entry) in producers where entry.lastAppendTimestamp == .none {
            producers[producer]?.lastAppendTimestamp = now
        }
    }

    mutating func setAborted(_ list: [AbortedTransaction]) { aborted = list }

    /// The aborted transactions that overlap `from..<upTo`.
    func abortedTransactions(from: Offset, upTo: Offset) -> [AbortedTransaction] {
        aborted.filter { $0.lastOffset >= from && $0.firstOffset < upTo }
    }

    mutating func setEntry(_ producer: ProducerID, _ entry: ProducerStateEntry) { producers[producer] = entry }

    /// The epoch and last sequence a producer has in this partition.
    func entry(for producer: ProducerID) -> ProducerStateEntry? { producers[producer] }
}
