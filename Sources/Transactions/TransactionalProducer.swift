package import StreamCore
import RecordFormat
package import LogStorage

/// A producer whose writes, and the consumed offsets it sends, commit or abort together.
///
/// Usage: ``initTransactions()`` once (fencing any previous holder of the transactional id), then
/// per transaction ``beginTransaction()``, ``send(topic:key:value:headers:timestamp:partition:)``
/// and ``sendOffsets(_:group:)``, and ``commitTransaction()`` or ``abortTransaction()``.
///
/// Records are batched per partition; before a batch is first written to a partition, the
/// coordinator records that partition durably. Every batch carries the producer id, epoch and a
/// per-partition sequence number, so a retried batch is recognised and a zombie is refused.
///
/// - Invariant: nothing is written to a partition before it is a durable participant.
/// Thread-safety: one owner thread.
package final class TransactionalProducer {
    package let transactionalID: String
    private let log: LogManager
    private let coordinator: TransactionCoordinator
    private let batchBytesMax: Int
    package private(set) var producerID = ProducerID.none
    package private(set) var producerEpoch = ProducerEpoch.none
    private var sequences: [TopicPartition: Int32] = [:]
    private var open: [TopicPartition: RecordBatchBuilder] = [:]
    private var participants: Set<TopicPartition> = []
    private var pendingOffsets: [(group: String, offsets: [TopicPartition: CommittedOffset])] = []
    private var inTransaction = false
    /// The data batches the open transaction appended, as offset ranges per partition in append
    /// order (the consumed-offsets batches not included); see ``appendedRanges``.
    private var appended: [AppendedRange] = []
    /// Topics looked up once (a deleted topic fails at append time instead).
    private var topics: [TopicName: Topic] = [:]
    /// Spreads keyless records round-robin (deterministically, for replayable simulations).
    private var keylessCounter: UInt64 = 0
    private var crashPoints: CrashPoints { log.options.crashPoints }

    package init(log: LogManager, coordinator: TransactionCoordinator, transactionalID: String, batchBytesMax: Int = 256 << 10) {
        self.log = log
        self.coordinator = coordinator
        self.transactionalID = transactionalID
        self.batchBytesMax = batchBytesMax
    }

    /// Takes over the transactional id: gets a producer id and a new epoch, and lets the
    /// coordinator finish whatever the previous holder left open.
    package func initTransactions(timeoutMilliseconds: Int32? = nil) throws(TransactionError) {
        (producerID, producerEpoch) = try coordinator.initTransactions(transactionalID: transactionalID, timeoutMilliseconds: timeoutMilliseconds)
        sequences = [:]
        open = [:]
        participants = []
        appended = []
        inTransaction = false
    }

    package func beginTransaction() throws(TransactionError) {
        guard producerID != .none else { throw TransactionError(.invalidState, "call initTransactions before beginTransaction") }
        guard !inTransaction else { throw TransactionError(.invalidState, "a transaction is already open") }
        inTransaction = true
        participants = []
        pendingOffsets = []
        appended = []
    }

    /// Adds a record to the transaction. Keyed records go where Kafka's partitioner puts them.
    package func send(
        topic: TopicName, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
        timestamp: Timestamp? = nil, partition explicitPartition: PartitionID? = nil
    ) throws(TransactionError) {
        guard inTransaction else { throw TransactionError(.invalidState, "send outside a transaction") }
        let target: Topic
        if let known = topics[topic] {
            target = known
        } else {
            target = try logCall { () throws(LogError) in try log.topic(topic) }
            topics[topic] = target
        }
        let partition: PartitionID
        if let explicitPartition {
            _ = try logCall { () throws(LogError) in try target.partition(explicitPartition) }
            partition = explicitPartition
        } else if let key {
            partition = Murmur2Partitioner.partition(forKey: key, partitionCount: target.partitionCount)
        } else {
            keylessCounter &+= 1
            partition = PartitionID(Int(keylessCounter % UInt64(target.partitionCount)))
        }
        let topicPartition = TopicPartition(topic, partition)
        // Taken out of the dictionary so the builder's buffer is uniquely referenced: appending
        // to a copy still held by `open` would copy the whole batch on every record.
        var builder = open.removeValue(forKey: topicPartition) ?? RecordBatchBuilder(
            codec: target.config.compression.codec ?? .none, producerID: producerID, producerEpoch: producerEpoch,
            baseSequence: sequences[topicPartition] ?? 0, isTransactional: true)
        // An upper bound of the record's encoded size: varints and attributes take at most 36
        // bytes, each header at most 10 more than its key and value.
        let recordBytes = (key?.count ?? 0) + (value?.count ?? 0) + 40
            + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 10 }
        if !builder.isEmpty && builder.estimatedSizeBytes + recordBytes > min(batchBytesMax, target.config.batchBytesMax) {
            open[topicPartition] = builder
            try flush([topicPartition])
            builder = RecordBatchBuilder(
                codec: target.config.compression.codec ?? .none, producerID: producerID, producerEpoch: producerEpoch,
                baseSequence: sequences[topicPartition] ?? 0, isTransactional: true)
        }
        builder.append(key: key, value: value, headers: headers, timestamp: timestamp ?? log.clock.now())
        open[topicPartition] = builder
    }

    /// Adds consumed offsets (each the next offset to read) to the transaction: they become the
    /// group's committed offsets exactly when the transaction commits.
    package func sendOffsets(_ offsets: [TopicPartition: Offset], group: String) throws(TransactionError) {
        guard inTransaction else { throw TransactionError(.invalidState, "sendOffsets outside a transaction") }
        guard !offsets.isEmpty else { return }
        let now = log.clock.now()
        let committed = offsets.mapValues { CommittedOffset(offset: $0, commitTimestamp: now) }
        let partition = log.offsets.partition(forGroup: group)
        let topicPartition = partition.topicPartition
        try register([topicPartition])
        var builder = RecordBatchBuilder(producerID: producerID, producerEpoch: producerEpoch,
                                         baseSequence: sequences[topicPartition] ?? 0, isTransactional: true)
        for record in ConsumerOffsets.offsetRecords(group: group, offsets: committed) {
            builder.append(key: record.key, value: record.value, headers: [], timestamp: now)
        }
        try append(builder, to: partition)
        log.offsets.stage(group: group, offsets: committed, producerID: producerID)
        crashPoints.reached(.afterOffsetsAppend)
    }

    /// Writes what is buffered and commits the transaction.
    package func commitTransaction() throws(TransactionError) {
        guard inTransaction else { throw TransactionError(.invalidState, "commit outside a transaction") }
        try flush(Array(open.keys))
        try coordinator.endTransaction(transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch, commit: true)
        inTransaction = false
    }

    /// Appends every record buffered so far, making `also` participants in the same
    /// registration (one coordinator write for both), so that ``appendedRanges`` covers every
    /// record the transaction sent. The audit trail calls it before it sends the transaction's
    /// last record to an `also` partition.
    package func flushBuffered(registeringAlso also: [TopicPartition] = []) throws(TransactionError) {
        guard inTransaction else { throw TransactionError(.invalidState, "flush outside a transaction") }
        let pending = open.keys.filter { open[$0]?.isEmpty == false }
        let partitions = Set(pending).union(also)
        if !partitions.isEmpty { try register(partitions) }
        try flush(pending)
    }

    /// The data records the open transaction appended so far (buffered ones not included), as
    /// half-open offset ranges: per partition in append order, adjacent batches merged into one
    /// range. Batches of other producers between two of its batches split the ranges.
    package var appendedRanges: [AppendedRange] { appended }

    /// Drops what is buffered and aborts what was written.
    package func abortTransaction() throws(TransactionError) {
        guard inTransaction else { return }
        open = [:]
        inTransaction = false
        try coordinator.endTransaction(transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch, commit: false)
    }

    /// Records of the current transaction not yet written.
    package var bufferedRecordCount: Int { open.values.reduce(0) { $0 + $1.recordCount } }

    // MARK: Writing

    private func flush(_ partitions: [TopicPartition]) throws(TransactionError) {
        let pending = partitions.filter { open[$0]?.isEmpty == false }.sorted()
        guard !pending.isEmpty else { return }
        try register(Set(pending))
        for topicPartition in pending {
            guard let builder = open.removeValue(forKey: topicPartition) else { continue }
            let partition = try logCall { () throws(LogError) in try log.partition(topicPartition) }
            let result = try append(builder, to: partition)
            noteAppended(topicPartition, from: result.baseOffset, to: result.lastOffset + 1)
            crashPoints.reached(.afterDataAppend)
        }
    }

    /// Makes partitions durable participants before the transaction's first write to them, and
    /// has the coordinator check the producer's epoch before every write (in memory, without I/O
    /// when nothing is new): a zombie whose transaction was aborted, or whose transactional id
    /// expired, is refused here even where a partition has forgotten its producer id.
    private func register(_ partitions: Set<TopicPartition>) throws(TransactionError) {
        let new = partitions.subtracting(participants)
        try coordinator.addPartitions(transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch,
                                      partitions: new.isEmpty ? partitions : new)
        participants.formUnion(new)
    }

    /// Records that the transaction's batch took offsets `from..<to` of `topicPartition`, merged
    /// into the partition's last range when it ends where this one starts.
    private func noteAppended(_ topicPartition: TopicPartition, from: Offset, to: Offset) {
        if let last = appended.lastIndex(where: { $0.topicPartition == topicPartition }), appended[last].to == from {
            appended[last].to = to
        } else {
            appended.append(AppendedRange(topicPartition: topicPartition, from: from, to: to))
        }
    }

    @discardableResult
    private func append(_ builder: RecordBatchBuilder, to partition: PartitionLog) throws(TransactionError) -> AppendResult {
        let batch: [UInt8]
        do { batch = try builder.build() } catch { throw TransactionError(.log, "encoding a batch for \(partition.topicPartition): \(error)") }
        let result = try logCall { () throws(LogError) in try partition.append(batch) }
        let next = (sequences[partition.topicPartition] ?? 0) &+ Int32(builder.recordCount)
        sequences[partition.topicPartition] = next < 0 ? next & Int32.max : next
        return result
    }
}

/// Offsets `from..<to` of one partition that a transaction's data batches took.
package struct AppendedRange: Sendable, Equatable {
    package var topicPartition: TopicPartition
    /// The first offset of the first batch.
    package var from: Offset
    /// One past the last offset of the last batch.
    package var to: Offset
}
