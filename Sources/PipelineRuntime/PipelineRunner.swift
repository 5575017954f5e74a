package import Sluice
package import StreamCore
package import LogStorage
package import Transactions
import Foundation

/// What a running pipeline has done so far.
package struct PipelineProgress: Sendable, Equatable {
    package var recordsProcessed = 0
    package var deadLettered = 0
    /// Records dropped by a skip-and-count verdict.
    package var skipped = 0
    /// Read-committed records not yet processed, over all input partitions.
    package var lag: Int64 = 0
    /// Records lost to out-of-range resets (``PipelineConfiguration/offsetOutOfRange``
    /// `.earliest` or `.latest`), per input partition; empty when none happened.
    package var recordsLost: [TopicPartition: Int64] = [:]

    /// The progress of these workers, summed.
    init(of workers: [PipelineWorker]) {
        for worker in workers {
            recordsProcessed += worker.recordsProcessed
            deadLettered += worker.deadLettered
            skipped += worker.skipped
            lag += worker.lag
            recordsLost.merge(worker.recordsLost, uniquingKeysWith: +)
        }
    }

    package init() {}

    /// Adds another part's counts (workers own disjoint partitions).
    mutating func add(_ part: PipelineProgress) {
        recordsProcessed += part.recordsProcessed
        deadLettered += part.deadLettered
        skipped += part.skipped
        lag += part.lag
        recordsLost.merge(part.recordsLost, uniquingKeysWith: +)
    }
}

/// Runs a pipeline over a data directory: one ``PipelineWorker`` per input partition, stepped
/// in turn on the calling thread.
///
/// Source topics must exist and have the same number of partitions (worker P reads partition P
/// of each). Sink topics, internal (repartition) topics and the dead-letter topics are created
/// with the sources' partition count when missing, configured by ``RuntimeTopics`` (never like
/// a source). A pipeline whose replay was interrupted (``PipelineReplay``) is refused until the
/// replay is run again, and so is one whose state was lost while its offsets remain
/// (``PipelineStateCheck``).
///
/// With `quarantinesCrashes` the workers keep in-flight markers and narrow down records that kill
/// the process (``CrashQuarantine``); while one is doing so the runner steps it alone, on the
/// calling thread, so each death while it narrows is its own.
package final class PipelineRunner {
    package let pipeline: any PipelineDefinition
    private let log: LogManager
    private var workers: [PipelineWorker] = []
    /// What `GET /status` reads of this pipeline; nil unless it records metrics.
    package let activity: PipelineActivity?

    /// - Parameter pollRecordsMax: the most records a worker takes per step (small values make
    ///   many small transactions, which the simulator uses).
    /// - Parameter commitObserver: told of every worker's every commit (`pipeline bench` times
    ///   them); called on the workers' threads.
    /// - Parameter quarantinesCrashes: whether workers quarantine records that kill the process
    ///   (what `pipeline run` does; off for in-process runs, whose deaths are not process deaths).
    /// - Parameter schemas: where Avro serdes find schemas; nil: the data directory's schema
    ///   registry (``RegistrySchemaSource``, opened at the first lookup). A process that serves
    ///   the registry passes its own, so the pipeline sees its registrations at once.
    /// - Parameter recordsMetrics: whether workers record the pipeline metric families
    ///   (``PipelineMetricNames``) through swift-metrics; `MetricsSystem` must be bootstrapped first.
    package init(pipeline: any PipelineDefinition, log: LogManager, coordinator: TransactionCoordinator, pollRecordsMax: Int = 2000,
                 commitObserver: CommitObserver? = nil, quarantinesCrashes: Bool = false, schemas: (any AvroSchemaSource)? = nil,
                 recordsMetrics: Bool = false) throws {
        self.pipeline = pipeline
        self.log = log
        let activity = recordsMetrics ? PipelineActivity(pipeline: pipeline.name) : nil
        self.activity = activity
        if let start = PipelineReplay.unfinishedReplay(log: log, pipeline: pipeline.name) {
            throw PipelineRunError("a replay of '\(pipeline.name)' (from \(start)) was interrupted; run `pipeline replay \(pipeline.name) --from …` again to finish it before running the pipeline")
        }
        let topology = pipeline.topology
        let internalTopics = Set(topology.internalTopics)
        let sources = try topology.sourceTopics.filter { !internalTopics.contains($0) }.map { try log.topic(named: $0) }
        guard let first = sources.first else { throw PipelineRunError("pipeline '\(pipeline.name)' reads no topic") }
        for name in topology.internalTopics {
            let topic = try TopicName(validating: name)
            if !log.hasTopic(topic) { try log.createTopic(topic, config: RuntimeTopics.repartition(partitionCount: first.partitionCount)) }
        }
        for source in try topology.sourceTopics.map({ try log.topic(named: $0) }) where source.partitionCount != first.partitionCount {
            throw PipelineRunError("""
                source topics must be co-partitioned (the same partition count): \(first.name) has \(first.partitionCount), \
                \(source.name) has \(source.partitionCount)
                """)
        }
        let settings = topology.sinkTopicSettings
        for name in topology.sinkTopics + [DeadLetters.topic(for: pipeline.name)] + topology.deadLetterTopics where !internalTopics.contains(name) {
            let topic = try TopicName(validating: name)
            if !log.hasTopic(topic) {
                try log.createTopic(topic, config: RuntimeTopics.output(partitionCount: first.partitionCount, settings: settings[name] ?? .standard))
            }
        }
        if pipeline.configuration.audit && pipeline.configuration.guarantee == .exactlyOnce {
            let topic = try TopicName(validating: PipelineInternalTopics.auditTopic(of: pipeline.name))
            if !log.hasTopic(topic) { try log.createTopic(topic, config: RuntimeTopics.audit(partitionCount: first.partitionCount)) }
        }
        try PipelineStateCheck.requireChangelogs(pipeline: pipeline, topology: topology, partitionCount: first.partitionCount, log: log)
        let lastCrashSignal = quarantinesCrashes ? Self.recordedSignal(log: log, pipeline: pipeline.name) : nil
        let schemas = schemas ?? RegistrySchemaSource(log: log)
        workers = try (0..<first.partitionCount).map { partition in
            try PipelineWorker(pipeline: pipeline, topology: topology, partition: Int32(partition),
                               partitionCount: first.partitionCount, log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax,
                               commitObserver: commitObserver, quarantinesCrashes: quarantinesCrashes, lastCrashSignal: lastCrashSignal,
                               schemas: schemas, metrics: recordsMetrics ? WorkerMetrics(pipeline: pipeline.name, activity: activity) : nil)
        }
    }

    /// The signal name the last process recorded in ``CrashQuarantine/signalPath(log:pipeline:)``.
    private static func recordedSignal(log: LogManager, pipeline: String) -> String? {
        let path = CrashQuarantine.signalPath(log: log, pipeline: pipeline)
        guard log.storage.exists(path), let file = try? log.storage.openFile(path, mode: .read) else { return nil }
        defer { file.close() }
        let name = (try? file.readAll()).flatMap { String(validating: $0, as: UTF8.self) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        return name?.isEmpty == false ? name : nil
    }

    /// The first worker narrowing down or quarantining a record that killed the process.
    private var isolatedWorker: PipelineWorker? { workers.first(where: \.isIsolatingCrash) }

    package var progress: PipelineProgress { PipelineProgress(of: workers) }

    /// Stops every worker's background work (an at-least-once worker's producer linger thread)
    /// without writing anything, as a process death would; for in-process owners (the crash
    /// simulations) that abandon a runner after a crash. The runner is not used afterwards.
    package func abandon() {
        for worker in workers { worker.abandon() }
    }

    /// Steps every worker once.
    /// - Returns: how many records they processed.
    @discardableResult
    package func step() throws -> Int {
        if let isolated = isolatedWorker { return try isolated.step() }
        var processed = 0
        for worker in workers { processed += try worker.step() }
        return processed
    }

    /// How many workers run (one per input partition).
    package var workerCount: Int { workers.count }

    /// Steps worker `index` alone, so that a simulator can interleave the workers in a seeded
    /// order. Different workers may be stepped from different threads at once (they share nothing
    /// mutable, see ``WorkerThreads``); one worker from one thread at a time.
    /// - Returns: how many records it processed.
    @discardableResult
    package func step(worker index: Int) throws -> Int {
        try workers[index].step()
    }

    /// Whether every input partition is processed and committed.
    package var isIdle: Bool { progress.lag == 0 && !workers.contains(where: \.hasUncommittedWork) }

    /// A store's committed contents across the workers.
    package func committedEntries(of store: String) -> [(key: [UInt8], value: [UInt8])] {
        workers.flatMap { $0.committedEntries(of: store) }
    }

    /// Steps every worker until `shouldStop` says so (then commits what is open) or, with
    /// `untilIdle`, until every input partition is caught up and committed.
    ///
    /// With `threads` > 1 the workers run on that many threads (see ``WorkerThreads``); the
    /// calling thread then only reports progress and watches for the end. Either way the final
    /// commit and the idle check happen on the calling thread with the workers at rest.
    package func run(untilIdle: Bool, threads: Int = 1, shouldStop: () -> Bool = { false }, report: (PipelineProgress) -> Void = { _ in }) throws {
        do {
            try runWorkers(untilIdle: untilIdle, threads: threads, shouldStop: shouldStop, report: report)
        } catch {
            // An orderly stop: what was in flight did not kill the process.
            for worker in workers { worker.discardInFlightMarker() }
            let fenced = (error as? TransactionError)?.code == .fenced
            if fenced { workers.first?.metrics?.fenced() }
            for worker in workers where worker.hasUncommittedWork { worker.metrics?.aborted(fenced ? .fenced : .failure) }
            throw error
        }
    }

    private func runWorkers(untilIdle: Bool, threads: Int, shouldStop: () -> Bool, report: (PipelineProgress) -> Void) throws {
        while let isolated = isolatedWorker, !shouldStop() {
            if try isolated.step() == 0 { Thread.sleep(forTimeInterval: 0.005) }
            report(progress)
        }
        if threads > 1 && workers.count > 1 {
            let pool = WorkerThreads(workers: workers, threadCount: threads)
            pool.start()
            while pool.error == nil && !shouldStop() && !(untilIdle && pool.looksIdle) {
                report(pool.progress)
                Thread.sleep(forTimeInterval: 0.01)
            }
            pool.stop()
            if let error = pool.error { throw error }
            // Finish on this thread: the final commit on a stop, or the rest of the work the
            // threads' idle hint missed.
        }
        while true {
            if shouldStop() {
                for worker in workers { try worker.commit() }
                return
            }
            let processed = try step()
            let current = progress
            report(current)
            if processed == 0 {
                if untilIdle && current.lag == 0 && !workers.contains(where: \.hasUncommittedWork) { return }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }
}

/// Why a pipeline cannot run.
package struct PipelineRunError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
