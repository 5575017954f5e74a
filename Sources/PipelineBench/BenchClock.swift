import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The clocks and process measurements a bench reads.
enum BenchClock {
    /// Wall-clock nanoseconds since the epoch (CLOCK_REALTIME). Input timestamps and the
    /// reader's "now" both come from here, so latency is a difference of one clock.
    static func wallNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Monotonic nanoseconds (CLOCK_MONOTONIC), for elapsed times.
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// CPU time and peak memory of the whole process (getrusage), generator and reader included.
struct ProcessUsage: Equatable {
    var userSeconds: Double
    var systemSeconds: Double
    /// The resident set's high-water mark since the process started.
    var peakMemoryBytes: Int64

    static func current() -> ProcessUsage {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return ProcessUsage(userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                            peakMemoryBytes: Int64(usage.ru_maxrss) * 1024)
    }
}

/// The machine a bench ran on.
enum MachineDescription {
    /// The first `model name` of /proc/cpuinfo, or "unknown".
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// "debug" or "release", as this binary was built.
    static var build: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }
}
