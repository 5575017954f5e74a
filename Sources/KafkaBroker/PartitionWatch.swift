package import StreamCore
import LogStorage

/// Where a partition stood when a waiter last looked: a watch fires as soon as either offset
/// has moved from here.
package struct WatchedPosition: Sendable, Equatable {
    package var topicPartition: TopicPartition
    package var logEndOffset: Offset
    package var lastStableOffset: Offset
    package init(_ topicPartition: TopicPartition, logEndOffset: Offset, lastStableOffset: Offset) {
        self.topicPartition = topicPartition
        self.logEndOffset = logEndOffset
        self.lastStableOffset = lastStableOffset
    }
}

/// A one-shot wait for any of a set of partitions to move (its log end offset or last stable
/// offset), for Fetch long polls without a blocked thread: the server fetches, finds less than
/// `min_bytes`, watches the positions the fetch saw, and fetches again when the callback runs
/// (or its own `max_wait_ms` timer does, which then cancels the watch).
///
/// Fed by every writer of the partitions, not only the broker: the notification comes from
/// ``PartitionLog/append(_:)`` through ``PartitionChangeObservers``, so a pipeline running in the
/// same process, a ``LogProducer``, or the coordinator writing a COMMIT marker (which moves the
/// LSO) wakes a waiting consumer as a Kafka producer's batch does.
///
/// - Invariant: the callback runs at most once, after a change is visible (a fetch made from it
///   sees the change), and never after ``cancel()`` returned. A position already passed when the
///   watch is made fires it at once, on the calling thread, so no append between the caller's
///   look and the watch is missed.
/// - Invariant: callbacks run on the appending thread, outside the partition's lock but possibly
///   inside the appender's (the coordinator's, the broker's producer lock): they must only hand
///   the wake-up over to an event loop, never block and never call the broker or the engine.
///   A partition deleted while watched never fires; the server's `max_wait_ms` ends the wait.
/// Thread-safety: safe from any thread.
package final class PartitionWatch: @unchecked Sendable {
    private let lock = Lock()
    private var callback: (@Sendable () -> Void)?
    private var registrations: [(PartitionChangeObservers, PartitionChangeObservers.Token)] = []

    init(callback: @escaping @Sendable () -> Void) {
        self.callback = callback
    }

    /// Whether the callback has run or the watch was cancelled.
    package var isFinished: Bool {
        lock.lock(); defer { lock.unlock() }
        return callback == nil
    }

    /// Stops the watch; the callback will not run (if it is running now, it was not stopped).
    package func cancel() {
        _ = take()
    }

    func register(_ observers: PartitionChangeObservers) {
        // Held strongly: a watch lives until it fires or is cancelled, whoever keeps it.
        let token = observers.add { self.fire() }
        lock.lock()
        let live = callback != nil
        if live { registrations.append((observers, token)) }
        lock.unlock()
        if !live { observers.remove(token) }
    }

    func fire() {
        take()?()
    }

    /// Takes the callback (once) and unregisters everywhere.
    private func take() -> (@Sendable () -> Void)? {
        lock.lock()
        let taken = callback
        callback = nil
        let registered = registrations
        registrations = []
        lock.unlock()
        for (observers, token) in registered { observers.remove(token) }
        return taken
    }
}

extension KafkaBroker {
    /// Watches partitions from the positions a caller saw (e.g. a fetch's high watermark and last
    /// stable offset): `callback` runs once, when any of them moves, or at once when one already
    /// has. Unknown partitions (deleted since) fire it at once too, so the caller's next fetch
    /// answers their error.
    package func watch(_ positions: [WatchedPosition], callback: @escaping @Sendable () -> Void) -> PartitionWatch {
        let watch = PartitionWatch(callback: callback)
        var moved = false
        for position in positions {
            guard let partition = try? log.partition(position.topicPartition) else {
                moved = true
                continue
            }
            watch.register(partition.changeObservers)
            // After registering: an append between the caller's look and now is caught here,
            // one after it by the observer.
            if partition.logEndOffset != position.logEndOffset || partition.lastStableOffset != position.lastStableOffset {
                moved = true
            }
        }
        if moved { watch.fire() }
        return watch
    }
}
