import ArgumentParser
import StreamCore
import LogStorage
import Transactions
import StateStores
import RecordFormat
import PipelineRuntime
import Sluice
import MetricsExport
import Logging
import Foundation

/// `pipeline run NAME [--until-idle] [--threads N] [--store-backend STORE=rocksdb] [--guarantee G]
/// [--commit-interval D] [--offset-out-of-range fail|earliest|latest] [--lineage-headers] [--audit on|off] [--metrics HOST:PORT] [--data-dir DIR]`: runs a pipeline of the catalog over the data directory,
/// exactly-once unless the pipeline or `--guarantee at-least-once` says otherwise. Ctrl-C commits what is done and exits; running it
/// again resumes exactly where it committed. A record that kills the process again and again is
/// narrowed down and dead-lettered (``CrashQuarantine``). With `--metrics` it serves `GET /metrics`
/// (Prometheus' text format) on that address while it runs.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a pipeline from the catalog.")

    @Argument(help: "The pipeline's name (see `pipeline list`).") var name: String
    @Flag(name: .customLong("until-idle"), help: "Exit once every input record committed so far is processed; otherwise follow.")
    var untilIdle = false
    @Option(help: "Threads for the workers (one worker per input partition); default: the pipeline's setting, else one per core.")
    var threads: Int?
    @Option(name: .customLong("store-backend"), help: ArgumentHelp(
        "Where a state store keeps its committed state, overriding the pipeline's setting: STORE=memory or STORE=rocksdb (repeatable).",
        valueName: "STORE=BACKEND"))
    var storeBackends: [String] = []
    @Option(help: "exactly-once or at-least-once, overriding the pipeline's setting (at-least-once: outputs and state are flushed before offsets commit; a crash can repeat records).")
    var guarantee: String?
    @Option(name: .customLong("commit-interval"), help: "How long one commit collects records (e.g. 10ms, 100ms, 1s), overriding the pipeline's setting.")
    var commitInterval: String?
    @Option(name: .customLong("offset-out-of-range"), help: ArgumentHelp(
        "What to do with a committed offset outside its partition (retention deleted unread records, or the log was cut short), overriding the pipeline's setting: fail (stop with an error), earliest (go on from the log start) or latest (from the log end); both go on with a warning and count the records lost.",
        valueName: "fail|earliest|latest"))
    var offsetOutOfRange: String?
    @Option(name: .customLong("progress-interval"), help: "How often the progress line on standard error is printed (e.g. 100ms; default 1s, 0.2s on a terminal).")
    var progressInterval: String?
    @Option(help: ArgumentHelp("Serve the pipeline's metrics and every consumer group's lag as GET /metrics (Prometheus text) on this address.",
                               valueName: "HOST:PORT"))
    var metrics: String?
    @Flag(name: .customLong("lineage-headers"), help: "Give every output record a sluice.source header naming the input record that caused it (topic/partition/offset), overriding the pipeline's setting.")
    var lineageHeaders = false
    @Option(help: "on or off: whether every commit appends its audit record to <pipeline>.audit, overriding the pipeline's setting (on by default).")
    var audit: String?
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let metrics { _ = try HostPort(metrics, flag: "--metrics") }
        _ = try parsedStoreBackends()
    }

    /// `--store-backend` values as store → backend.
    private func parsedStoreBackends() throws -> [String: StoreBackend] {
        var result: [String: StoreBackend] = [:]
        for entry in storeBackends {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let backend = StoreBackend(rawValue: parts[1]) else {
                throw ValidationError("--store-backend '\(entry)': expected STORE=memory or STORE=rocksdb")
            }
            result[parts[0]] = backend
        }
        return result
    }

    func run() throws {
        // Before the slow start (open, recovery, restore), so a Ctrl-C then still ends cleanly.
        let stop = InterruptFlag()
        let defined = try catalogPipeline(name)
        let overrides = try parsedStoreBackends()
        let stores = Set(defined.topology.storeNames)
        if let unknown = overrides.keys.sorted().first(where: { !stores.contains($0) }) {
            throw CLIError("--store-backend: pipeline '\(name)' has no store '\(unknown)' (its stores: \(stores.sorted().joined(separator: ", ")))")
        }
        var configuration = defined.configuration
        configuration.storeBackends.merge(overrides) { _, override in override }
        if let guarantee { configuration.guarantee = try parseGuarantee(guarantee) }
        if let commitInterval { configuration.commitInterval = .milliseconds(try parseCommitInterval(commitInterval)) }
        if let offsetOutOfRange {
            guard let policy = OffsetOutOfRangePolicy(rawValue: offsetOutOfRange) else {
                throw CLIError("invalid --offset-out-of-range '\(offsetOutOfRange)' (fail, earliest or latest)")
            }
            configuration.offsetOutOfRange = policy
        }
        let progressSeconds = try progressInterval.map { text -> TimeInterval in
            guard let milliseconds = Units.milliseconds(text), milliseconds > 0 else {
                throw CLIError("invalid --progress-interval '\(text)' (a duration such as 100ms or 1s)")
            }
            return TimeInterval(milliseconds) / 1000
        }
        if lineageHeaders { configuration.lineageHeaders = true }
        if let audit { configuration.audit = try parseAuditSwitch(audit) }
        let pipeline: any PipelineDefinition = configuration == defined.configuration ? defined : ReconfiguredPipeline(defined, configuration: configuration)
        let metricsAddress = try metrics.map { try HostPort($0, flag: "--metrics") }
        try withEngine(data, command: "run \(name)") { log, coordinator in
            log.startBackgroundMaintenance()
            let statusBoard = PipelineStatusBoard()
            let metricsServer = try metricsAddress.map {
                try startMetricsListener($0, log: log, status: statusBoard, logger: Logger(label: "sluice.metrics"))
            }
            defer { if let metricsServer { try? runBlocking { try await metricsServer.shutdown() } } }
            let runner: PipelineRunner
            do {
                runner = try PipelineRunner(pipeline: pipeline, log: log, coordinator: coordinator, quarantinesCrashes: true,
                                            recordsMetrics: metricsServer != nil)
            } catch let error as PipelineRunError {
                throw CLIError(error.description)
            }
            if let activity = runner.activity { statusBoard.register(pipeline, activity: activity) }
            // After the runner read the previous process's signal, before any record runs.
            CrashSignalRecorder.install(path: CrashQuarantine.signalPath(log: log, pipeline: pipeline.name))
            let reporter = ProgressReporter(interval: progressSeconds)
            let started = Date()
            var lastCount = 0
            var lastTime = started
            let threadCount = threads ?? pipeline.configuration.threads ?? ProcessInfo.processInfo.activeProcessorCount
            try runner.run(untilIdle: untilIdle, threads: threadCount, shouldStop: { stop.isSet }) { progress in
                let now = Date()
                let elapsed = now.timeIntervalSince(lastTime)
                guard elapsed >= min(1, progressSeconds ?? 1) else { return }
                let rate = Int(Double(progress.recordsProcessed - lastCount) / elapsed)
                lastCount = progress.recordsProcessed
                lastTime = now
                reporter.report("\(pipeline.name): \(progress.recordsProcessed) records, \(rate) records/s, lag \(progress.lag), dead-lettered \(progress.deadLettered)")
            }
            reporter.finish()
            let progress = runner.progress
            let seconds = max(Date().timeIntervalSince(started), 0.001)
            print("\(pipeline.name): processed \(progress.recordsProcessed) records in \(String(format: "%.2f", seconds)) s (\(Int(Double(progress.recordsProcessed) / seconds)) records/s), dead-lettered \(progress.deadLettered), lag \(progress.lag)\(progress.skipped > 0 ? ", skipped \(progress.skipped)" : "")\(Self.recordsLostText(progress.recordsLost))")
        }
    }
}

extension RunCommand {
    /// `, records lost: orders/0 170, orders/1 3` for the summary line; empty when none were.
    static func recordsLostText(_ lost: [TopicPartition: Int64]) -> String {
        guard !lost.isEmpty else { return "" }
        return ", records lost: " + lost.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

/// `exactly-once` or `at-least-once`, else a one-line error.
func parseGuarantee(_ text: String) throws -> PipelineConfiguration.Guarantee {
    guard let guarantee = PipelineConfiguration.Guarantee(rawValue: text) else {
        throw CLIError("invalid guarantee '\(text)' (exactly-once or at-least-once)")
    }
    return guarantee
}

/// A commit interval such as `10ms`, `100ms`, `1s`, `2.5s` or `1m` in milliseconds (1 ms to 1 h),
/// else a one-line error.
func parseCommitInterval(_ text: String) throws -> Int64 {
    guard let milliseconds = Units.milliseconds(text), milliseconds > 0, milliseconds <= 3_600_000 else {
        throw CLIError("invalid commit interval '\(text)' (between 1ms and 1h, e.g. 100ms)")
    }
    return milliseconds
}

/// `--audit on|off` as a Bool, else a one-line error.
func parseAuditSwitch(_ text: String) throws -> Bool {
    try parseOnOff(text, flag: "--audit")
}

/// `on` or `off` of `flag`, else a one-line error.
func parseOnOff(_ text: String, flag: String) throws -> Bool {
    switch text {
    case "on": return true
    case "off": return false
    default: throw CLIError("invalid \(flag) '\(text)' (on or off)")
    }
}

/// A catalog pipeline whose configuration (store backends, guarantee, commit interval) was
/// overridden from the command line.
struct ReconfiguredPipeline: PipelineDefinition {
    let base: any PipelineDefinition
    let configuration: PipelineConfiguration

    init(_ base: any PipelineDefinition, configuration: PipelineConfiguration) {
        self.base = base
        self.configuration = configuration
    }

    var name: String { base.name }
    var summary: String { base.summary }
    var body: Topology { base.body }
}

/// `pipeline state …`: inspect state stores.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Inspect pipeline state stores.", subcommands: [StateShow.self])
}

/// `pipeline state show PIPELINE STORE [--key K]`: a store's committed contents, restored from its
/// checkpoints and changelog, one `key<TAB>value` line per entry.
///
/// With `--key`, only the partition the key belongs to is restored first (records are keyed and
/// partitioned by murmur2, so the key's state lives in that partition's store), and a store the
/// pipeline keeps in RocksDB is opened as it is, replaying only the changelog after its recorded
/// offset; the other partitions are searched only when the key is not there.
struct StateShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a store's committed contents.")
    @Argument var pipeline: String
    @Argument var store: String
    @Option(help: "Only this key.") var key: String?
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let backend = CatalogRegistry.catalog.pipeline(named: pipeline)?.configuration.storeBackends[store] ?? .memory
        try withEngine(data, command: "state show") { log, _ in
            let topicName = try StoreChangelog.topicName(application: pipeline, store: store)
            guard log.hasTopic(topicName) else {
                throw CLIError("no state for store '\(store)' of pipeline '\(pipeline)' (no changelog topic \(topicName); has the pipeline run?)")
            }
            let partitions = try log.topic(topicName).partitionCount
            /// The partition's committed store, restored.
            func restored(_ partition: Int) throws -> any KeyValueAccess {
                let state: any KeyValueAccess
                if backend == .rocksDB, log.storage is POSIXStorage {
                    state = try RocksDBStore(name: store, path: RocksDBStore.path(dataDirectory: log.directory, application: pipeline,
                                                                                 store: store, partition: PartitionID(Int32(partition))))
                } else {
                    state = KeyValueStore(name: store)
                }
                let changelog = try StoreChangelog(log: log, application: pipeline, store: state,
                                                   partition: PartitionID(Int32(partition)), partitionCount: partitions)
                _ = try changelog.restore()
                return state
            }
            if let key {
                let wanted = Array(key.utf8)
                let home = Int(Murmur2Partitioner.partition(forKey: wanted, partitionCount: partitions).rawValue)
                for partition in [home] + (0..<partitions).filter({ $0 != home }) {
                    if let value = try restored(partition).get(wanted) {
                        print(StateShow.text(wanted) + "\t" + StateShow.text(value))
                        return
                    }
                }
                throw CLIError("store '\(store)' of pipeline '\(pipeline)' has no key '\(key)'")
            }
            var entries: [(key: [UInt8], value: [UInt8])] = []
            for partition in 0..<partitions {
                entries += try restored(partition).committedRecords().compactMap { record in record.value.map { (record.key, $0) } }
            }
            let output = OutputBuffer()
            for entry in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                output.line(StateShow.text(entry.key) + "\t" + StateShow.text(entry.value))
            }
            output.flush()
        }
    }

    /// UTF-8 text as it is; other bytes as `0x` and hex.
    static func text(_ bytes: [UInt8]) -> String {
        if let string = String(validating: bytes, as: UTF8.self), !string.contains(where: { $0.isNewline || $0 == "\t" }) { return string }
        return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }
}
