import Foundation
import StreamCore

/// Runs a pipeline's workers on several threads: worker P goes to thread P mod n, and each
/// thread steps its workers in turn, as ``PipelineRunner`` does on one thread.
///
/// Workers share nothing mutable (each has its own consumer, transactional producer and
/// stores; the log, the coordinator and the consumer offsets are thread-safe), so they need no
/// coordination beyond starting and stopping. A worker is only ever touched by its own thread
/// while the threads run, and by the caller after ``stop()`` joined them.
///
/// - Invariant: progress counters are published under ``lock`` after every step, so the caller
///   reads consistent snapshots without touching the workers.
final class WorkerThreads: @unchecked Sendable {
    private let groups: [[PipelineWorker]]
    private let lock = Lock()
    private var stopping = false
    private var failure: (any Error)?
    /// Per thread: the latest progress of its workers, and how many rounds in a row it found
    /// nothing to do with everything committed.
    private var snapshots: [PipelineProgress]
    private var idleRounds: [Int]
    private var threads: [Thread] = []
    private let finished = DispatchGroup()

    init(workers: [PipelineWorker], threadCount: Int) {
        let count = max(1, min(threadCount, workers.count))
        var groups = Array(repeating: [PipelineWorker](), count: count)
        for (index, worker) in workers.enumerated() { groups[index % count].append(worker) }
        self.groups = groups
        snapshots = Array(repeating: PipelineProgress(), count: count)
        idleRounds = Array(repeating: 0, count: count)
    }

    func start() {
        for index in groups.indices {
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                loop(index: index, workers: groups[index])
            }
            thread.name = "sluice-worker-\(index)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    private func loop(index: Int, workers: [PipelineWorker]) {
        while !withLock({ stopping }) {
            var processed = 0
            do {
                for worker in workers { processed += try worker.step() }
            } catch {
                withLock {
                    if failure == nil { failure = error }
                    stopping = true
                }
                return
            }
            let progress = PipelineProgress(of: workers)
            let idle = processed == 0 && progress.lag == 0 && !workers.contains(where: \.hasUncommittedWork)
            withLock {
                snapshots[index] = progress
                idleRounds[index] = idle ? idleRounds[index] + 1 : 0
            }
            if processed == 0 { Thread.sleep(forTimeInterval: 0.002) }
        }
    }

    /// The workers' progress, summed over the threads.
    var progress: PipelineProgress {
        withLock {
            snapshots.reduce(into: PipelineProgress()) { total, part in total.add(part) }
        }
    }

    /// Whether every thread found nothing to do, with everything committed, in its last two
    /// rounds. A hint only (another thread may have just written to a repartition topic): the
    /// caller confirms on the stopped workers.
    var looksIdle: Bool { withLock { idleRounds.allSatisfy { $0 >= 2 } } }

    /// The first error a worker threw; the threads stop on it.
    var error: (any Error)? { withLock { failure } }

    /// Stops the threads after their current step and waits for them.
    func stop() {
        withLock { stopping = true }
        finished.wait()
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
