package import StreamCore
import Dispatch

/// Group commit for ``LogManager/sync(_:)``: callers that ask for a sync while one runs share
/// the next one, so N concurrent acks=all producers cost one flush group per round, not N.
///
/// A caller asks after its appends returned; its completion runs once a sync that *began after
/// the request* finished (with that sync's error, or nil), so every append it made before
/// asking is covered. Requests that arrive during a round wait for the next round, which syncs
/// the union of their partitions.
///
/// Thread-safety: safe from any thread; completions run on the sync queue, one round at a time.
package final class GroupSync: @unchecked Sendable {
    private let lock = Lock()
    private var rounds = GroupSyncRounds<@Sendable (LogError?) -> Void>()
    private let queue: DispatchQueue
    private let syncPartitions: @Sendable ([TopicPartition]) throws(LogError) -> Void

    /// A group sync over `log` (which stays open while requests are pending).
    package convenience init(log: LogManager, label: String = "sluice.group-sync") {
        self.init(label: label) { (partitions) throws(LogError) in try log.sync(partitions) }
    }

    /// A group sync calling `sync` once per round with the round's partitions (sorted, unique).
    package init(label: String = "sluice.group-sync", sync: @escaping @Sendable ([TopicPartition]) throws(LogError) -> Void) {
        queue = DispatchQueue(label: label)
        syncPartitions = sync
    }

    /// Syncs `partitions` (with others' in the same round) and then calls `completion` with
    /// nil, or with the error of the round's sync.
    package func sync(_ partitions: [TopicPartition], then completion: @escaping @Sendable (LogError?) -> Void) {
        lock.lock()
        let start = rounds.request(partitions, waiter: completion)
        lock.unlock()
        if start { queue.async { [self] in runRounds() } }
    }

    /// Runs rounds until no request is pending: each takes what was asked before it began.
    private func runRounds() {
        while true {
            lock.lock()
            let round = rounds.beginRound()
            lock.unlock()
            guard let round else { return }
            var failure: LogError?
            do { try syncPartitions(round.partitions) } catch { failure = error }
            for waiter in round.waiters { waiter(failure) }
            lock.lock()
            let more = rounds.endRound()
            lock.unlock()
            if !more { return }
        }
    }
}

/// The decisions of ``GroupSync``, without threads: which requests a round covers.
///
/// - Invariant: at most one round runs; a request made while a round runs is never covered by
///   that round (its appends may have come after the round's syncs began), only by the next.
/// Not thread-safe (``GroupSync`` holds its lock around every call).
struct GroupSyncRounds<Waiter> {
    struct Round {
        var partitions: [TopicPartition]
        var waiters: [Waiter]
    }

    private var pendingPartitions: Set<TopicPartition> = []
    private var pendingWaiters: [Waiter] = []
    private(set) var isRunning = false

    /// Records a request. - Returns: whether the caller must start running rounds (none runs).
    mutating func request(_ partitions: [TopicPartition], waiter: Waiter) -> Bool {
        pendingPartitions.formUnion(partitions)
        pendingWaiters.append(waiter)
        if isRunning { return false }
        isRunning = true
        return true
    }

    /// Takes every pending request into a round. - Returns: nil when nothing is pending (and
    /// marks the runner stopped).
    mutating func beginRound() -> Round? {
        precondition(isRunning, "a round begins only while the runner runs")
        guard !pendingWaiters.isEmpty else {
            isRunning = false
            return nil
        }
        let round = Round(partitions: pendingPartitions.sorted(), waiters: pendingWaiters)
        pendingPartitions = []
        pendingWaiters = []
        return round
    }

    /// Ends the running round. - Returns: whether another round is due (requests came during
    /// this one); when not, the runner is marked stopped.
    mutating func endRound() -> Bool {
        precondition(isRunning, "a round ends only while the runner runs")
        if pendingWaiters.isEmpty {
            isRunning = false
            return false
        }
        return true
    }
}
