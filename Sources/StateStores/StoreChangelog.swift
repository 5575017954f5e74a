package import StreamCore
package import LogStorage
package import Transactions
import Logging

/// How a store was restored.
package struct RestoreSummary: Sendable, Equatable {
    /// Where the restore started.
    package enum Start: Sendable, Equatable {
        /// From a valid checkpoint at this changelog offset.
        case checkpoint(Offset)
        /// From the changelog's start; `reason` says why the checkpoint was not used.
        case changelogStart(reason: String)
    }

    /// Where the restore started.
    package var start: Start
    /// Entries loaded from the checkpoint.
    package var checkpointEntries: Int
    /// Committed changelog records applied after the start.
    package var changelogRecords: Int
    /// The changelog offset the restored state reflects (one past the last applied offset).
    package var changelogOffset: Offset
}

/// Connects one store, for one partition, to its changelog partition and its checkpoint: sends
/// the store's staged changes inside the caller's transaction, commits or aborts the store after
/// the transaction ends, writes checkpoints, and restores the store on start.
///
/// The changelog topic is `<application>-<store>-changelog`, compacted, with as many partitions
/// as the input topic; partition P of it belongs to the worker of input partition P.
///
/// The worker's transaction, with the changelog:
/// ```
/// producer.beginTransaction()
/// … store.put / store.delete, producer.send(outputs) …
/// try changelog.send(through: producer)         // staged changes → changelog partition P
/// try producer.sendOffsets(positions, group: g)
/// do { try producer.commitTransaction(); try changelog.transactionCommitted() }
/// catch { changelog.transactionAborted(); … }   // see below
/// if due { try changelog.checkpoint() }
/// ```
/// A `commitTransaction()` that throws has an unknown outcome (it may have passed the commit
/// point): the worker must then re-run `initTransactions()` and ``restore()``, as after a crash.
///
/// - Invariant: the store's committed state is the fold of the committed changelog records of
///   partition P below ``changelogOffset`` (after ``restore()`` and after every
///   ``transactionCommitted()``), given that only this worker's transactional id writes to P.
/// - Precondition of ``restore()``: the worker ran `initTransactions()` first, so no transaction
///   of a previous holder is open on the changelog partition.
/// Thread-safety: owned by one worker thread; not thread-safe.
package final class StoreChangelog {
    /// The application (pipeline) the store belongs to.
    package let application: String
    /// The store this changelog feeds and restores.
    package let store: any StateStore
    /// The changelog partition: `<application>-<store>-changelog`, partition P.
    package let topicPartition: TopicPartition
    /// The store's checkpoint for partition P.
    package let checkpointFile: StoreCheckpoint
    private let log: LogManager
    private let partitionLog: PartitionLog
    /// One past the last changelog offset the committed state reflects; valid once restored.
    package private(set) var changelogOffset = Offset(0)
    /// Whether ``restore()`` ran; writing, committing and checkpointing need it.
    package private(set) var isRestored = false

    /// `<application>-<store>-changelog`.
    /// - Throws: `.invalidName` when that is not a legal topic name.
    package static func topicName(application: String, store: String) throws(StateStoreError) -> TopicName {
        let name = "\(application)-\(store)-changelog"
        do { return try TopicName(validating: name) } catch {
            throw StateStoreError(.invalidName, "store '\(store)' of application '\(application)': \(error.description)")
        }
    }

    /// The changelog topic of a store, created (compacted, `partitionCount` partitions) when
    /// missing.
    /// - Throws: `.invalidName` when an existing topic has another partition count or is not
    ///   compacted; `.log` when creating it fails.
    @discardableResult
    package static func ensureTopic(log: LogManager, application: String, store: String, partitionCount: Int) throws(StateStoreError) -> Topic {
        let name = try topicName(application: application, store: store)
        var config = TopicConfig.compacted(partitionCount: partitionCount)
        config.segmentBytesMax = min(config.segmentBytesMax, max(1024, log.options.internalSegmentBytesMax))
        config.batchBytesMax = min(config.batchBytesMax, config.segmentBytesMax)
        let topic: Topic
        do throws(LogError) {
            topic = log.hasTopic(name) ? try log.topic(name) : try log.createTopic(name, config: config)
        } catch {
            // Another worker of the same application may have created it meanwhile.
            guard error.code == .topicExists else {
                throw StateStoreError(.log, "creating changelog topic '\(name)': \(error.description)", logError: error)
            }
            topic = try logCall("opening changelog topic '\(name)'") { () throws(LogError) in try log.topic(name) }
        }
        guard topic.partitionCount == partitionCount, topic.config.cleanupPolicy == .compact else {
            throw StateStoreError(.invalidName, "changelog topic '\(name)' has \(topic.partitionCount) partitions and policy \(topic.config.cleanupPolicy.rawValue); expected \(partitionCount), compact")
        }
        return topic
    }

    /// Binds `store` to partition `partition` of its changelog (created when missing with
    /// `partitionCount` partitions) and to its checkpoint under the data directory.
    package init(log: LogManager, application: String, store: any StateStore, partition: PartitionID, partitionCount: Int) throws(StateStoreError) {
        let topic = try StoreChangelog.ensureTopic(log: log, application: application, store: store.name, partitionCount: partitionCount)
        self.log = log
        self.application = application
        self.store = store
        topicPartition = TopicPartition(topic.name, partition)
        partitionLog = try logCall("changelog partition") { () throws(LogError) in try topic.partition(partition) }
        checkpointFile = StoreCheckpoint(storage: log.storage, dataDirectory: log.directory, application: application, store: store.name, partition: partition)
    }

    // MARK: Transactions

    /// Sends the store's staged changes (key order, last write per key, tombstones as nil values)
    /// to the changelog partition inside the producer's open transaction.
    /// - Returns: how many records were sent.
    @discardableResult
    package func send(through producer: TransactionalProducer) throws(StateStoreError) -> Int {
        try sendStagedChanges { change throws(StateStoreError) in
            try transactionCall("sending to \(topicPartition)") { () throws(TransactionError) in
                try producer.send(topic: topicPartition.topic, key: change.key, value: change.value, partition: topicPartition.partition)
            }
        }
    }

    /// At-least-once: adds the store's staged changes (as the transactional `send(through:)`
    /// does) to a plain producer, outside any transaction. They are durable once the producer is
    /// flushed, which the caller does before it commits its consumed offsets and then calls
    /// ``transactionCommitted()``. A crash between the flush and the offsets' commit restores
    /// these changes and then replays their inputs, so the store may count a record twice but
    /// never loses one.
    /// - Returns: how many records were sent.
    @discardableResult
    package func send(through producer: LogProducer) throws(StateStoreError) -> Int {
        try sendStagedChanges { change throws(StateStoreError) in
            try logCall("sending to \(topicPartition)") { () throws(LogError) in
                _ = try producer.send(topic: topicPartition.topic, key: change.key, value: change.value, partition: topicPartition.partition)
            }
        }
    }

    /// Hands the store's staged changes (key order, last write per key) to `send`, one by one.
    private func sendStagedChanges(_ send: (ChangelogRecord) throws(StateStoreError) -> Void) throws(StateStoreError) -> Int {
        precondition(isRestored, "restore the store before writing to it")
        let changes = store.stagedChanges
        for change in changes { try send(change) }
        return changes.count
    }

    /// After the caller's `commitTransaction()` succeeded (at-least-once: after its producer's
    /// flush and its offsets' commit): applies the staged writes.
    /// - Throws: `.rocksDB` when a durable store cannot record the commit (the worker must then
    ///   restart: the transaction is committed, and the restore replays it from the changelog).
    package func transactionCommitted() throws(StateStoreError) {
        precondition(isRestored, "restore the store before committing it")
        // Only this worker writes to the partition and its transaction is complete, so every
        // committed record below the last stable offset is now in the store.
        let offset = max(changelogOffset, partitionLog.lastStableOffset)
        if let durable = store as? any DurableStateStore {
            try durable.commit(reflecting: offset)
        } else {
            store.commit()
        }
        changelogOffset = offset
    }

    /// After the caller's transaction aborted: drops the staged writes.
    package func transactionAborted() {
        store.abort()
    }

    // MARK: Checkpoints

    /// Writes a checkpoint of the committed state (staged writes are never included).
    /// A durable store (``DurableStateStore``) is its own checkpoint: nothing to write.
    package func checkpoint() throws(StateStoreError) {
        precondition(isRestored, "restore the store before checkpointing it")
        if store is any DurableStateStore { return }
        try checkpointFile.write(changelogOffset: changelogOffset, records: store.committedRecords(), crashPoints: log.options.crashPoints)
    }

    // MARK: Restore

    /// Rebuilds the store's committed state: the checkpoint when it is valid (magic, CRC, offset
    /// within the changelog's range), else nothing; then every committed changelog record after
    /// it, read read-committed (aborted transactions and markers skipped).
    /// - Parameter refusingLostChangelog: throw `.changelogLost`, before changing anything, when
    ///   the checkpoint or the durable store reflects a changelog offset beyond the changelog's
    ///   end (rather than starting over from the shorter changelog). A worker whose input
    ///   offsets were committed with that state sets it: the state must not silently go back.
    /// - Throws: `.changelogUnstable` when a transaction is open on the changelog partition;
    ///   `.changelogLost` (see above); `.corruptChangelog`, `.log`, `.storage`.
    @discardableResult
    package func restore(refusingLostChangelog: Bool = false) throws(StateStoreError) -> RestoreSummary {
        let stable = partitionLog.lastStableOffset
        let end = partitionLog.logEndOffset
        let first = partitionLog.logStartOffset
        guard stable == end else {
            throw StateStoreError(.changelogUnstable, "\(topicPartition) has an open transaction from offset \(stable) (end \(end)); run initTransactions() before restoring")
        }
        var summary = RestoreSummary(start: .changelogStart(reason: ""), checkpointEntries: 0, changelogRecords: 0, changelogOffset: first)
        var startOffset = first
        if let durable = store as? any DurableStateStore {
            if refusingLostChangelog, let offset = durable.durableChangelogOffset, offset > end {
                throw StateStoreError(.changelogLost, "store \(store.name) reflects \(topicPartition) up to offset \(offset), but the changelog ends at \(end)")
            }
            // The store kept its state; replay only what came after it, unless it does not fit
            // the changelog (then wipe it and replay everything).
            if let offset = durable.durableChangelogOffset, offset >= first, offset <= end {
                summary.start = .checkpoint(offset)
                startOffset = offset
            } else {
                let reason = durable.durableChangelogOffset.map { "the store's offset \($0) is outside the changelog [\(first), \(end)]" } ?? "a new store"
                summary.start = .changelogStart(reason: reason)
                store.reset()
            }
        } else {
            store.reset()
            try restoreCheckpoint(into: &summary, startOffset: &startOffset, first: first, end: end, refusingLostChangelog: refusingLostChangelog)
        }
        if case .changelogStart(let reason) = summary.start {
            log.logger.info("restoring store from the changelog start", metadata: [
                "store": "\(store.name)", "changelog": "\(topicPartition)", "reason": "\(reason)",
            ])
        }
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .none
        config.maxPollRecords = 10_000
        let consumer = LogConsumer(log: log, config: config)
        let topicPartition = self.topicPartition
        try logCall("reading \(topicPartition)") { () throws(LogError) in
            try consumer.assign([topicPartition])
            try consumer.seek(topicPartition, to: .offset(startOffset))
        }
        summary.changelogOffset = startOffset
        while true {
            let records = try logCall("reading \(topicPartition)") { () throws(LogError) in try consumer.poll() }
            for record in records {
                guard let key = record.key else {
                    throw StateStoreError(.corruptChangelog, "\(topicPartition) offset \(record.offset): a changelog record without a key")
                }
                try store.applyCommitted(ChangelogRecord(key: key, value: record.value))
            }
            summary.changelogRecords += records.count
            let position = try logCall("reading \(topicPartition)") { () throws(LogError) in try consumer.position(topicPartition) }
            // An empty poll may only have skipped markers or aborted batches; stop at the end.
            if records.isEmpty && position >= stable { break }
            if records.isEmpty && position == summary.changelogOffset {
                throw StateStoreError(.corruptChangelog, "restore of \(topicPartition) made no progress at offset \(position) (stable \(stable))")
            }
            summary.changelogOffset = position
        }
        summary.changelogOffset = try logCall("reading \(topicPartition)") { () throws(LogError) in try consumer.position(topicPartition) }
        precondition(summary.changelogOffset == stable, "restore of \(topicPartition) stopped at \(summary.changelogOffset), not at \(stable)")
        changelogOffset = summary.changelogOffset
        if let durable = store as? any DurableStateStore { try durable.markRestored(at: changelogOffset) }
        isRestored = true
        return summary
    }

    /// Loads a valid checkpoint into the (reset) store and moves `startOffset` past it.
    private func restoreCheckpoint(into summary: inout RestoreSummary, startOffset: inout Offset, first: Offset, end: Offset,
                                   refusingLostChangelog: Bool) throws(StateStoreError) {
        switch try checkpointFile.read() {
        case .missing:
            summary.start = .changelogStart(reason: "no checkpoint")
        case .corrupt(let reason):
            summary.start = .changelogStart(reason: "corrupt checkpoint: \(reason)")
        case .valid(let offset, let records):
            if offset > end && refusingLostChangelog {
                throw StateStoreError(.changelogLost, "the checkpoint of store \(store.name) reflects \(topicPartition) up to offset \(offset), but the changelog ends at \(end)")
            } else if offset > end {
                summary.start = .changelogStart(reason: "checkpoint offset \(offset) is beyond the changelog end \(end)")
            } else if offset < first {
                summary.start = .changelogStart(reason: "checkpoint offset \(offset) is before the changelog start \(first)")
            } else {
                for record in records { try store.applyCommitted(record) }
                summary.start = .checkpoint(offset)
                summary.checkpointEntries = records.count
                startOffset = offset
            }
        }
    }
}
