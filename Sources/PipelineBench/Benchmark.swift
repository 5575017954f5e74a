import Foundation
import LogStorage
import Logging
import PipelineRuntime
package import Sluice
import StreamCore
import Transactions

/// `pipeline bench`: runs a pipeline of the catalog over generated input in a fresh data
/// directory and measures it (see ``BenchReport``).
///
/// ```
/// open a fresh data directory → create the source topics (P partitions, lz4)
/// full speed:  produce N records → start the reader → run the pipeline until idle
/// fixed rate:  start the reader → start the generator thread → run the pipeline until it has
///              processed all N = rate × duration records
/// → the reader reads on to the outputs' read-committed ends → report
/// ```
package enum Benchmark {
    /// Runs one bench.
    /// - Parameter progress: a status line, called on the calling thread while the bench runs.
    /// - Throws: ``BenchError`` for bad options, a non-empty `--data-dir`, or any failure of the
    ///   engine or the pipeline.
    package static func run(_ definition: any PipelineDefinition, options: BenchOptions,
                            progress: (String) -> Void) throws(BenchError) -> BenchReport {
        if let problem = options.problem { throw BenchError(problem) }
        let directory = try prepareDirectory(options.dataDirectory)
        defer { if options.dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        do {
            return try runInDirectory(directory, definition: definition, options: options, progress: progress)
        } catch {
            throw (error as? BenchError) ?? BenchError("\(error)")
        }
    }

    /// The directory to run in: `requested` when it is missing or empty, else a new temporary one.
    private static func prepareDirectory(_ requested: String?) throws(BenchError) -> String {
        let files = FileManager.default
        guard let requested else {
            let path = files.temporaryDirectory.appendingPathComponent("sluice-bench-\(UUID().uuidString.prefix(12))").path
            do { try files.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw BenchError("cannot create a temporary directory \(path): \(error.localizedDescription)")
            }
            return path
        }
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: requested, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BenchError("--data-dir \(requested) is not a directory") }
            let contents = (try? files.contentsOfDirectory(atPath: requested)) ?? []
            guard contents.isEmpty else { throw BenchError("--data-dir \(requested) is not empty (a bench needs a fresh directory)") }
        }
        return requested
    }

    private static func runInDirectory(_ directory: String, definition: any PipelineDefinition, options: BenchOptions,
                                       progress: (String) -> Void) throws -> BenchReport {
        let startedAt = Date()
        var logOptions = LogOptions()
        logOptions.ownerDescription = "pipeline bench \(definition.name)"
        let log = try LogManager.open(directory: directory, options: logOptions, logger: Logger(label: "sluice"))
        defer { log.close() }
        let coordinator = try TransactionCoordinator(log: log)
        log.startBackgroundMaintenance()

        var configuration = definition.configuration
        configuration.guarantee = options.guarantee
        configuration.commitInterval = .milliseconds(options.commitIntervalMilliseconds)
        configuration.audit = options.audit
        let pipeline = BenchPipeline(base: definition, configuration: configuration)
        let topology = pipeline.topology
        let internalTopics = Set(topology.internalTopics)
        let sources = try topology.sourceTopics.filter { !internalTopics.contains($0) }.map { try TopicName(validating: $0) }
        for source in sources {
            try log.createTopic(source, config: TopicConfig(partitionCount: options.partitions, compression: .lz4))
        }
        let input = definition as? any BenchmarkInput
        let latencyMode = input?.benchmarkLatency ?? .fromInputTimestamp
        let keys = options.keys, bytes = options.recordBytes
        let generator = InputGenerator(log: log, sources: sources, count: options.recordCount, seed: options.seed) { index, random in
            input?.benchmarkRecord(index: index, keys: keys, bytes: bytes, random: &random)
                ?? BenchmarkOrders.orderCreated(index: index, keys: keys, bytes: bytes, random: &random)
        }
        let threads = options.threads ?? configuration.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let commits = CommitRecorder()
        let measured: Measurement
        if let rate = options.rateRecordsPerSecond {
            measured = try runFixedRate(pipeline, log: log, coordinator: coordinator, generator: generator, rate: rate, threads: threads,
                                        commits: commits, recordsMetrics: options.recordsMetrics, measuresLatency: latencyMode == .fromInputTimestamp, progress: progress)
        } else {
            try generator.produceAll { sent in progress("\(definition.name): generating input, \(sent) of \(generator.count) records") }
            measured = try runFullSpeed(pipeline, log: log, coordinator: coordinator, generator: generator, threads: threads,
                                        commits: commits, recordsMetrics: options.recordsMetrics, measuresLatency: latencyMode == .fromInputTimestamp, progress: progress)
        }
        return BenchReport(pipeline: definition.name, options: options, threads: threads, started: startedAt,
                           measured: measured, latencyMode: latencyMode, commits: commits.snapshot)
    }

    /// What one timed run gave, before it becomes a report.
    struct Measurement {
        var elapsedSeconds: Double
        var recordsIn: Int
        var bytesIn: Int64
        var output: (records: Int, bytes: Int64, latencies: LatencyHistogram, failure: String?)
        var usage: (user: Double, system: Double)
        var fixedRate: Bool
    }

    private static func runFullSpeed(_ pipeline: BenchPipeline, log: LogManager, coordinator: TransactionCoordinator, generator: InputGenerator,
                                     threads: Int, commits: CommitRecorder, recordsMetrics: Bool, measuresLatency: Bool,
                                     progress: (String) -> Void) throws -> Measurement {
        let runner = try PipelineRunner(pipeline: pipeline, log: log, coordinator: coordinator, commitObserver: commits.observer,
                                        recordsMetrics: recordsMetrics)
        let reader = try OutputReader(log: log, partitions: outputPartitions(of: pipeline, log: log), measuresLatency: measuresLatency,
                                      originNanoseconds: BenchClock.wallNanoseconds())
        let before = ProcessUsage.current()
        let started = BenchClock.monotonicNanoseconds()
        reader.start()
        try runner.run(untilIdle: true, threads: threads, shouldStop: { false }) { state in
            progress(statusLine(pipeline.name, state, started: started, total: generator.count))
        }
        let elapsed = Double(BenchClock.monotonicNanoseconds() - started) / 1_000_000_000
        let after = ProcessUsage.current()
        let output = reader.finish(at: try committedEnds(of: pipeline, log: log))
        if let failure = output.failure { throw BenchError(failure) }
        let input = generator.state
        return Measurement(elapsedSeconds: elapsed, recordsIn: input.records, bytesIn: input.bytes, output: output,
                           usage: (after.userSeconds - before.userSeconds, after.systemSeconds - before.systemSeconds), fixedRate: false)
    }

    private static func runFixedRate(_ pipeline: BenchPipeline, log: LogManager, coordinator: TransactionCoordinator, generator: InputGenerator,
                                     rate: Int, threads: Int, commits: CommitRecorder, recordsMetrics: Bool, measuresLatency: Bool,
                                     progress: (String) -> Void) throws -> Measurement {
        let runner = try PipelineRunner(pipeline: pipeline, log: log, coordinator: coordinator, commitObserver: commits.observer,
                                        recordsMetrics: recordsMetrics)
        let reader = try OutputReader(log: log, partitions: outputPartitions(of: pipeline, log: log), measuresLatency: measuresLatency,
                                      originNanoseconds: 0)
        let before = ProcessUsage.current()
        let started = BenchClock.monotonicNanoseconds()
        reader.start()
        generator.startFixedRate(recordsPerSecond: rate)
        var processed = 0
        try runner.run(untilIdle: false, threads: threads, shouldStop: {
            let state = generator.state
            return state.failure != nil || (state.finished && processed >= state.records)
        }) { state in
            processed = state.recordsProcessed
            progress(statusLine(pipeline.name, state, started: started, total: generator.count))
        }
        let elapsed = Double(BenchClock.monotonicNanoseconds() - started) / 1_000_000_000
        let after = ProcessUsage.current()
        let output = reader.finish(at: try committedEnds(of: pipeline, log: log))
        let input = generator.state
        if let failure = input.failure ?? output.failure { throw BenchError(failure) }
        return Measurement(elapsedSeconds: elapsed, recordsIn: input.records, bytesIn: input.bytes, output: output,
                           usage: (after.userSeconds - before.userSeconds, after.systemSeconds - before.systemSeconds), fixedRate: true)
    }

    /// `order-totals: 412000 of 1000000 records, 205000 records/s, lag 12000`.
    private static func statusLine(_ name: String, _ state: PipelineProgress, started: UInt64, total: Int) -> String {
        let seconds = max(0.001, Double(BenchClock.monotonicNanoseconds() - started) / 1_000_000_000)
        return "\(name): \(state.recordsProcessed) of \(total) records, \(Int(Double(state.recordsProcessed) / seconds)) records/s, lag \(state.lag)"
    }

    /// Every partition of the pipeline's sink topics (not its repartition topics).
    private static func outputPartitions(of pipeline: BenchPipeline, log: LogManager) throws -> [TopicPartition] {
        let topology = pipeline.topology
        let internalTopics = Set(topology.internalTopics)
        var result: [TopicPartition] = []
        for name in topology.sinkTopics where !internalTopics.contains(name) {
            let topic = try log.topic(named: name)
            result += topic.topicPartitions
        }
        return result
    }

    /// The read-committed end (last stable offset) of every output partition.
    private static func committedEnds(of pipeline: BenchPipeline, log: LogManager) throws -> [TopicPartition: Offset] {
        var ends: [TopicPartition: Offset] = [:]
        for topicPartition in try outputPartitions(of: pipeline, log: log) {
            ends[topicPartition] = try log.partition(topicPartition).lastStableOffset
        }
        return ends
    }
}

/// A catalog pipeline with the bench's guarantee and commit interval.
struct BenchPipeline: PipelineDefinition {
    let base: any PipelineDefinition
    let configuration: PipelineConfiguration

    var name: String { base.name }
    var summary: String { base.summary }
    var body: Topology { base.body }
}
