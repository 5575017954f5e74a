package import Sluice
import StreamCore
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
}

/// Runs a pipeline over a data directory: one ``PipelineWorker`` per input partition, stepped
/// in turn on the calling thread.
///
/// Source topics must exist and have the same number of partitions (worker P reads partition P
/// of each). Sink topics, internal (repartition) topics and the dead-letter topic
/// `<pipeline>.dlq` are created like the first source when missing. A pipeline whose replay was
/// interrupted (``PipelineReplay``) is refused until the replay is run again, and so is one whose
/// state was lost while its offsets remain (``PipelineStateCheck``).
package final class PipelineRunner {
    package let pipeline: any PipelineDefinition
    private let log: LogManager
    private var workers: [PipelineWorker] = []

    /// - Parameter pollRecordsMax: the most records a worker takes per step (small values make
    ///   many small transactions, which the simulator uses).
    /// - Parameter commitObserver: told of every worker's every commit (`pipeline bench` times
    ///   them); called on the workers' threads.
    package init(pipeline: any PipelineDefinition, log: LogManager, coordinator: TransactionCoordinator, pollRecordsMax: Int = 2000,
                 commitObserver: CommitObserver? = nil) throws {
        self.pipeline = pipeline
        self.log = log
        if let start = PipelineReplay.unfinishedReplay(log: log, pipeline: pipeline.name) {
            throw PipelineRunError("a replay of '\(pipeline.name)' (from \(start)) was interrupted; run `pipeline replay \(pipeline.name) --from …` again to finish it before running the pipeline")
        }
        let topology = pipeline.topology
        let internalTopics = Set(topology.internalTopics)
        let sources = try topology.sourceTopics.filter { !internalTopics.contains($0) }.map { try log.topic(named: $0) }
        guard let first = sources.first else { throw PipelineRunError("pipeline '\(pipeline.name)' reads no topic") }
        for name in topology.internalTopics {
            let topic = try TopicName(validating: name)
            if !log.hasTopic(topic) { try log.createTopic(topic, config: first.config) }
        }
        for source in try topology.sourceTopics.map({ try log.topic(named: $0) }) where source.partitionCount != first.partitionCount {
            throw PipelineRunError("""
                source topics must be co-partitioned (the same partition count): \(first.name) has \(first.partitionCount), \
                \(source.name) has \(source.partitionCount)
                """)
        }
        for name in topology.sinkTopics + [DeadLetters.topic(for: pipeline.name)] + topology.deadLetterTopics {
            let topic = try TopicName(validating: name)
            if !log.hasTopic(topic) { try log.createTopic(topic, config: first.config) }
        }
        try PipelineStateCheck.requireChangelogs(pipeline: pipeline, topology: topology, partitionCount: first.partitionCount, log: log)
        workers = try (0..<first.partitionCount).map { partition in
            try PipelineWorker(pipeline: pipeline, topology: topology, partition: Int32(partition),
                               partitionCount: first.partitionCount, log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax,
                               commitObserver: commitObserver)
        }
    }

    package var progress: PipelineProgress {
        PipelineProgress(recordsProcessed: workers.reduce(0) { $0 + $1.recordsProcessed },
                         deadLettered: workers.reduce(0) { $0 + $1.deadLettered },
                         skipped: workers.reduce(0) { $0 + $1.skipped },
                         lag: workers.reduce(0) { $0 + $1.lag })
    }

    /// Steps every worker once.
    /// - Returns: how many records they processed.
    @discardableResult
    package func step() throws -> Int {
        var processed = 0
        for worker in workers { processed += try worker.step() }
        return processed
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
