package import StreamCore
import RecordFormat
package import LogStorage
import Logging

/// Coordinator settings.
package struct TransactionCoordinatorConfig: Sendable {
    /// Partitions of `__transaction_state` (fixed once created).
    package var transactionLogPartitions = 4
    /// The default transaction timeout: a transaction open longer (on the monotonic clock) is
    /// aborted.
    package var defaultTimeoutMilliseconds: Int32 = 60_000
    /// Producer ids are reserved durably in blocks of this many.
    package var producerIDBlockSize: Int64 = 1000
    /// A transactional id with nothing open that was last used this long ago (wall clock) is
    /// forgotten, durably (Kafka's `transactional.id.expiration.ms`, default 7 days).
    package var transactionalIDExpirationMilliseconds: Int64 = 7 * 24 * 3_600_000
    package init() {}
}

/// The transaction coordinator: hands out producer ids and epochs, and drives every
/// transaction through the two-phase protocol, logging each state in `__transaction_state`.
///
/// ```
/// addPartitions ── Ongoing (synced) ── data appended to participants
/// commit: sync participants ─ PrepareCommit (synced: the commit point) ─ COMMIT marker into every
///         participant ─ sync them ─ CompleteCommit           (abort: the same with ABORT)
/// ```
/// Recovery (on open) replays the transaction log: PrepareCommit/PrepareAbort → write the markers
/// again (idempotent: a partition that already has it ignores it) and complete; Ongoing → abort
/// with a bumped epoch, which fences the dead holder for good.
///
/// Timeouts run on the monotonic clock (``TransactionDeadlines``); wall time is only recorded.
/// The coordinator installs its sweep as a maintenance task of the log, so every process that
/// holds the data directory and runs the log's maintenance aborts timed-out transactions and
/// expires idle transactional ids: ``abortExpiredTransactions()`` and
/// ``expireTransactionalIDs()``.
///
/// - Invariant: a participant is durable in the transaction log before any of the transaction's
///   data is written to it; the data is durable before PrepareCommit; PrepareCommit is durable
///   before any marker; markers are durable before CompleteCommit.
/// - Invariant: a producer whose epoch is older than the coordinator's is refused (fenced).
/// Thread-safety: safe from any thread; every operation holds the coordinator lock, except the
/// sync of a committing transaction's data (see ``endTransaction(transactionalID:producerID:producerEpoch:commit:)``).
package final class TransactionCoordinator: @unchecked Sendable {
    package static let topicName = TopicName(rawValue: "__transaction_state")!

    private let log: LogManager
    private let config: TransactionCoordinatorConfig
    private let topic: Topic
    /// The transaction log's partitions, all opened at init (the coordinator loads every one).
    private let partitions: [PartitionLog]
    private let lock = Lock()
    private var transactions: [String: TransactionMetadata] = [:]
    private var deadlines = TransactionDeadlines()
    private var nextProducerID: Int64 = 0
    private var producerIDBlockEnd: Int64 = 0
    private var crashPoints: CrashPoints { log.options.crashPoints }

    /// Opens the coordinator over a data directory: loads `__transaction_state` (creating it when
    /// missing), completes or aborts whatever a crash left unfinished, expires idle transactional
    /// ids, and installs its sweep among the log's maintenance tasks.
    package init(log: LogManager, config: TransactionCoordinatorConfig = TransactionCoordinatorConfig()) throws(TransactionError) {
        self.log = log
        self.config = config
        if log.hasTopic(TransactionCoordinator.topicName) {
            topic = try logCall { () throws(LogError) in try log.topic(TransactionCoordinator.topicName) }
        } else {
            var topicConfig = TopicConfig.compacted(partitionCount: config.transactionLogPartitions)
            topicConfig.segmentBytesMax = log.options.internalSegmentBytesMax
            topicConfig.batchBytesMax = min(topicConfig.batchBytesMax, log.options.internalSegmentBytesMax)
            topic = try logCall { () throws(LogError) in try log.createTopic(TransactionCoordinator.topicName, config: topicConfig) }
        }
        let topic = self.topic
        partitions = try logCall { () throws(LogError) in try topic.partitions }
        try loadUntilStable()
        try recover()
        try expireTransactionalIDs()
        log.setMaintenanceTask(Self.maintenanceTaskName) { [weak self] in
            guard let self else { return }
            try self.abortExpiredTransactions()
            try self.expireTransactionalIDs()
        }
    }

    /// The name of the coordinator's sweep among the log's maintenance tasks.
    package static let maintenanceTaskName = "transaction-coordinator"

    // MARK: Loading and recovery

    /// Loads twice or more until two passes agree (see ConsumerOffsets: offsets are outside the
    /// batch CRC, and a compacted topic has gaps that hide a misread one).
    private func loadUntilStable() throws(TransactionError) {
        var previous: ([String: TransactionMetadata], Int64)?
        for _ in 0..<5 {
            transactions = [:]
            producerIDBlockEnd = 0
            try load()
            if let previous, previous.0 == transactions, previous.1 == producerIDBlockEnd { return }
            previous = (transactions, producerIDBlockEnd)
        }
    }

    private func load() throws(TransactionError) {
        for partition in partitions {
            var offset = partition.logStartOffset
            while offset < partition.logEndOffset {
                let fetched = try logCall { () throws(LogError) in try partition.read(from: offset, maxBytes: 4 << 20) }
                guard let last = fetched.batches.last else { break }
                for batch in fetched.batches where !batch.header.isControl {
                    guard let records = try? batch.records() else {
                        throw TransactionError(.log, "unreadable batch in \(partition.topicPartition) at offset \(batch.header.baseOffset)")
                    }
                    for record in records where record.offset >= offset { fold(record) }
                }
                offset = last.header.lastOffset + 1
            }
        }
        nextProducerID = producerIDBlockEnd
    }

    private func fold(_ record: Record) {
        guard let keyBytes = record.key, let key = TransactionLogFormat.decodeKey(keyBytes) else { return }
        switch key {
        case .producerIDBlock:
            if let value = record.value, let end = TransactionLogFormat.decodeProducerIDBlock(value) {
                producerIDBlockEnd = max(producerIDBlockEnd, end)
            }
        case .transaction(let id):
            if let value = record.value, let metadata = TransactionLogFormat.decodeValue(value, transactionalID: id) {
                transactions[id] = metadata
                producerIDBlockEnd = max(producerIDBlockEnd, metadata.producerID.rawValue + 1)
            } else if record.value == nil {
                transactions[id] = nil
            }
        }
    }

    private func recover() throws(TransactionError) {
        lock.lock(); defer { lock.unlock() }
        for id in transactions.keys.sorted() {
            guard let metadata = transactions[id] else { continue }
            switch metadata.state {
            case .prepareCommit, .prepareAbort:
                try complete(metadata)
            case .ongoing:
                try abortWithNewEpoch(metadata)
            case .empty, .completeCommit, .completeAbort:
                break
            }
        }
    }

    // MARK: Producer ids and epochs

    /// Registers (or re-registers) a transactional id: finishes whatever its previous holder left
    /// open (completing a prepared transaction, aborting an ongoing one), bumps the epoch so the
    /// previous holder is fenced for good, and returns the id and epoch to use.
    package func initTransactions(transactionalID: String, timeoutMilliseconds: Int32? = nil) throws(TransactionError) -> (ProducerID, ProducerEpoch) {
        guard !transactionalID.isEmpty else { throw TransactionError(.invalidState, "a transactional id must not be empty") }
        lock.lock(); defer { lock.unlock() }
        let timeout = timeoutMilliseconds ?? config.defaultTimeoutMilliseconds
        let now = log.clock.now()
        guard var metadata = transactions[transactionalID] else {
            let producer = try allocateProducerIDLocked()
            let fresh = TransactionMetadata(transactionalID: transactionalID, producerID: producer, producerEpoch: ProducerEpoch(0),
                                            timeoutMilliseconds: timeout, state: .empty, lastUpdateTimestamp: now)
            try persist(fresh, sync: true)
            return (producer, fresh.producerEpoch)
        }
        switch metadata.state {
        case .prepareCommit, .prepareAbort: metadata = try complete(metadata)
        case .ongoing: metadata = try abortWithNewEpoch(metadata)
        case .empty, .completeCommit, .completeAbort: break
        }
        if metadata.producerEpoch.rawValue >= Int16.max - 1 {
            metadata.producerID = try allocateProducerIDLocked()
            metadata.producerEpoch = ProducerEpoch(0)
        } else {
            metadata.producerEpoch = ProducerEpoch(metadata.producerEpoch.rawValue + 1)
        }
        metadata.timeoutMilliseconds = timeout
        metadata = try metadata.transitioned(to: .empty, at: now)
        try persist(metadata, sync: true)
        return (metadata.producerID, metadata.producerEpoch)
    }

    /// A producer id for an idempotent producer without a transactional id.
    package func allocateProducerID() throws(TransactionError) -> ProducerID {
        lock.lock(); defer { lock.unlock() }
        return try allocateProducerIDLocked()
    }

    private func allocateProducerIDLocked() throws(TransactionError) -> ProducerID {
        if nextProducerID >= producerIDBlockEnd {
            let end = nextProducerID + config.producerIDBlockSize
            try append(key: .producerIDBlock, value: TransactionLogFormat.encodeProducerIDBlock(end: end),
                       partition: partitions[0], sync: true)
            producerIDBlockEnd = end
        }
        defer { nextProducerID += 1 }
        return ProducerID(nextProducerID)
    }

    // MARK: The protocol

    /// Records `partitions` as participants of the producer's transaction, durably, before
    /// anything is written to them. Starts the transaction when none is open.
    /// - Throws: `.fenced` for an old epoch or another producer id, `.invalidState` while a
    ///   commit or abort is in progress.
    package func addPartitions(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partitions: Set<TopicPartition>
    ) throws(TransactionError) {
        lock.lock(); defer { lock.unlock() }
        let metadata = try current(transactionalID, producerID, producerEpoch)
        let added = partitions.subtracting(metadata.state == .ongoing ? metadata.participants : [])
        if metadata.state == .ongoing && added.isEmpty { return }
        let next = try metadata.transitioned(to: .ongoing, at: log.clock.now(), adding: added)
        try persist(next, sync: true)
        crashPoints.reached(.afterParticipantRecorded)
    }

    /// Ends the producer's transaction: commit (or abort) through PrepareCommit, the markers and
    /// CompleteCommit. Ending a transaction with no participants does nothing.
    ///
    /// The participants' data is synced without the coordinator lock, so other transactions'
    /// commits go on meanwhile (only this producer writes into its transaction). The lock is taken
    /// again for the decision, which is made only if the transaction is still the one that was
    /// synced: same producer and epoch, still Ongoing with the same participants (a sweep or a
    /// newer instance may have aborted or fenced it in between; that is reported as such).
    package func endTransaction(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, commit: Bool
    ) throws(TransactionError) {
        guard let synced = try endable(transactionalID, producerID, producerEpoch, commit: commit) else { return }
        // The data must be durable before the commit point.
        try logCall { () throws(LogError) in try log.sync(synced.participants.sorted()) }
        crashPoints.reached(.afterFlush)
        lock.lock(); defer { lock.unlock() }
        let metadata = try current(transactionalID, producerID, producerEpoch)
        if metadata.state.isIdle { return }  // a concurrent end of the same transaction got there first
        guard metadata.state == .ongoing, metadata.participants == synced.participants else {
            throw TransactionError(.invalidState, "transaction '\(transactionalID)' became \(metadata.state) while its data was synced; it cannot \(commit ? "commit" : "abort") now")
        }
        try abortIfTimedOut(metadata)
        try complete(try prepare(metadata, commit: commit))
    }

    /// The producer's Ongoing transaction, or nil when it has none (nothing to end).
    /// - Throws: `.fenced`, `.invalidState` while a commit or abort is in progress, `.timedOut`
    ///   after aborting a transaction past its timeout.
    private func endable(
        _ transactionalID: String, _ producerID: ProducerID, _ producerEpoch: ProducerEpoch, commit: Bool
    ) throws(TransactionError) -> TransactionMetadata? {
        lock.lock(); defer { lock.unlock() }
        let metadata = try current(transactionalID, producerID, producerEpoch)
        if metadata.state.isIdle { return nil }
        guard metadata.state == .ongoing else {
            throw TransactionError(.invalidState, "transaction '\(transactionalID)' is \(metadata.state); it cannot \(commit ? "commit" : "abort") now")
        }
        try abortIfTimedOut(metadata)
        return metadata
    }

    /// Aborts `metadata` under a bumped epoch when it has outlived its timeout.
    /// - Throws: `.timedOut` when it did.
    private func abortIfTimedOut(_ metadata: TransactionMetadata) throws(TransactionError) {
        guard deadlines.hasTimedOut(metadata, monotonicNanoseconds: log.clock.monotonicNanoseconds()) else { return }
        try abortWithNewEpoch(metadata)
        throw TransactionError(.timedOut, "transaction '\(metadata.transactionalID)' ran past its timeout of \(metadata.timeoutMilliseconds) ms and was aborted")
    }

    /// Aborts every Ongoing transaction that has outlived its timeout on the monotonic clock
    /// (with a bumped epoch, so its producer is fenced). Wall-clock jumps change nothing here.
    /// - Returns: the transactional ids aborted.
    @discardableResult
    package func abortExpiredTransactions() throws(TransactionError) -> [String] {
        lock.lock(); defer { lock.unlock() }
        let now = log.clock.monotonicNanoseconds()
        var aborted: [String] = []
        for id in transactions.keys.sorted() {
            guard let metadata = transactions[id], deadlines.hasTimedOut(metadata, monotonicNanoseconds: now) else { continue }
            try abortWithNewEpoch(metadata)
            aborted.append(id)
        }
        return aborted
    }

    /// Forgets every transactional id that has nothing open and whose last update (wall clock,
    /// as the transaction log records it) is more than `transactionalIDExpirationMilliseconds`
    /// ago, with a synced tombstone in `__transaction_state`, so the expiry survives restarts and
    /// compaction removes the id's records.
    ///
    /// What expiry means for fencing: the id's producer id and epoch are forgotten with it, and
    /// producer ids are never handed out twice. The id's next `initTransactions` starts fresh, with
    /// a new producer id at epoch 0 (Kafka accepts this too). A zombie of the expired id still holds
    /// the old producer id: before the id is registered again every call it makes is refused as
    /// `.unknownTransactionalID`, and after it is refused as `.fenced` (another producer id), so it
    /// can never add a partition, write a batch (the transactional producer has every batch's
    /// epoch checked here first) or commit. An id expires only when idle: a transaction open that
    /// long has timed out and been aborted first.
    /// - Returns: the transactional ids forgotten.
    @discardableResult
    package func expireTransactionalIDs() throws(TransactionError) -> [String] {
        lock.lock(); defer { lock.unlock() }
        let cutoff = log.clock.now().rawValue - config.transactionalIDExpirationMilliseconds
        var expired: [String] = []
        for id in transactions.keys.sorted() {
            guard let metadata = transactions[id], metadata.state.isIdle, metadata.lastUpdateTimestamp.rawValue < cutoff else { continue }
            try append(key: .transaction(id), value: nil, partition: transactionLogPartition(for: id), sync: true)
            transactions[id] = nil
            deadlines.forget(id)
            expired.append(id)
        }
        if !expired.isEmpty { log.logger.info("expired idle transactional ids", metadata: ["ids": "\(expired)"]) }
        return expired
    }

    /// For an operator: aborts the open transaction of `transactionalID` (fencing its producer),
    /// or completes a prepared one.
    /// - Returns: the state the transaction ended in.
    package func forceAbort(transactionalID: String) throws(TransactionError) -> TransactionState {
        lock.lock(); defer { lock.unlock() }
        guard let metadata = transactions[transactionalID] else {
            throw TransactionError(.unknownTransactionalID, "unknown transactional id '\(transactionalID)'")
        }
        switch metadata.state {
        case .ongoing: return try abortWithNewEpoch(metadata).state
        case .prepareCommit, .prepareAbort: return try complete(metadata).state
        case .empty, .completeCommit, .completeAbort:
            throw TransactionError(.invalidState, "transaction '\(transactionalID)' has nothing open (it is \(metadata.state))")
        }
    }

    /// Every transactional id the coordinator knows, sorted.
    package func list() -> [TransactionMetadata] {
        lock.lock(); defer { lock.unlock() }
        return transactions.keys.sorted().compactMap { transactions[$0] }
    }

    /// The current metadata of one transactional id.
    package func metadata(_ transactionalID: String) -> TransactionMetadata? {
        lock.lock(); defer { lock.unlock() }
        return transactions[transactionalID]
    }

    // MARK: Steps (called with the lock held)

    private func current(_ id: String, _ producer: ProducerID, _ epoch: ProducerEpoch) throws(TransactionError) -> TransactionMetadata {
        guard let metadata = transactions[id] else {
            throw TransactionError(.unknownTransactionalID, "unknown transactional id '\(id)': call initTransactions first")
        }
        guard metadata.producerID == producer, metadata.producerEpoch == epoch else {
            throw TransactionError(.fenced, "producer \(producer) epoch \(epoch) of '\(id)' is fenced: the current holder is producer \(metadata.producerID) epoch \(metadata.producerEpoch)")
        }
        return metadata
    }

    /// Appends PrepareCommit/PrepareAbort and syncs it: the decision point.
    private func prepare(_ metadata: TransactionMetadata, commit: Bool) throws(TransactionError) -> TransactionMetadata {
        let prepared = try metadata.transitioned(to: commit ? .prepareCommit : .prepareAbort, at: log.clock.now())
        try persist(prepared, sync: true)
        crashPoints.reached(.afterPrepare)
        return prepared
    }

    /// Writes the markers of a prepared transaction into every participant, syncs them, and
    /// appends CompleteCommit/CompleteAbort.
    @discardableResult
    private func complete(_ prepared: TransactionMetadata) throws(TransactionError) -> TransactionMetadata {
        precondition(prepared.state == .prepareCommit || prepared.state == .prepareAbort, "completing a transaction that is not prepared")
        let commit = prepared.state == .prepareCommit
        let participants = prepared.participants.sorted()
        let now = log.clock.now()
        for (index, topicPartition) in participants.enumerated() {
            if index > 0 { crashPoints.reached(.betweenMarkers) }
            // Fails only for a participant whose topic was deleted: it takes no marker.
            guard let partition = try? log.partition(topicPartition) else {
                log.logger.warning("participant no longer exists; skipping its marker", metadata: ["partition": "\(topicPartition)"])
                continue
            }
            let marker = RecordBatchBuilder.controlBatch(
                type: commit ? .commit : .abort, producerID: prepared.producerID, producerEpoch: prepared.producerEpoch,
                coordinatorEpoch: 0, timestamp: now)
            try logCall { () throws(LogError) in _ = try partition.append(marker) }
            if topicPartition.topic == ConsumerOffsets.topicName {
                log.offsets.completeTransaction(producerID: prepared.producerID, committed: commit)
            }
        }
        let present = participants.filter { log.hasTopic($0.topic) }
        try logCall { () throws(LogError) in try log.sync(present) }
        crashPoints.reached(.afterMarkersBeforeComplete)
        let completed = try prepared.transitioned(to: commit ? .completeCommit : .completeAbort, at: now)
        // Not synced: if it is lost, recovery finds the Prepare state and rewrites the markers,
        // which the partitions ignore as already applied.
        try persist(completed, sync: false)
        return completed
    }

    /// Aborts an Ongoing transaction under a bumped epoch: the markers carry the new epoch, so
    /// the partitions fence the old producer too.
    @discardableResult
    private func abortWithNewEpoch(_ metadata: TransactionMetadata) throws(TransactionError) -> TransactionMetadata {
        var bumped = metadata
        bumped.producerEpoch = ProducerEpoch(metadata.producerEpoch.rawValue &+ 1)
        return try complete(try prepare(bumped, commit: false))
    }

    private func persist(_ metadata: TransactionMetadata, sync: Bool) throws(TransactionError) {
        let partition = transactionLogPartition(for: metadata.transactionalID)
        try append(key: .transaction(metadata.transactionalID), value: TransactionLogFormat.encodeValue(metadata), partition: partition, sync: sync)
        transactions[metadata.transactionalID] = metadata
        deadlines.note(metadata, monotonicNanoseconds: log.clock.monotonicNanoseconds())
    }

    private func transactionLogPartition(for transactionalID: String) -> PartitionLog {
        partitions[Int(ConsumerOffsets.partitionIndex(forGroup: transactionalID, partitionCount: topic.partitionCount))]
    }

    /// Appends one record (a nil value: a tombstone) to the transaction log.
    private func append(key: TransactionLogFormat.Key, value: [UInt8]?, partition: PartitionLog, sync: Bool) throws(TransactionError) {
        var builder = RecordBatchBuilder()
        builder.append(key: TransactionLogFormat.encodeKey(key), value: value, headers: [], timestamp: log.clock.now())
        let batch: [UInt8]
        do { batch = try builder.build() } catch { throw TransactionError(.log, "encoding a transaction log record: \(error)") }
        try logCall { () throws(LogError) in
            try partition.append(batch)
            if sync { try partition.sync() }
        }
    }
}
