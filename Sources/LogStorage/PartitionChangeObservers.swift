import StreamCore

/// The callbacks waiting for one partition's log end offset or last stable offset to move: every
/// append that writes a batch (data or a transaction marker, through ``PartitionLog/append(_:)``,
/// whoever calls it: a Kafka client's produce, a pipeline's producer, the transaction
/// coordinator's markers) fires them, once each.
///
/// - Invariant: a callback fires after the append that moved the partition is visible: a read
///   made from inside the callback sees it. It fires at most once, and never after
///   ``remove(_:)`` returned.
/// - Invariant: callbacks run on the appending thread, outside the partition's lock but possibly
///   inside the appender's own (the transaction coordinator's while it writes markers, the Kafka
///   broker's producer lock): they must only hand the wake-up over (to an event loop), never
///   block and never call back into the engine.
/// - Invariant: a deleted (closed) partition never fires its callbacks; waiters end by their own
///   timeouts.
/// Thread-safety: safe from any thread.
package final class PartitionChangeObservers: @unchecked Sendable {
    /// A registration, for ``remove(_:)``.
    package struct Token: Hashable, Sendable {
        fileprivate let rawValue: UInt64
    }

    private let lock = Lock()
    private var nextToken: UInt64 = 0
    private var waiting: [UInt64: @Sendable () -> Void] = [:]

    package init() {}

    /// Registers `callback` to run once, at the next append that writes a batch here.
    package func add(_ callback: @escaping @Sendable () -> Void) -> Token {
        lock.lock(); defer { lock.unlock() }
        nextToken += 1
        waiting[nextToken] = callback
        return Token(rawValue: nextToken)
    }

    /// Unregisters a callback that has not fired; does nothing for one that fired already.
    package func remove(_ token: Token) {
        lock.lock(); defer { lock.unlock() }
        waiting[token.rawValue] = nil
    }

    /// How many callbacks wait.
    package var count: Int {
        lock.lock(); defer { lock.unlock() }
        return waiting.count
    }

    /// Fires and forgets every waiting callback. Called by the append path after the append is
    /// visible and its lock released.
    func notifyChanged() {
        lock.lock()
        guard !waiting.isEmpty else {
            lock.unlock()
            return
        }
        let fired = waiting.sorted { $0.key < $1.key }.map(\.value)
        waiting = [:]
        lock.unlock()
        for callback in fired { callback() }
    }
}
