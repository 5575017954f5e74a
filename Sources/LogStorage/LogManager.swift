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
/// - Invariant: one process at a time owns a data directory.
/// Thread-safety: safe from any thread.
package final class LogManager: @unchecked Sendable {
    package let directory: String
    package let storage: any Storage
    package let clock: any EngineClock
    package let logger: Logger
    package let options: LogOptions
    private let lock = Lock()
    private var topics: [TopicName: Topic] = [:]
    private var directoryLock: (any StorageLock)?
    private var offsetsStore: ConsumerOffsets?
    private var maintenanceThread: Thread?
    /// How far each partition is known to be synced; checkpointed once per flush group.
    private var recoveryPoints: RecoveryPoints!
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

    /// Opens (creating when missing) the data directory, takes its lock and recovers every
    /// partition.
    /// - Throws: `.locked` naming the owner when another process holds the directory.
    package static func open(
        directory: String, storage: any Storage = POSIXStorage(), clock: any EngineClock = SystemClock(),
        options: LogOptions = LogOptions(), logger: Logger = Logger(label: "sluice.log")
    ) throws(LogError) -> LogManager {
        let manager = LogManager(directory: directory, storage: storage, clock: clock, logger: logger, options: options)
        try storageCall("creating data directory \(directory)") { () throws(StorageError) in
            try storage.createDirectory(joinPath(directory, "topics"))
            try storage.createDirectory(joinPath(directory, "staging"))
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
            manager.offsetsStore = try ConsumerOffsets(partitions: offsetsTopic.partitions, clock: clock)
            try manager.maintain()
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
            topics[topicName] = try openTopic(topicName, config: config, directory: path)
        }
    }

    private func readConfig(of name: TopicName) throws(LogError) -> TopicConfig {
        let path = joinPath(topicsDirectory, name.rawValue, "topic.json")
        let storage = self.storage
        let bytes = try storageCall("reading \(path)") { () throws(StorageError) -> [UInt8] in
            let file = try storage.openFile(path, mode: .read)
            defer { file.close() }
            return try readStably(file)
        }
        guard let config = try? JSONDecoder().decode(TopicConfig.self, from: Data(bytes)), config.problem() == nil else {
            throw LogError(.invalidConfig, "the configuration of topic '\(name)' at \(path) is unreadable")
        }
        return config
    }

    private func openTopic(_ name: TopicName, config: TopicConfig, directory: String) throws(LogError) -> Topic {
        var partitions: [PartitionLog] = []
        for index in 0..<config.partitionCount {
            let partition = TopicPartition(name, PartitionID(index))
            let partitionLogger = logger
            partitions.append(try PartitionLog(
                topicPartition: partition, directory: joinPath(directory, String(index)), config: config,
                storage: storage, clock: clock, logger: partitionLogger, recoveryPoints: recoveryPoints,
                syncFailure: syncFailure, crashPoints: options.crashPoints))
        }
        return Topic(name: name, config: config, directory: directory, partitions: partitions)
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
            try storageCall("creating topic '\(name)'") { () throws(StorageError) in try storage.rename(staging, to: final) }
        }
        let topic = try openTopic(name, config: config, directory: final)
        topics[name] = topic
        logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(config.partitionCount)"])
        return topic
    }

    /// Deletes a topic and all its data.
    package func deleteTopic(_ name: TopicName) throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        guard let topic = topics[name] else { throw LogError.unknownTopic(name.rawValue) }
        if name.isInternal { throw LogError(.invalidConfig, "internal topic '\(name)' cannot be deleted") }
        for partition in topic.partitions { partition.close() }
        topics[name] = nil
        recoveryPoints.remove(topic: name)
        let doomed = joinPath(stagingDirectory, "deleting-\(name.rawValue)")
        let storage = self.storage
        try storageCall("deleting topic '\(name)'") { () throws(StorageError) in
            if storage.exists(doomed) { try storage.removeDirectory(doomed) }
            try storage.rename(topic.directory, to: doomed)
            try storage.removeDirectory(doomed)
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

    /// Applies retention to every delete-policy topic and compacts every compact-policy
    /// partition that has enough uncleaned data.
    package func maintain() throws(LogError) {
        for name in topicNames(includeInternal: true) {
            guard let topic = try? topic(name) else { continue }  // deleted since the names were listed
            for partition in topic.partitions {
                do {
                    switch topic.config.cleanupPolicy {
                    case .delete: try partition.enforceRetention()
                    case .compact: if partition.needsCompaction { try partition.compact() }
                    }
                } catch {
                    // One damaged partition must not stop the others (nor the open).
                    if error.code == .storage || error.code == .diskFull { throw error }
                    logger.error("maintenance skipped a partition", metadata: ["partition": "\(partition.topicPartition)", "error": "\(error)"])
                }
            }
        }
    }

    /// Runs ``maintain()`` every `intervalMilliseconds` on a background thread until ``close()``,
    /// for long-running processes. Failures are logged, not thrown.
    package func startBackgroundMaintenance(intervalMilliseconds: Int = 30_000) {
        lock.lock()
        defer { lock.unlock() }
        guard maintenanceThread == nil else { return }
        let thread = Thread { [weak self] in
            while !Thread.current.isCancelled {
                Thread.sleep(forTimeInterval: Double(intervalMilliseconds) / 1000)
                guard let self, !Thread.current.isCancelled else { return }
                do { try self.maintain() } catch { self.logger.error("maintenance failed: \(error)") }
            }
        }
        thread.name = "sluice-log-maintenance"
        maintenanceThread = thread
        thread.start()
    }

    /// Closes every partition (leaving those written to clean for the next open), checkpoints the
    /// recovery points when they moved, and releases the directory lock. A directory only read
    /// is closed without a write.
    package func close() {
        maintenanceThread?.cancel()
        lock.lock()
        let all = topics.values
        topics = [:]
        lock.unlock()
        for topic in all { for partition in topic.partitions { partition.close() } }
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
