
/// When each Ongoing transaction begun in this process times out, on the monotonic clock.
///
/// Wall time is only recorded (the start and last-update timestamps in `__transaction_state`);
/// a transaction's age is measured on the monotonic clock, so a wall-clock jump forward does not
/// abort commits in flight and a jump back does not keep a stuck transaction alive. A restart
/// loses monotonic time, and needs none: recovery aborts every transaction it finds Ongoing, so
/// only transactions begun in this process are ever timed.
///
/// A pure value: the coordinator notes every state it persists and asks before committing and
/// when it sweeps. Thread-safety: a value type; the coordinator keeps it under its lock.
package struct TransactionDeadlines: Sendable, Equatable {
    private var deadlines: [String: UInt64] = [:]

    package init() {}

    /// Notes the state just persisted: a transaction entering Ongoing gets its deadline (its
    /// timeout from `monotonicNanoseconds`), one leaving it loses it.
    package mutating func note(_ metadata: TransactionMetadata, monotonicNanoseconds now: UInt64) {
        if metadata.state == .ongoing {
            if deadlines[metadata.transactionalID] == nil {
                deadlines[metadata.transactionalID] = now &+ UInt64(max(0, metadata.timeoutMilliseconds)) * 1_000_000
            }
        } else {
            deadlines[metadata.transactionalID] = nil
        }
    }

    /// Forgets a transactional id (it expired).
    package mutating func forget(_ transactionalID: String) { deadlines[transactionalID] = nil }

    /// Whether an Ongoing transaction has outlived its timeout at `monotonicNanoseconds`. An
    /// Ongoing transaction without a deadline (not begun in this process, which recovery rules
    /// out) counts as timed out: aborting it is safe, letting it live forever is not.
    package func hasTimedOut(_ metadata: TransactionMetadata, monotonicNanoseconds now: UInt64) -> Bool {
        guard metadata.state == .ongoing else { return false }
        guard let deadline = deadlines[metadata.transactionalID] else { return true }
        return now > deadline
    }
}
