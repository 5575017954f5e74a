import Sluice
import StreamCore

/// What a worker does with a record that failed.
enum FailureAction: Equatable {
    /// Emit its dead letter with these counts and times (ms since the epoch).
    case deadLetter(attempts: Int, firstFailure: Int64, lastFailure: Int64)
    /// Count it and move on.
    case skip
    /// Stop the pipeline with the failure.
    case fail
    /// Abort the open transaction, rewind to the committed offsets, and process nothing until
    /// the engine clock's monotonic reading reaches `resumeAtNanoseconds`.
    case retry(resumeAtNanoseconds: UInt64)
}

/// The retry bookkeeping of one worker: the ``RetryPolicy`` applied to each failed input record,
/// with its failures so far and their times, and the backoff pause.
///
/// The failed attempt's own outputs and store writes are rolled back to the record's savepoint
/// (as for every verdict); to read the record again the worker then aborts its open transaction
/// and reads again from its committed offsets once the backoff has passed: records before the failed one are processed again (their first effects
/// were aborted), and nothing past the failed record is committed while it is in backoff.
/// Other workers (other input partitions) are not held up.
///
/// Attempts live in memory: a restarted worker starts counting again.
///
/// - Invariant: a record's entry lives until its offset is committed (``committed(_:)``), so a
///   record dead-lettered (or skipped) in a transaction that a later retry aborts gets the same
///   verdict, with the same attempts and times, when it is processed again.
/// - Invariant: jitter comes from a generator seeded per worker, so simulations replay.
/// Thread-safety: owned by one worker thread.
final class RecordRetries {
    private struct Position: Hashable {
        var topic: String
        var partition: Int32
        var offset: Int64
    }

    private struct Entry {
        var failures: Int
        var firstFailure: Int64
        var lastFailure: Int64
        /// Its final verdict is given; it is not retried again.
        var isSettled: Bool
    }

    private let policy: RetryPolicy
    private var entries: [Position: Entry] = [:]
    private var random: SeededRandom
    /// Set while a backoff pause lasts.
    private(set) var resumeAtNanoseconds: UInt64?

    init(policy: RetryPolicy, seed: UInt64) {
        self.policy = policy
        random = SeededRandom(seed: seed &+ 0x5EED)
    }

    /// Whether the worker must wait at `monotonicNanoseconds`; a pause that has passed is cleared.
    func isPaused(atNanoseconds monotonicNanoseconds: UInt64) -> Bool {
        guard let resume = resumeAtNanoseconds else { return false }
        if monotonicNanoseconds >= resume {
            resumeAtNanoseconds = nil
            return false
        }
        return true
    }

    /// The verdict on `failure` of `source`, at wall time `now` (ms) and monotonic reading
    /// `monotonicNanoseconds`; a `.retry` also starts the pause.
    func decide(_ failure: RecordFailure, source: RawRecord, now: Int64, monotonicNanoseconds: UInt64) -> FailureAction {
        let stagePolicy = policy.policy(for: failure.stage)
        let position = Position(topic: source.topic, partition: source.partition, offset: source.offset)
        var entry = entries[position] ?? Entry(failures: 0, firstFailure: now, lastFailure: now, isSettled: false)
        if !entry.isSettled {
            entry.failures += 1
            entry.lastFailure = now
        }
        let isRetryable = failure.isRetryable ?? policy.unclassifiedErrorsAreRetryable
        if stagePolicy.verdict == .retry && isRetryable && !entry.isSettled && entry.failures < stagePolicy.maxAttempts {
            entries[position] = entry
            let unit = Double(random.next() >> 11) / Double(UInt64(1) << 53)
            let resume = monotonicNanoseconds &+ policy.backoff.delayNanoseconds(afterFailures: entry.failures, unit: unit)
            resumeAtNanoseconds = resume
            return .retry(resumeAtNanoseconds: resume)
        }
        entry.isSettled = true
        entries[position] = entry
        switch stagePolicy.exhausted {
        case .deadLetter: return .deadLetter(attempts: entry.failures, firstFailure: entry.firstFailure, lastFailure: entry.lastFailure)
        case .skip: return .skip
        case .fail: return .fail
        case .retry: preconditionFailure("a FailurePolicy never ends in retry")
        }
    }

    /// After a commit at `positions` (the next offsets to read): forgets the records below them.
    func committed(_ positions: [TopicPartition: Offset]) {
        guard !entries.isEmpty else { return }
        entries = entries.filter { position, _ in
            let key = positions.first { $0.key.topic.rawValue == position.topic && $0.key.partition.rawValue == position.partition }
            return key.map { position.offset >= $0.value.rawValue } ?? true
        }
    }
}
