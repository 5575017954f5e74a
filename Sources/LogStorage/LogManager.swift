package import StreamCore
import RecordFormat
package import Logging
import Foundation

/// Settings of a data directory as a whole.
package struct LogOptions: Sendable {
    /// Partitions of the internal `__consumer_offsets` topic (fixed once created).
    package var offsetsTopicPartitions: Int = 8
    /// Segment size of the internal compacted topics created here.
    package var internalSegmentBytesMax: Int = 16 << 20
    /// Who is opening the directory, recorded in its lock so a second process can name it.
    package var ownerDescription: String = "sluice"
    /// The simulator's hook into the protocol's named steps; disabled in production.
    package var crashPoints: CrashPoints = .disabled
    /// A producer that has written nothing to a partition for this long (wall clock) and has no
    /// transaction open there is forgotten by that partition (Kafka's
    /// `producer.id.expiration.ms`, default 7 days).
    package var producerIDExpirationMilliseconds: Int64 = 7 * 24 * 3_600_000
    package init() {}
}

/// A data directory: the root of every topic, holding the directory lock for its lifetime.
///
/// Layout:
/// ```
/// <data-dir>/
///   .lock                              exclusive lock + the owner's description
///   topics/<topic>/topic.json          the topic's TopicConfig
///   topics/<topic>/<partition>/        segments: 00000000000000000000.log, .index, .timeindex, .txnindex
///   staging/                           topics being created or deleted
///   recovery-point-offset-checkpoint.0, .1   every partition's recovery point (``RecoveryPoints``)
/// ```
/// A topic appears atomically: it is built in `staging/creating-<topic>` and renamed into
/// `topics/`. Deletion renames it to `staging/deleting-<topic>` first. Whatever is left in
/// `staging/` is removed on open, so `topics/` only ever holds whole topics.
///
/// Maintenance (``maintain()``, and the maintenance thread of long-running processes) forgets
/// idle producers, applies retention, compacts, and runs the tasks the layers above install
/// (``setMaintenanceTask(_:_:)``: the transaction coordinator's sweep), so every process that
/// opens the directory and runs maintenance gets all of it.
///
/// - Invariant: one process at a time owns a data directory.
/// - Invariant: after ``close()`` returns nothing of this manager touches the directory: the
///   maintenance thread has finished and every partition (and running compaction pass) is done.
/// Thread-safety: safe from any thread.
package final class LogManager: @unchecked Sendable {
    package let directory: String
    package let storage: any Storage
    package let clock: any EngineClock
    package let logger: Logger
    package let options: LogOptions
    let lock = Lock()
    var topics: [TopicName: Topic] = [:]
    private var directoryLock: (any StorageLock)?
    private var offsetsStore: ConsumerOffsets?
    /// The layers above's maintenance work, by name (under `lock`).
    private var maintenanceTasks: [String: @Sendable () throws -> Void] = [:]
    /// Guards the maintenance thread's start and stop, and wakes it to stop.
    private let maintenanceSignal = NSCondition()
    private var maintenanceThread: (thread: Thread, exited: DispatchSemaphore)?
    private var maintenanceStopping = false
    /// How far each partition is known to be synced; checkpointed once per flush group.
    var recoveryPoints: RecoveryPoints!
    /// The first failed sync here, after which nothing more is written until the next open.
    package let syncFailure = SyncFailure()
    /// The in-process coordinator of consumer groups.
    package let groups = GroupCoordinator()

    /// The consumer offsets of every group (the `__consumer_offsets` topic).
    package var offsets: ConsumerOffsets { offsetsStore! }

    private var topicsDirectory: String { joinPath(directory, "topics") }
    private var stagingDirectory: String { joinPath(directory, "staging") }

    private init(directory: String, storage: any Storage, clock: any EngineClock, logger: Logger, options: LogOptions) {
        self.directory = directory
        self.storage = storage
        self.clock = clock
        self.logger = logger
        self.options = options
    }

    /// Opens (creating when missing) the data directory and takes its lock. It reads each topic's
    /// `topic.json` and opens only the partitions of `__consumer_offsets`; every other partition
    /// is opened, recovered when it needs it, and maintained at its first use (see ``Topic``).
    /// - Throws: `.locked` naming the owner when another process holds the directory.
    package static func open(
        directory: String, storage: any Storage = POSIXStorage(), clock: any EngineClock = SystemClock(),
        options: LogOptions = LogOptions(), logger: Logger = Logger(label: "sluice.log")
    ) throws(LogError) -> LogManager {
        let manager = LogManager(directory: directory, storage: storage, clock: clock, logger: logger, options: options)
        try storageCall("creating data directory \(directory)") { () throws(StorageError) in
            let topics = joinPath(directory, "topics")
            let staging = joinPath(directory, "staging")
            // Only a directory this open creates needs its entries synced: opening an existing
            // one writes nothing.
            guard !storage.isDirectory(topics) || !storage.isDirectory(staging) else { return }
            try storage.createDirectory(topics)
            try storage.createDirectory(staging)
            try storage.syncDirectory(directory)
            try storage.syncDirectory(parentPath(directory))
        }
        do {
            manager.directoryLock = try storage.lockDirectory(directory, owner: LogManager.ownerLine(options.ownerDescription))
        } catch {
            throw LogError(.locked, "data directory \(directory) is in use: \(error.detail.isEmpty ? "locked" : error.detail)", storageError: error)
        }
        do {
            manager.recoveryPoints = try RecoveryPoints(storage: storage, directory: directory, syncFailure: manager.syncFailure)
            try manager.loadTopics()
            let offsetsTopic = try manager.internalTopic(ConsumerOffsets.topicName, partitions: options.offsetsTopicPartitions)
            manager.offsetsStore = try ConsumerOffsets(partitions: try offsetsTopic.partitions, clock: clock)
        } catch {
            manager.close()
            throw error
        }
        return manager
    }

    private static func ownerLine(_ description: String) -> String {
        let started = ISO8601DateFormatter().string(from: Date())
        return "pid \(ProcessInfo.processInfo.processIdentifier) (\(description)) since \(started)"
    }

    private func loadTopics() throws(LogError) {
        let root = topicsDirectory
        let storage = self.storage
        let staging = stagingDirectory
        let leftovers = try storageCall("listing \(staging)") { () throws(StorageError) in try storage.listDirectory(staging) }
        for name in leftovers {
            let path = joinPath(staging, name)
            try storageCall("removing \(path)") { () throws(StorageError) in
                if storage.isDirectory(path) { try storage.removeDirectory(path) } else { try storage.removeFile(path) }
            }
        }
        let names = try storageCall("listing \(root)") { () throws(StorageError) in try storage.listDirectory(root) }
        for name in names {
            let path = joinPath(root, name)
            guard let topicName = TopicName(rawValue: name), storage.isDirectory(path) else { continue }
            let config = try readConfig(of: topicName)
            topics[topicName] = openTopic(topicName, config: config, directory: path)
        }
    }

    /// Reads `topic.json`. It has no checksum, so bytes that do not decode are read again (up to
    /// three stable reads) before the topic is declared unreadable: two reads that agree can
    /// still share a transient error (the simulator's seed 1186 flipped the same bit twice).
    private func readConfig(of name: TopicName) throws(LogError) -> TopicConfig {
        let path = joinPath(topicsDirectory, name.rawValue, "topic.json")
        let storage = self.storage
        for _ in 0..<3 {
            let bytes = try storageCall("reading \(path)") { () throws(StorageError) -> [UInt8] in
                let file = try storage.openFile(path, mode: .read)
                defer { file.close() }
                return try readStably(file)
            }
            if let config = try? JSONDecoder().decode(TopicConfig.self, from: Data(bytes)), config.problem() == nil { return config }
        }
        throw LogError(.invalidConfig, "the configuration of topic '\(name)' at \(path) is unreadable")
    }

    /// The topic at `directory`, none of whose partitions is opened yet: each opens, is recovered
    /// when it was not closed cleanly, and gets its first maintenance pass (``maintain(_:of:options:logger:)``)
    /// at its first use.
    private func openTopic(_ name: TopicName, config: TopicConfig, directory: String) -> Topic {
        Topic(name: name, config: config, directory: directory, openPartition: partitionOpener(name, config: config, directory: directory))
    }

    /// Opens one partition of the topic at `directory` with `config` (for ``Topic``).
    func partitionOpener(
        _ name: TopicName, config: TopicConfig, directory: String
    ) -> @Sendable (PartitionID) throws(LogError) -> PartitionLog {
        let (storage, clock, logger, options) = (self.storage, self.clock, self.logger, self.options)
        let (recoveryPoints, syncFailure) = (self.recoveryPoints!, self.syncFailure)
        return { (id: PartitionID) throws(LogError) -> PartitionLog in
            // Recovery writes and syncs: refused once a sync failed, and a sync failing in it
            // stops the directory, as any other write.
            try syncFailure.guarding { () throws(LogError) -> PartitionLog in
                let partition = try PartitionLog(
                    topicPartition: TopicPartition(name, id), directory: joinPath(directory, String(id.rawValue)), config: config,
                    storage: storage, clock: clock, logger: logger, recoveryPoints: recoveryPoints,
                    syncFailure: syncFailure, crashPoints: options.crashPoints)
                do throws(LogError) {
                    try LogManager.maintain(partition, of: config, options: options, logger: logger)
                } catch {
                    partition.close()
                    throw error
                }
                return partition
            }
        }
    }

    private func internalTopic(_ name: TopicName, partitions: Int) throws(LogError) -> Topic {
        if let existing = topics[name] { return existing }
        var config = TopicConfig.compacted(partitionCount: partitions)
        config.segmentBytesMax = options.internalSegmentBytesMax
        config.batchBytesMax = min(config.batchBytesMax, options.internalSegmentBytesMax)
        return try createTopic(name, config: config)
    }

    // MARK: Topics

    /// Creates a topic; it appears whole or not at all.
    /// - Throws: `.topicExists`, `.invalidConfig`.
    @discardableResult
    package func createTopic(_ name: TopicName, config: TopicConfig) throws(LogError) -> Topic {
        if let problem = config.problem() { throw LogError(.invalidConfig, "cannot create topic '\(name)': \(problem)") }
        try syncFailure.check()
        lock.lock(); defer { lock.unlock() }
        if topics[name] != nil { throw LogError(.topicExists, "topic '\(name)' already exists") }
        let staging = joinPath(stagingDirectory, "creating-\(name.rawValue)")
        let final = joinPath(topicsDirectory, name.rawValue)
        let storage = self.storage
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: [UInt8]
        do { json = Array(try encoder.encode(config)) } catch {
            throw LogError(.invalidConfig, "cannot create topic '\(name)': its configuration does not encode: \(error)")
        }
        try syncFailure.guarding { () throws(LogError) in
            let file = try storageCall("creating topic '\(name)'") { () throws(StorageError) -> any StorageFile in
                if storage.exists(staging) { try storage.removeDirectory(staging) }
                try storage.createDirectory(staging)
                for index in 0..<config.partitionCount { try storage.createDirectory(joinPath(staging, String(index))) }
                let file = try storage.openFile(joinPath(staging, "topic.json"), mode: .createNew)
                try file.write(json, at: 0)
                return file
            }
            defer { file.close() }
            try syncFile(file)
            try storageCall("creating topic '\(name)'") { () throws(StorageError) in
                // The staged entries first, then the rename that publishes them.
                try storage.syncDirectory(staging)
                try storage.rename(staging, to: final)
                try storage.syncDirectory(topicsDirectory)
                try storage.syncDirectory(stagingDirectory)
            }
        }
        let topic = openTopic(name, config: config, directory: final)
        // A new topic's partitions get their first segments now, so that no later open of
        // the directory (a read-only command's included) has to create them.
        _ = try topic.partitions
        topics[name] = topic
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(config.partitionCount)"])
        return topic
    }

    /// Deletes a topic and all its data.
    package func deleteTopic(_ name: TopicName) throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        guard let topic = topics[name] else { throw LogError.unknownTopic(name.rawValue) }
        if name.isInternal { throw LogError(.invalidConfig, "internal topic '\(name)' cannot be deleted") }
        topic.close()
        topics[name] = nil
        recoveryPoints.remove(topic: name)
        let doomed = joinPath(stagingDirectory, "deleting-\(name.rawValue)")
        let storage = self.storage
        try storageCall("deleting topic '\(name)'") { () throws(StorageError) in
            if storage.exists(doomed) { try storage.removeDirectory(doomed) }
            try storage.rename(topic.directory, to: doomed)
            try storage.syncDirectory(topicsDirectory)
            try storage.removeDirectory(doomed)
            try storage.syncDirectory(stagingDirectory)
        }
    }

    /// The topic called `name`.
    /// - Throws: `.unknownTopic`.
    package func topic(_ name: TopicName) throws(LogError) -> Topic {
        lock.lock(); defer { lock.unlock() }
        guard let topic = topics[name] else { throw LogError.unknownTopic(name.rawValue) }
        return topic
    }

    /// The topic called `name`, validating the name first.
    /// - Throws: `.invalidTopicName`, `.unknownTopic`.
    package func topic(named name: String) throws(LogError) -> Topic {
        let topicName: TopicName
        do { topicName = try TopicName(validating: name) } catch { throw LogError(.invalidTopicName, error.description) }
        return try topic(topicName)
    }

    /// Whether a topic exists.
    package func hasTopic(_ name: TopicName) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return topics[name] != nil
    }

    /// Every topic name, sorted; internal topics only when asked.
    package func topicNames(includeInternal: Bool = false) -> [TopicName] {
        lock.lock(); defer { lock.unlock() }
        return topics.keys.filter { includeInternal || !$0.isInternal }.sorted()
    }

    /// One partition of a topic.
    package func partition(_ topicPartition: TopicPartition) throws(LogError) -> PartitionLog {
        try topic(topicPartition.topic).partition(topicPartition.partition)
    }

    // MARK: Durability

    /// Makes every append so far to `partitions` durable as one flush group: one sync of each
    /// partition's active `.log`, then one checkpoint of the recovery points for all of them,
    /// before it returns.
    /// - Throws: `.syncFailed` when a sync failed, now or earlier; the directory then takes no
    ///   more writes until it is reopened (see ``SyncFailure``).
    package func sync(_ partitions: [TopicPartition]) throws(LogError) {
        for topicPartition in partitions { try partition(topicPartition).syncLog() }
        try recoveryPoints.checkpoint()
    }

    // MARK: Maintenance

    /// Runs one maintenance pass over the whole directory: forgets idle producers in every
    /// partition, applies retention to every delete-policy topic, compacts every compact-policy
    /// partition worth a pass, then runs the maintenance tasks of the layers above (the
    /// transaction coordinator's sweep of timed-out transactions and expired transactional ids).
    ///
    /// It visits every partition, opening those not opened yet (each open is itself a pass over
    /// that partition, see ``maintain(_:of:options:logger:)``). Opening the directory runs no
    /// such pass: a partition gets its first pass when it is first used, so a command pays only
    /// for the partitions it touches; the maintenance thread of long-running processes calls
    /// this, and so visits (and opens) every partition once per interval.
    package func maintain() throws(LogError) {
        try cleanLog()
        runMaintenanceTasks()
    }

    private func cleanLog() throws(LogError) {
        for name in topicNames(includeInternal: true) {
            guard let topic = try? topic(name) else { continue }  // deleted since the names were listed
            for index in 0..<topic.partitionCount {
                let id = PartitionID(index)
                // A partition's first use runs its pass; only those already open need one here.
                let opened = topic.isOpened(id)
                let partition: PartitionLog
                do {
                    partition = try topic.partition(id)
                } catch {
                    if error.code == .closed { break }  // deleted meanwhile
                    if error.code == .storage || error.code == .diskFull { throw error }
                    logger.error("maintenance could not open a partition", metadata: ["partition": "\(TopicPartition(name, id))", "error": "\(error)"])
                    continue
                }
                if opened { try Self.maintain(partition, of: topic.config, options: options, logger: logger) }
            }
        }
    }

    /// One partition's maintenance: forgets its idle producers, then applies retention (delete
    /// policy) or compacts it when worth a pass (compact policy). Every partition gets one at its
    /// first use in a process, before anything reads or writes it, and one per ``maintain()``.
    /// - Throws: only storage failures (`.storage`, `.diskFull`); a damaged partition is logged
    ///   and left as it is, so it cannot stop the others.
    static func maintain(_ partition: PartitionLog, of config: TopicConfig, options: LogOptions, logger: Logger) throws(LogError) {
        do {
            try partition.expireProducers(idleMilliseconds: options.producerIDExpirationMilliseconds)
            switch config.cleanupPolicy {
            case .delete: try partition.enforceRetention()
            case .compact: if partition.needsCompaction { try partition.compact() }
            }
        } catch {
            if error.code == .storage || error.code == .diskFull { throw error }
            logger.error("maintenance skipped a partition", metadata: ["partition": "\(partition.topicPartition)", "error": "\(error)"])
        }
    }

    /// Installs (or, with nil, removes) the maintenance task called `name`; a later task of the
    /// same name replaces the earlier one (a coordinator reopened over the same log replaces its
    /// predecessor's sweep). Tasks run at the end of every ``maintain()`` and, once
    /// ``startBackgroundMaintenance(intervalMilliseconds:sweepIntervalMilliseconds:)`` was called,
    /// every sweep interval on the maintenance thread. A task's error is logged, never thrown.
    package func setMaintenanceTask(_ name: String, _ task: (@Sendable () throws -> Void)?) {
        lock.lock(); defer { lock.unlock() }
        maintenanceTasks[name] = task
    }

    private func runMaintenanceTasks() {
        lock.lock()
        let tasks = maintenanceTasks.sorted { $0.key < $1.key }
        lock.unlock()
        for (name, task) in tasks {
            do { try task() } catch { logger.error("maintenance task failed", metadata: ["task": "\(name)", "error": "\(error)"]) }
        }
    }

    /// Starts the maintenance thread, for long-running processes: it runs the maintenance tasks
    /// every `sweepIntervalMilliseconds` and the whole of ``maintain()`` every
    /// `intervalMilliseconds`, until ``close()``, which wakes and waits for it. That pass visits
    /// every partition of the directory, opening (and so recovering) those the process has not
    /// used yet. Failures are logged, not thrown. Calling it again does nothing.
    package func startBackgroundMaintenance(intervalMilliseconds: Int = 30_000, sweepIntervalMilliseconds: Int = 1_000) {
        maintenanceSignal.lock()
        defer { maintenanceSignal.unlock() }
        guard maintenanceThread == nil, !maintenanceStopping else { return }
        let cleanInterval = Double(max(1, intervalMilliseconds)) / 1000
        let sweepInterval = Double(max(1, min(sweepIntervalMilliseconds, intervalMilliseconds))) / 1000
        let exited = DispatchSemaphore(value: 0)
        let thread = Thread { [weak self] in
            defer { exited.signal() }
            var nextClean = Date().addingTimeInterval(cleanInterval)
            while let self, self.waitForNextSweep(until: Date().addingTimeInterval(sweepInterval)) {
                do {
                    if Date() >= nextClean {
                        try self.maintain()
                        nextClean = Date().addingTimeInterval(cleanInterval)
                    } else {
                        self.runMaintenanceTasks()
                    }
                } catch {
                    self.logger.error("maintenance failed: \(error)")
                }
            }
        }
        thread.name = "sluice-log-maintenance"
        maintenanceThread = (thread, exited)
        thread.start()
    }

    /// Waits until `deadline` or until ``close()`` asks the thread to stop.
    /// - Returns: false when the thread must stop.
    private func waitForNextSweep(until deadline: Date) -> Bool {
        maintenanceSignal.lock()
        defer { maintenanceSignal.unlock() }
        while !maintenanceStopping && Date() < deadline { _ = maintenanceSignal.wait(until: deadline) }
        return !maintenanceStopping
    }

    /// Stops the maintenance thread and waits until it has finished its current pass.
    private func stopBackgroundMaintenance() {
        maintenanceSignal.lock()
        maintenanceStopping = true
        maintenanceSignal.broadcast()
        let running = maintenanceThread
        maintenanceSignal.unlock()
        running?.exited.wait()
    }

    /// Stops (and waits for) the maintenance thread, closes every partition (leaving those written
    /// to clean for the next open), checkpoints the recovery points when they moved, and then
    /// releases the directory lock: nothing touches the directory after it returns. A directory
    /// only read is closed without a write.
    /// - Precondition: not called from a maintenance task.
    package func close() {
        stopBackgroundMaintenance()
        lock.lock()
        let all = topics.values
        topics = [:]
        maintenanceTasks = [:]
        lock.unlock()
        for topic in all { topic.close() }
        if let recoveryPoints, syncFailure.error == nil {
            do {
                try recoveryPoints.checkpoint()
            } catch {
                // close() cannot fail; the next open recovers from the previous checkpoint.
                logger.error("checkpointing the recovery points at close failed", metadata: ["error": "\(error)"])
            }
        }
        directoryLock?.release()
        directoryLock = nil
    }
}
