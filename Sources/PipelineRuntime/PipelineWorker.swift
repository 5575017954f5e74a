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
/// A record has its whole effect or none: its outputs are held until it has gone through every
/// operator, and its store writes are undone back to the savepoint set after the record before
/// it, so a record that fails (whatever the verdict: dead-letter, skip, retry, fail) leaves no
/// output and no staged write behind — only its dead letter, when it gets one.
///
/// With crash quarantine on (``PipelineRunner``'s `quarantinesCrashes`, as `pipeline run` runs),
/// the worker writes an ``InFlightMarker`` before its operators get polled records, and a start
/// that finds the process died with the same records in flight narrows them down and
/// dead-letters the record that kills the process (``CrashQuarantine``). The narrowing
/// transactions and the killer's dead letter commit like any other, offsets included.
///
/// - Invariant: exactly-once, outputs, dead letters, state changes and consumed offsets of the
///   worker commit in one transaction; its stores' committed state is the fold of its committed
///   changelog.
/// - Invariant: at-least-once, every output and dead letter of a record is durable before the
///   state changes it made, and those before the offset past that record is committed.
/// - Invariant: exactly-once with ``PipelineConfiguration/audit`` on, each transaction's last
///   record is its audit record in `<pipeline>.audit` (``WorkerAudit``), naming the input
///   positions it consumed and the offsets of everything else it wrote.
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
    /// The stores again, for the per-record savepoints.
    private var storeList: [any KeyValueAccess] = []
    /// The current record's outputs, sent once it went through every operator; dropped when it
    /// fails.
    private var recordOutputs: [(topic: TopicName, record: RawRecord)] = []
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
    /// Records lost to out-of-range resets (``PipelineConfiguration/offsetOutOfRange``), per
    /// input partition.
    private(set) var recordsLost: [TopicPartition: Int64] = [:]
    /// Deletes the consumed prefix of the worker's repartition partitions after commits.
    private var repartitionPurge: RepartitionPurge
    /// The failure policy's state (see ``RecordRetries``) and the counts a retry's abort undoes.
    private let retries: RecordRetries
    private var uncommittedCounts = (records: 0, deadLettered: 0, skipped: 0)
    /// Where the open transaction started: the committed offset of each input partition.
    private var transactionStart: [TopicPartition: Offset] = [:]
    /// Records handed to the operators since ``transactionStart`` (in the open transaction).
    private var transactionRecords = 0
    /// The crash-loop defence; nil when off.
    private var quarantine: CrashQuarantine?
    /// `state/<pipeline>/inflight/<partition>`, open while quarantine is on.
    private var inFlightFile: (any StorageFile)?
    private let inFlightPath: String
    private var inFlightBytes = 0
    /// The signal that ended the previous process (`SIGILL`…), when it recorded one.
    private let lastCrashSignal: String?
    /// Where the pipeline's Avro serdes find schemas.
    let avroSchemas: (any AvroSchemaSource)?
    /// The worker's metrics (committed counts only); nil when the process exports none.
    let metrics: WorkerMetrics?
    /// The worker's audit trail (``WorkerAudit``); nil when off or at-least-once.
    private var audit: WorkerAudit?
    /// ``PipelineConfiguration/lineageHeaders``: outputs get a `sluice.source` header naming
    /// ``lineageSource``, the record being processed.
    private let lineageHeaders: Bool
    private var lineageSource: [UInt8] = []

    static let checkpointEveryCommits = 20

    /// - Parameter quarantinesCrashes: whether the worker keeps an in-flight marker and
    ///   quarantines records that kill the process (``CrashQuarantine``).
    /// - Parameter lastCrashSignal: the signal the previous process recorded when it died.
    init(pipeline: any PipelineDefinition, topology: Topology, partition: Int32, partitionCount: Int,
         log: LogManager, coordinator: TransactionCoordinator, pollRecordsMax: Int, commitObserver: CommitObserver? = nil,
         quarantinesCrashes: Bool = false, lastCrashSignal: String? = nil, schemas: (any AvroSchemaSource)? = nil,
         metrics: WorkerMetrics? = nil) throws {
        self.partition = partition
        self.metrics = metrics
        self.avroSchemas = schemas
        self.lastCrashSignal = lastCrashSignal
        inFlightPath = CrashQuarantine.markerPath(log: log, pipeline: pipeline.name, partition: partition)
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
        lineageHeaders = configuration.lineageHeaders
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
            let restoreStarted = log.clock.monotonicNanoseconds()
            let restored = Result { () throws(StateStoreError) in try changelog.restore(refusingLostChangelog: offsetsRemain) }
            metrics?.restored(store: name, nanoseconds: log.clock.monotonicNanoseconds() &- restoreStarted)
            if case .failure(let error) = restored {
                guard error.code == .changelogLost else { throw error }
                throw PipelineRunError(PipelineStateCheck.lostState(pipeline: pipeline.name, because: error.message))
            }
            stores[name] = (store, changelog)
            storeList.append(store)
        }
        metrics?.storesCommitted(storeList, partition: partition)
        if configuration.audit && configuration.guarantee == .exactlyOnce {
            audit = WorkerAudit(
                pipeline: pipeline.name, partition: partition,
                auditPartition: TopicPartition(try TopicName(validating: PipelineInternalTopics.auditTopic(of: pipeline.name)), PartitionID(partition)),
                changelogTopics: Set(stores.values.map(\.changelog.topicPartition.topic.rawValue)),
                deadLetterTopics: Set([DeadLetters.topic(for: pipeline.name)] + topology.deadLetterTopics))
        }
        var config = ConsumerConfig(groupID: group)
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        switch configuration.offsetOutOfRange {
        case .fail: config.outOfRangeReset = OffsetResetPolicy.none
        case .earliest: config.outOfRangeReset = .earliest
        case .latest: config.outOfRangeReset = .latest
        }
        config.maxPollRecords = pollRecordsMax
        consumer = LogConsumer(log: log, config: config)
        var assigned: [TopicPartition] = []
        for topic in topology.sourceTopics {
            assigned.append(TopicPartition(try TopicName(validating: topic), PartitionID(partition)))
        }
        let internalTopics = Set(topology.internalTopics)
        var repartitions: [TopicPartition: PartitionLog] = [:]
        for topicPartition in assigned where internalTopics.contains(topicPartition.topic.rawValue) {
            repartitions[topicPartition] = try log.partition(topicPartition)
        }
        repartitionPurge = RepartitionPurge(partitions: repartitions, nowNanoseconds: log.clock.monotonicNanoseconds())
        try consumer.assign(assigned)
        handlers = topology.compile(for: self)
        // Resolve the committed offsets now, so one out of range stops the start, loudly.
        try resolvePositions()
        transactionStart = try currentPositions()
        if quarantinesCrashes { try openInFlightMarker() }
    }

    /// Reads what the previous process left in flight, decides the quarantine's mode, and
    /// opens the marker for writing.
    private func openInFlightMarker() throws {
        var found: InFlightMarker?
        if log.storage.exists(inFlightPath) {
            let file = try log.storage.openFile(inFlightPath, mode: .read)
            found = InFlightMarker(parsing: try file.readAll())
            file.close()
        } else {
            try log.storage.createDirectory(parentPath(inFlightPath))
        }
        quarantine = CrashQuarantine(found: found, start: transactionStart, now: log.clock.now().rawValue)
        inFlightFile = try log.storage.openFile(inFlightPath, mode: .create)
        inFlightBytes = Int(try inFlightFile?.size() ?? 0)
        // Nothing is in flight yet: a death before the first poll is no record's fault.
        try writeInFlightMarker()
    }

    /// Records what the operators are about to get. Not synced: it guards against the process
    /// dying, which loses no written bytes; a machine crash that loses it only restarts the
    /// count of deaths.
    private func writeInFlightMarker() throws {
        guard let quarantine, let file = inFlightFile else { return }
        let bytes = quarantine.marker(start: transactionStart, inFlight: transactionRecords).encoded()
        try file.write(bytes, at: 0)
        if bytes.count < inFlightBytes { try file.truncate(to: Int64(bytes.count)) }
        inFlightBytes = bytes.count
    }

    /// After an orderly failure (an error the runner stops on): the marker is removed, so the
    /// next start does not take the open transaction for a death.
    func discardInFlightMarker() {
        guard let file = inFlightFile else { return }
        file.close()
        inFlightFile = nil
        try? log.storage.removeFile(inFlightPath)
    }

    /// Whether the worker is narrowing down or quarantining a record that killed the process;
    /// the runner then steps it alone, so a death is its own.
    var isIsolatingCrash: Bool { quarantine.map { $0.mode != .normal } ?? false }

    /// The next offset to process of each input partition (buffered records not yet processed).
    private func currentPositions() throws -> [TopicPartition: Offset] {
        var positions: [TopicPartition: Offset] = [:]
        for topicPartition in consumer.assignment {
            positions[topicPartition] = try buffered[topicPartition]?.first?.offset ?? consumer.position(topicPartition)
        }
        return positions
    }

    // MARK: ProcessingContext

    func keyValueStore(_ name: String) -> any KeyValueState {
        guard let entry = stores[name] else { preconditionFailure("store '\(name)' is not in the topology") }
        return StoreAdapter(store: entry.store)
    }

    /// Holds `record` until the record being processed has gone through every operator.
    /// - Throws: an invalid topic name (a produce-stage failure of the emitting operator).
    func emit(_ record: RawRecord) throws {
        if lineageHeaders {
            var traced = record
            traced.headers.append(RawRecord.Header(key: "sluice.source", value: lineageSource))
            recordOutputs.append((try topicName(record.topic), traced))
            return
        }
        recordOutputs.append((try topicName(record.topic), record))
    }

    /// The validated name of `topic`, validated once.
    private func topicName(_ topic: String) throws -> TopicName {
        if let known = topicNames[topic] { return known }
        let validated = try TopicName(validating: topic)
        topicNames[topic] = validated
        return validated
    }

    /// Sends one output or dead letter in the open transaction (at-least-once: to the producer).
    private func send(_ record: RawRecord, to topic: TopicName) throws {
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
        if quarantine?.mode == .quarantine { return try deadLetterKiller() }
        let allowed = quarantine?.transactionRecordsMax.map { max(1, $0 - transactionRecords) }
        let records = try poll(recordsMax: allowed)
        if records.isEmpty && !inTransaction && isIsolatingCrash && lag == 0 { quarantine?.endIsolation() }
        if !records.isEmpty && !inTransaction { try beginTransaction() }
        if !records.isEmpty && quarantine != nil {
            transactionRecords += records.count
            try writeInFlightMarker()
        }
        metrics?.polled(records)
        for record in records {
            let raw = RawRecord(
                topic: record.topicPartition.topic.rawValue, partition: record.topicPartition.partition.rawValue,
                offset: record.offset.rawValue, key: record.key, value: record.value, timestamp: record.timestamp.rawValue,
                headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) })
            if lineageHeaders { lineageSource = Array("\(raw.topic)/\(raw.partition)/\(raw.offset)".utf8) }
            do {
                try handlers[raw.topic]?(raw)
            } catch let failure as RecordFailure {
                rollBackRecord()
                switch retries.decide(failure, source: raw, now: log.clock.now().rawValue, monotonicNanoseconds: log.clock.monotonicNanoseconds()) {
                case .deadLetter(let attempts, let first, let last):
                    let letter = DeadLetters.record(for: failure, source: raw, pipeline: pipelineName, attempts: attempts, firstFailure: first, lastFailure: last)
                    try send(letter, to: topicName(letter.topic))
                    uncommittedCounts.deadLettered += 1
                    metrics?.deadLettered(stage: failure.stage.rawValue, errorType: failure.errorType)
                case .skip: uncommittedCounts.skipped += 1
                case .fail: throw failure
                case .retry:
                    metrics?.retried(stage: failure.stage.rawValue)
                    try abortAndRewind()
                    return 0
                }
                uncommittedCounts.records += 1
                continue
            } catch {
                rollBackRecord()
                throw error
            }
            try keepRecord()
            uncommittedCounts.records += 1
        }
        let now = log.clock.monotonicNanoseconds()
        let narrowedFull = quarantine?.transactionRecordsMax.map { transactionRecords >= $0 } ?? false
        if inTransaction && (records.isEmpty || narrowedFull || now &- lastCommitNanoseconds >= commitIntervalNanoseconds) {
            try commit()
        }
        return records.count
    }

    /// The next records to process, at most `recordsMax` (nil: the poll's own bound).
    ///
    /// A poll that stops at a damaged batch commits what the worker processed before it (the
    /// consumer's positions put back where the failed poll found them, since it may have moved
    /// other partitions' positions past records it then lost) and throws an error naming the
    /// `pipeline recover` command that skips the batch.
    private func poll(recordsMax: Int?) throws -> [ConsumerRecord] {
        let before = consumer.assignment.map { ($0, try? consumer.position($0)) }
        do {
            if mergesByTimestamp { return try pollInTimestampOrder(recordsMax: recordsMax ?? pollRecordsMax) }
            return try pollSources(maxRecords: recordsMax)
        } catch let error as LogError where error.code == .corruptBatch {
            for case (let topicPartition, let offset?) in before { try consumer.seek(topicPartition, to: .offset(offset)) }
            try commit()
            throw try damagedReadFailure(error)
        }
    }

    /// The error of a read stopped by damage: the log's report plus the command that moves past
    /// the damaged batch (``DamagedBatchSkip``).
    private func damagedReadFailure(_ error: LogError) throws -> any Error {
        for topicPartition in consumer.assignment {
            let position = try consumer.position(topicPartition)
            guard (try? log.partition(topicPartition).damagedBatch(at: position)) != nil else { continue }
            return PipelineRunError("""
                \(error.description); '\(pipelineName)' committed every record before it. To dead-letter the damaged batch and go on \
                past it: pipeline recover \(pipelineName) --skip-damaged \(topicPartition.topic)/\(topicPartition.partition)@\(position)
                """)
        }
        return error
    }

    /// See ``PipelineRunner/abandon()``.
    func abandon() {
        if case .plain(let producer) = output { producer.abandon() }
    }

    private func beginTransaction() throws {
        if case .transactional(let producer) = output { try producer.beginTransaction() }
        inTransaction = true
        quarantine?.began(now: log.clock.now().rawValue)
    }

    /// Dead-letters the record at the committed offsets, which killed the process while alone in
    /// flight, without running it: its dead letter and the offset past it commit together.
    private func deadLetterKiller() throws -> Int {
        guard let quarantine else { return 0 }
        guard let record = try poll(recordsMax: 1).first else {
            if lag == 0 { self.quarantine?.endIsolation() }
            return 0
        }
        try beginTransaction()
        metrics?.polled([record])
        let source = RawRecord(
            topic: record.topicPartition.topic.rawValue, partition: record.topicPartition.partition.rawValue,
            offset: record.offset.rawValue, key: record.key, value: record.value, timestamp: record.timestamp.rawValue,
            headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) })
        let letter = DeadLetters.crashRecord(source: source, pipeline: pipelineName, deaths: quarantine.deaths, signal: lastCrashSignal,
                                             firstFailure: quarantine.sinceMilliseconds, lastFailure: log.clock.now().rawValue)
        try send(letter, to: topicName(letter.topic))
        metrics?.deadLettered(stage: RecordFailure.Stage.process.rawValue, errorType: "Crash")
        transactionRecords = 1
        uncommittedCounts.deadLettered += 1
        uncommittedCounts.records += 1
        try commit()
        return 1
    }

    /// After a record went through every operator: its store writes are kept (a savepoint) and
    /// its outputs sent.
    @inline(__always)
    private func keepRecord() throws {
        for store in storeList { store.setSavepoint() }
        guard !recordOutputs.isEmpty else { return }
        for output in recordOutputs {
            try send(output.record, to: output.topic)
            metrics?.produced(output.topic)
        }
        recordOutputs.removeAll(keepingCapacity: true)
    }

    /// After a record failed: its store writes are undone back to the savepoint and its held
    /// outputs dropped, so nothing of it commits (but its dead letter, when it gets one).
    private func rollBackRecord() {
        for store in storeList { store.rollBackToSavepoint() }
        recordOutputs.removeAll(keepingCapacity: true)
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
        let positions = try currentPositions()
        switch output {
        case .transactional(let producer):
            for entry in stores.values where entry.store.hasStagedChanges { _ = try entry.changelog.send(through: producer) }
            try producer.sendOffsets(positions, group: group)
            // The audit record last: it can name only what was appended before it.
            try audit?.append(through: producer, inputsFrom: transactionStart, to: positions, nowMilliseconds: log.clock.now().rawValue)
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
        metrics?.committed(skipped: uncommittedCounts.skipped, commitNanoseconds: log.clock.monotonicNanoseconds() &- started,
                           nowMilliseconds: log.clock.now().rawValue)
        retries.committed(positions)
        transactionStart = positions
        quarantine?.committed(records: transactionRecords)
        transactionRecords = 0
        recordsProcessed += uncommittedCounts.records
        deadLettered += uncommittedCounts.deadLettered
        skipped += uncommittedCounts.skipped
        uncommittedCounts = (0, 0, 0)
        for entry in stores.values { try entry.changelog.transactionCommitted() }
        metrics?.storesCommitted(storeList, partition: partition)
        lastCommitNanoseconds = log.clock.monotonicNanoseconds()
        try repartitionPurge.committed(positions, nowNanoseconds: lastCommitNanoseconds)
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
        if inTransaction { metrics?.aborted(.retry) }
        inTransaction = false
        uncommittedCounts = (0, 0, 0)
        transactionRecords = 0
        try writeInFlightMarker()
        for entry in stores.values { entry.changelog.transactionAborted() }
        buffered = [:]
        // Back to where the open transaction started: the committed offsets, or where an
        // out-of-range policy reset a partition whose committed offset the log no longer holds.
        for topicPartition in consumer.assignment {
            let start = transactionStart[topicPartition].map { SeekTarget.offset($0) }
            try consumer.seek(topicPartition, to: start ?? consumer.committed(topicPartition).map { .offset($0) } ?? .earliest)
        }
    }

    /// Polls, buffers, and returns the buffered records that can be processed now, oldest first
    /// (at most `recordsMax`): it stops at a partition whose buffer ran dry while it still
    /// has records to read, since one of those may be older than every buffered record.
    private func pollInTimestampOrder(recordsMax: Int) throws -> [ConsumerRecord] {
        for record in try pollSources() { buffered[record.topicPartition, default: []].append(record) }
        let unread = try consumer.lag()
        let assignment = consumer.assignment
        var result: [ConsumerRecord] = []
        while result.count < recordsMax {
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

    /// Polls the consumer, holding it to ``PipelineConfiguration/offsetOutOfRange``.
    private func pollSources(maxRecords: Int? = nil) throws -> [ConsumerRecord] {
        let records: [ConsumerRecord]
        do {
            records = try consumer.poll(maxRecords: maxRecords)
        } catch {
            throw offsetOutOfRangeFailure(error)
        }
        countOffsetResets()
        return records
    }

    /// Resolves every input position now (at start), so a committed offset out of range stops
    /// the pipeline before it does anything, or is reset and counted.
    private func resolvePositions() throws {
        do {
            for topicPartition in consumer.assignment { _ = try consumer.position(topicPartition) }
        } catch {
            throw offsetOutOfRangeFailure(error)
        }
        countOffsetResets()
    }

    /// A position out of range under the `.fail` policy as the error that stops the pipeline,
    /// saying how to go on; any other error as it is.
    private func offsetOutOfRangeFailure(_ error: LogError) -> any Error {
        guard error.code == .offsetOutOfRange else { return error }
        return PipelineRunError("""
            pipeline '\(pipelineName)': \(error.message); its offset-out-of-range policy is fail \
            (to go on from the log start: PipelineConfiguration.offsetOutOfRange = .earliest, or run with --offset-out-of-range earliest)
            """)
    }

    /// Counts the records lost to the resets the consumer made (it logged each as a warning).
    private func countOffsetResets() {
        for reset in consumer.takeOffsetResets() { recordsLost[reset.topicPartition, default: 0] += reset.recordsLost }
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
