package import StreamCore
import Synchronization

/// A virtual clock for simulations: time stands still until ``advance(byMilliseconds:)`` or
/// ``advance(byNanoseconds:)`` moves it, and both readings move together; ``jumpWall(byMilliseconds:)``
/// moves the wall reading alone, forward or back, as an NTP step or an operator's `date -s` does.
///
/// Thread-safety: every call is safe from any thread.
package final class SimulatedClock: EngineClock {
    private struct Reading {
        var wallNanoseconds: Int64
        var monotonicNanoseconds: UInt64
    }

    private let reading: Mutex<Reading>

    /// A clock reading `start` as wall time and `monotonicStartNanoseconds` as monotonic time.
    package init(start: Timestamp, monotonicStartNanoseconds: UInt64 = 0) {
        self.reading = Mutex(Reading(wallNanoseconds: start.milliseconds * 1_000_000, monotonicNanoseconds: monotonicStartNanoseconds))
    }

    /// Moves both readings forward by `milliseconds`.
    ///
    /// - Precondition: `milliseconds >= 0`; time never goes back.
    package func advance(byMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= 0, "advance(byMilliseconds: \(milliseconds)): time never goes back")
        advance(byNanoseconds: UInt64(milliseconds) * 1_000_000)
    }

    /// Moves both readings forward by `nanoseconds`.
    package func advance(byNanoseconds nanoseconds: UInt64) {
        reading.withLock { reading in
            reading.wallNanoseconds += Int64(nanoseconds)
            reading.monotonicNanoseconds += nanoseconds
        }
    }

    /// Steps the wall reading by `milliseconds` (negative: back) and leaves the monotonic reading
    /// where it is: code that measures durations on the wall clock sees time jump or run backwards.
    package func jumpWall(byMilliseconds milliseconds: Int64) {
        reading.withLock { reading in reading.wallNanoseconds += milliseconds * 1_000_000 }
    }

    /// The virtual wall time, in whole milliseconds.
    package func now() -> Timestamp {
        reading.withLock { reading in Timestamp(milliseconds: reading.wallNanoseconds / 1_000_000) }
    }

    /// The virtual monotonic time.
    package func monotonicNanoseconds() -> UInt64 {
        reading.withLock { reading in reading.monotonicNanoseconds }
    }
}
