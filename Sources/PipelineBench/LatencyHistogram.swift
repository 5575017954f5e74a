import Histogram
import PipelineRuntime
import StreamCore

/// Durations in microseconds (1 µs to 1 h, 3 significant digits), with the percentiles a
/// report prints in milliseconds.
///
/// Thread-safety: a value type; ``CommitRecorder`` guards its copy with a lock.
struct LatencyHistogram {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000,
                                              numberOfSignificantValueDigits: .three)

    var count: Int { Int(histogram.totalCount) }

    /// Records a duration; values beyond an hour are clamped to it.
    mutating func record(nanoseconds: UInt64) {
        let microseconds = min(max(1, nanoseconds / 1000), 3_600_000_000)
        _ = histogram.record(microseconds)
    }

    /// The value at `percentile` (0…100) in milliseconds, or nil when empty.
    func milliseconds(atPercentile percentile: Double) -> Double? {
        guard count > 0 else { return nil }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The largest recorded value in milliseconds, or nil when empty.
    var maxMilliseconds: Double? {
        guard count > 0 else { return nil }
        return Double(histogram.max) / 1000
    }
}

/// Collects the workers' commits (``CommitObserver``) from any thread.
final class CommitRecorder: @unchecked Sendable {
    private let lock = Lock()
    private var durations = LatencyHistogram()
    private var failures = 0

    /// The observer to hand to ``PipelineRunner``.
    var observer: CommitObserver {
        { [self] event in
            lock.lock(); defer { lock.unlock() }
            if event.succeeded { durations.record(nanoseconds: event.durationNanoseconds) } else { failures += 1 }
        }
    }

    /// Successful commits' durations, and how many failed.
    var snapshot: (durations: LatencyHistogram, failures: Int) {
        lock.lock(); defer { lock.unlock() }
        return (durations, failures)
    }
}
