import CoreMetrics
import Synchronization

/// What one process has seen a pipeline do, for `GET /status`: when its workers last committed,
/// how many input records their commits took over the last seconds, and how long its stores
/// took to restore. Shared by the pipeline's workers (each commit is recorded from its worker's
/// thread) and read by the status route on another thread.
///
/// Also records `sluice_state_restore_seconds{pipeline,store}`: the seconds this process spent
/// restoring each store from its changelog at start-up, over all its partitions.
///
/// - Invariant: `buckets` holds the commits of at most the last ``rateWindowSeconds`` + 1
///   seconds, oldest first, one per monotonic second (the ones without commits are absent).
/// Thread-safety: thread-safe.
package final class PipelineActivity: Sendable {
    /// The window of ``recordsPerSecond(nowNanoseconds:)``.
    package static let rateWindowSeconds = 10

    package let pipeline: String
    private let state = Mutex(State())

    private struct State {
        var lastCommitNanoseconds: UInt64?
        var commits = 0
        var buckets: [(second: UInt64, records: Int)] = []
        var restoreNanoseconds: [String: UInt64] = [:]
    }

    package init(pipeline: String) {
        self.pipeline = pipeline
    }

    /// A worker committed a transaction of `records` input records at `nowNanoseconds`
    /// (monotonic).
    func committed(records: Int, nowNanoseconds: UInt64) {
        let second = nowNanoseconds / 1_000_000_000
        state.withLock { state in
            state.lastCommitNanoseconds = max(state.lastCommitNanoseconds ?? 0, nowNanoseconds)
            state.commits += 1
            if let last = state.buckets.last, last.second == second {
                state.buckets[state.buckets.count - 1].records += records
            } else {
                state.buckets.append((second, records))
            }
            let oldest = second &- UInt64(Self.rateWindowSeconds)
            state.buckets.removeAll { $0.second < oldest }
        }
    }

    /// A worker restored a partition of `store` in `nanoseconds`; the store's gauge becomes the
    /// sum over its partitions so far.
    func restored(store: String, nanoseconds: UInt64) {
        let total = state.withLock { state -> UInt64 in
            state.restoreNanoseconds[store, default: 0] &+= nanoseconds
            return state.restoreNanoseconds[store]!
        }
        Gauge(label: PipelineMetricNames.stateRestore, dimensions: [("pipeline", pipeline), ("store", store)])
            .record(Double(total) / 1e9)
    }

    /// Seconds since the last commit of any worker; nil before the first.
    package func lastCommitAgeSeconds(nowNanoseconds: UInt64) -> Double? {
        state.withLock { state in
            state.lastCommitNanoseconds.map { Double(nowNanoseconds &- min($0, nowNanoseconds)) / 1e9 }
        }
    }

    /// Commits recorded in this process.
    package var commits: Int { state.withLock { $0.commits } }

    /// Input records committed in the current second and the ``rateWindowSeconds`` − 1 before
    /// it, divided by ``rateWindowSeconds``: the rate over the last 9 to 10 s.
    package func recordsPerSecond(nowNanoseconds: UInt64) -> Double {
        let current = nowNanoseconds / 1_000_000_000
        let window = UInt64(Self.rateWindowSeconds)
        let records = state.withLock { state in
            state.buckets.reduce(0) { sum, bucket in
                bucket.second <= current && bucket.second &+ window > current ? sum + bucket.records : sum
            }
        }
        return Double(records) / Double(window)
    }

    /// Seconds spent restoring each store at start-up (all partitions).
    package var restoreSeconds: [String: Double] {
        state.withLock { $0.restoreNanoseconds.mapValues { Double($0) / 1e9 } }
    }
}
