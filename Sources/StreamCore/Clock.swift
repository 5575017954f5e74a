#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock seam. Production code reads time only through it, so the simulator can drive a
/// virtual clock deterministically.
///
/// Thread-safety: implementations are safe to call from any thread.
package protocol EngineClock: Sendable {
    /// Wall-clock time, used for record timestamps, segment ages and retention.
    func now() -> Timestamp
    /// A monotonic reading in nanoseconds, used for linger, backoff and latency.
    func monotonicNanoseconds() -> UInt64
}

/// The real clock.
package struct SystemClock: EngineClock {
    package init() {}

    package func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    package func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
