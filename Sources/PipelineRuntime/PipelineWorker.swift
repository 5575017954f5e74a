import Sluice
import StreamCore
import LogStorage
import Transactions
import StateStores

/// One worker of a running pipeline: it owns input partition P of every source topic, its
/// transactional id (`<pipeline>-<P>`), and its state stores with their changelog partition P.
///
/// Loop: poll → process (operators, stores staged, outputs and dead letters sent in the open
/// transaction) → every commit interval: changelogs + consumed offsets into the transaction,
/// commit, apply the stores' staged writes. A failed record gets its ``RetryPolicy`` verdict
/// through ``RecordRetries`` (a retry aborts and rewinds). On start the worker fences any
/// previous holder of its id (`initTransactions`) and restores its stores from checkpoint +
/// committed changelog.
///
/// A worker reading several topics (a stream and the table it joins, a repartition topic)
/// processes their records in timestamp order: it buffers what it polled per partition and takes
/// the oldest head, waiting (polling more) while a partition that still has records to read has
/// none buffered, as Kafka Streams does. Table topics come first on equal timestamps.
///
/// At-least-once (``PipelineConfiguration/Guarantee/atLeastOnce``) the worker writes through a
/// plain ``LogProducer`` instead: outputs and dead letters are appended and synced (the
/// producer's flush), then the changelog records, then the consumed offsets are committed through
/// the consumer-offsets path, and the stores apply after that. A crash in between repeats records
/// (outputs and state changes may appear twice) but never loses one. It still takes over its
/// transactional id once at start, so an exactly-once run's open transaction is finished before
/// the stores restore.
///
/// - Invariant: exactly-once, outputs, dead letters, state changes and consumed offsets of the
///   worker commit in one transaction; its stores' committed state is the fold of its committed
///   changelog.
/// - Invariant: at-least-once, every output and dead letter of a record is durable before the
///   state changes it made, and those before the offset past that record is committed.
/// - Invariant: the committed offset of a partition is the offset after the last record
///   processed from it (polled but buffered records are not committed).
/// Thread-safety: one thread; workers share nothing mutable.
final class PipelineWorker: ProcessingContext {
    let partition: Int32
    private let pipelineName: String
    private let group: String
    private let log: LogManager
    /// Where outputs, dead letters and changelog records go.
    private let output: WorkerOutput
    private let consumer: LogConsumer
    private var stores: [String: (store: any KeyValueAccess, changelog: StoreChangelog)] = [:]
    private var handlers: [String: (RawRecord) throws -> Void] = [:]
    /// Output topic names, validated once.
    private var topicNames: [String: TopicName] = [:]
    private let commitIntervalNanoseconds: UInt64
    private var lastCommitNanoseconds: UInt64
    /// Records were processed since the last commit (a transaction is open, exactly-once).
    private var inTransaction = false
    private let commitObserver: CommitObserver?
    /// Starts one short of a checkpoint, so the first commit writes one: from then on the
    /// checkpoint records how far the changelog reached (see ``PipelineStateCheck``).
    private var commitsSinceCheckpoint = PipelineWorker.checkpointEveryCommits - 1
    /// Polled, unprocessed records per input partition; used when the worker reads several
    /// topics and merges them by timestamp.
    private var buffered: [TopicPartition: ArraySlice<ConsumerRecord>] = [:]
    private let mergesByTimestamp: Bool
    private let pollRecordsMax: Int
    private(set) var recordsProcessed = 0
    private(set) var deadLettered = 0
    private(set) var skipped = 0
    /// The failure policy's state (see ``RecordRetries``) and the counts a retry's abort undoes.
    private let retries: RecordRetries
    private var uncommittedCounts = (records: 0, deadLettered: 0, skipped: 0)

    static let checkpointEveryCommits = 20

    init(pipeline: any PipelineDefinition, topology: Topology, partition: Int32, partitionCount: Int,
         log: LogManager, coordinator: TransactionCoordinator, pollRecordsMax: Int, commitObserver: CommitObserver? = nil) throws {
        self.partition = partition
        self.commitObserver = commitObserver
        self.log = log
        self.pollRecordsMax = pollRecordsMax
        mergesByTimestamp = topology.sourceTopics.count > 1
        pipelineName = pipeline.name
        let configuration = pipeline.configuration
        group = configuration.consumerGroup ?? pipeline.name
        let (seconds, attoseconds) = configuration.commitInterval.components
        commitIntervalNanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
        lastCommitNanoseconds = log.clock.monotonicNanoseconds()
        retries = RecordRetries(policy: configuration.retry, seed: UInt64(partition))
        let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "\(pipeline.name)-\(partition)")
        try producer.initTransactions()
        switch configuration.guarantee {
        case .exactlyOnce:
            output = .transactional(producer)
        case .atLeastOnce:
            var producerConfig = ProducerConfig()
            // Batches are appended when full or at the commit's flush; the linger only bounds
            // how long a batch can wait when the commit interval is long.
            producerConfig.lingerMilliseconds = Int(max(1, min(commitIntervalNanoseconds / 1_000_000, 1000)))
            output = .plain(LogProducer(log: log, config: producerConfig))
        }
        let offsetsRemain = PipelineStateCheck.offsetsRemain(group: group, partition: PartitionID(partition),
                                                             sourceTopics: topology.sourceTopics, log: log)
        for name in topology.storeNames {
            let store: any KeyValueAccess
            switch configuration.storeBackends[name] ?? .memory {
            case .memory:
                store = KeyValueStore(name: name)
            case .rocksDB:
                guard log.storage is POSIXStorage else {
                    throw PipelineRunError("store '\(name)' is configured for RocksDB, which needs a data directory on a local disk")
                }
                store = try RocksDBStore(name: name, path: RocksDBStore.path(dataDirectory: log.directory, application: pipeline.name,
                                                                         store: name, partition: PartitionID(partition)))
            }
            let changelog = try StoreChangelog(log: log, application: pipeline.name, store: store,
                                               partition: PartitionID(partition), partitionCount: partitionCount)
            let restored = Result { () throws(StateStoreError) in try changelog.restore(refusingLostChangelog: offsetsRemain) }
            if case .failure(let error) = restored {
                guard error.code == .changelogLost else { throw error }
                throw PipelineRunError(PipelineStateCheck.lostState(pipeline: pipeline.name, because: error.message))
            }
            stores[name] = (store, changelog)
        }
        var config = ConsumerConfig(groupID: group)
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        config.maxPollRecords = pollRecordsMax
        consumer = LogConsumer(log: log, config: config)
        var assigned: [TopicPartition] = []
        for topic in topology.sourceTopics {
            assigned.append(TopicPartition(try TopicName(validating: topic), PartitionID(partition)))
        }
        try consumer.assign(assigned)
        handlers = topology.compile(for: self)
    }

    // MARK: ProcessingContext

    func keyValueStore(_ name: String) -> any KeyValueState {
        guard let entry = stores[name] else { preconditionFailure("store '\(name)' is not in the topology") }
        return StoreAdapter(store: entry.store)
    }

    func emit(_ record: RawRecord) throws {
        let topic: TopicName
        if let known = topicNames[record.topic] {
            topic = known
        } else {
            topic = try TopicName(validating: record.topic)
            topicNames[record.topic] = topic
        }
        let headers = record.headers.map { RecordHeader(key: $0.key, value: $0.value) }
        switch output {
        case .transactional(let producer):
            try producer.send(topic: topic, key: record.key, value: record.value, headers: headers,
                              timestamp: Timestamp(milliseconds: record.timestamp))
        case .plain(let producer):
            _ = try producer.send(topic: topic, key: record.key, value: record.value, headers: headers,
                                  timestamp: Timestamp(milliseconds: record.timestamp))
        }
    }

    // MARK: The loop

    /// Polls, processes and, when the commit interval has passed (or the input ran dry), commits.
    /// - Returns: how many records it processed.
    /// - Throws: a produce-stage failure (the pipeline stops), `TransactionError` (fenced: a newer
    ///   worker took over), log errors.
    @discardableResult
    func step() throws -> Int {
        if retries.isPaused(atNanoseconds: log.clock.monotonicNanoseconds()) { return 0 }
        let records = try mergesByTimestamp ? pollInTimestampOrder() : consumer.poll()
        if !records.isEmpty && !inTransaction {
            if case .transactional(let producer) = output { try producer.beginTransaction() }
            inTransaction = true
        }
        for record in records {
            let raw = RawRecord(
                topic: record.topicPartition.topic.rawValue, partition: record.topicPartition.partition.rawValue,
                offset: record.offset.rawValue, key: record.key, value: record.value, timestamp: record.timestamp.rawValue,
                headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) })
            do {
                try handlers[raw.topic]?(raw)
            } catch let failure as RecordFailure {
                switch retries.decide(failure, source: raw, now: log.clock.now().rawValue, monotonicNanoseconds: log.clock.monotonicNanoseconds()) {
                case .deadLetter(let attempts, let first, let last):
                    try emit(DeadLetters.record(for: failure, source: raw, pipeline: pipelineName, attempts: attempts, firstFailure: first, lastFailure: last))
                    uncommittedCounts.deadLettered += 1
                case .skip: uncommittedCounts.skipped += 1
                case .fail: throw failure
                case .retry:
                    try abortAndRewind()
                    return 0
                }
            }
            uncommittedCounts.records += 1
        }
        let now = log.clock.monotonicNanoseconds()
        if inTransaction && (records.isEmpty || now &- lastCommitNanoseconds >= commitIntervalNanoseconds) {
            try commit()
        }
        return records.count
    }

    /// Commits what is open: changelogs and offsets join the transaction, then stores apply.
    /// At-least-once: changelogs are sent, everything is flushed, then the offsets commit.
    func commit() throws {
        guard inTransaction else { return }
        let started = log.clock.monotonicNanoseconds()
        var succeeded = false
        defer {
            commitObserver?(CommitEvent(partition: partition, durationNanoseconds: log.clock.monotonicNanoseconds() &- started,
                                        succeeded: succeeded))
        }
        var positions: [TopicPartition: Offset] = [:]
        for topicPartition in consumer.assignment {
            positions[topicPartition] = try buffered[topicPartition]?.first?.offset ?? consumer.position(topicPartition)
        }
        switch output {
        case .transactional(let producer):
            for entry in stores.values where entry.store.hasStagedChanges { _ = try entry.changelog.send(through: producer) }
            try producer.sendOffsets(positions, group: group)
            try producer.commitTransaction()
        case .plain(let producer):
            // Outputs first, then the state changes that follow from them, then the offsets:
            // whatever a crash cuts off, a replay re-emits it.
            try producer.flush()
            for entry in stores.values where entry.store.hasStagedChanges { _ = try entry.changelog.send(through: producer) }
            try producer.flush()
            try consumer.commit(positions)
        }
        inTransaction = false
        retries.committed(positions)
        recordsProcessed += uncommittedCounts.records
        deadLettered += uncommittedCounts.deadLettered
        skipped += uncommittedCounts.skipped
        uncommittedCounts = (0, 0, 0)
        for entry in stores.values { try entry.changelog.transactionCommitted() }
        lastCommitNanoseconds = log.clock.monotonicNanoseconds()
        commitsSinceCheckpoint += 1
        if commitsSinceCheckpoint >= Self.checkpointEveryCommits {
            for entry in stores.values { try entry.changelog.checkpoint() }
            commitsSinceCheckpoint = 0
        }
        succeeded = true
    }

    /// For a retry: drops the open transaction (outputs, dead letters, staged store writes) and
    /// reads again from the committed offsets, so nothing past the failed record commits.
    private func abortAndRewind() throws {
        // At-least-once there is nothing to abort: what the failed pass already wrote stays
        // (the rerun may repeat it, as that guarantee allows); staged store writes are dropped.
        if inTransaction, case .transactional(let producer) = output { try producer.abortTransaction() }
        inTransaction = false
        uncommittedCounts = (0, 0, 0)
        for entry in stores.values { entry.changelog.transactionAborted() }
        buffered = [:]
        for topicPartition in consumer.assignment {
            try consumer.seek(topicPartition, to: consumer.committed(topicPartition).map { .offset($0) } ?? .earliest)
        }
    }

    /// Polls, buffers, and returns the buffered records that can be processed now, oldest first
    /// (at most `pollRecordsMax`): it stops at a partition whose buffer ran dry while it still
    /// has records to read, since one of those may be older than every buffered record.
    private func pollInTimestampOrder() throws -> [ConsumerRecord] {
        for record in try consumer.poll() { buffered[record.topicPartition, default: []].append(record) }
        let unread = try consumer.lag()
        let assignment = consumer.assignment
        var result: [ConsumerRecord] = []
        while result.count < pollRecordsMax {
            var oldest: TopicPartition?
            var oldestTime = Int64.max
            for topicPartition in assignment {
                if let head = buffered[topicPartition]?.first {
                    if oldest == nil || head.timestamp.rawValue < oldestTime {
                        oldest = topicPartition
                        oldestTime = head.timestamp.rawValue
                    }
                } else if unread[topicPartition, default: 0] > 0 {
                    return result
                }
            }
            guard let oldest, let record = buffered[oldest]?.popFirst() else { return result }
            result.append(record)
        }
        return result
    }

    /// Read-committed lag of the worker's input partitions, buffered records included.
    var lag: Int64 { ((try? consumer.lag().values.reduce(0, +)) ?? 0) + Int64(buffered.values.reduce(0) { $0 + $1.count }) }

    /// Whether a transaction is open (records processed but not committed).
    var hasUncommittedWork: Bool { inTransaction }

    /// The committed contents of one of the worker's stores.
    func committedEntries(of store: String) -> [(key: [UInt8], value: [UInt8])] {
        stores[store]?.store.committedRecords().compactMap { record in record.value.map { (record.key, $0) } } ?? []
    }
}

/// Where a worker writes: a transactional producer (exactly-once) or a plain one (at-least-once).
private enum WorkerOutput {
    case transactional(TransactionalProducer)
    case plain(LogProducer)
}

/// A state store as operators see it.
private final class StoreAdapter: KeyValueState {
    let store: any KeyValueAccess
    init(store: any KeyValueAccess) { self.store = store }
    func get(_ key: [UInt8]) -> [UInt8]? { store.get(key) }
    func put(_ key: [UInt8], _ value: [UInt8]) { store.put(key, value) }
    func delete(_ key: [UInt8]) { store.delete(key) }
    func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])] { store.range(from: lower, to: upper) }
}
