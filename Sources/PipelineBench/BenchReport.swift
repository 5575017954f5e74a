/// The result of one `pipeline bench` run, as printed and as written by `--output` (JSON, keys
/// as in the `CodingKeys`; schema in the README). Values that were not measured are absent.
package struct BenchReport: Codable, Sendable, Equatable {
    /// Bumped when a field changes meaning or disappears.
    package var schemaVersion = 1
    package var pipeline: String
    /// `full-speed` or `fixed-rate`.
    package var mode: String
    /// ISO 8601, UTC.
    package var startedAt: String
    package var configuration: Configuration
    package var throughput: Throughput
    package var latency: Latency
    package var commits: Commits
    package var resources: Resources
    package var machine: Machine

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", pipeline, mode, startedAt = "started_at", configuration, throughput
        case latency = "latency_ms", commits, resources, machine
    }

    package struct Configuration: Codable, Sendable, Equatable {
        package var records: Int
        package var partitions: Int
        package var recordBytes: Int
        package var keys: Int
        /// `exactly-once` or `at-least-once`.
        package var guarantee: String
        package var commitIntervalMilliseconds: Int64
        /// Offered load (fixed-rate mode only).
        package var rateRecordsPerSecond: Int?
        /// How long the generator ran (fixed-rate mode only).
        package var durationSeconds: Double?
        package var threads: Int
        /// Whether commits appended audit records (nil in reports from before the switch).
        package var audit: Bool?
        /// Whether the workers recorded the metric families (nil in reports from before the switch).
        package var metrics: Bool?

        enum CodingKeys: String, CodingKey {
            case records, partitions, recordBytes = "record_bytes", keys, guarantee, commitIntervalMilliseconds = "commit_interval_ms"
            case rateRecordsPerSecond = "rate", durationSeconds = "duration_s", threads, audit, metrics
        }
    }

    /// Input and output records and bytes (key + value) over the timed run; MB are 10^6 bytes.
    package struct Throughput: Codable, Sendable, Equatable {
        /// Full speed: from the pipeline's start to idle. Fixed rate: from the generator's start
        /// to the pipeline's last commit.
        package var elapsedSeconds: Double
        package var recordsIn: Int
        package var recordsOut: Int
        package var bytesIn: Int64
        package var bytesOut: Int64
        package var recordsInPerSecond: Double
        package var recordsOutPerSecond: Double
        package var megabytesInPerSecond: Double
        package var megabytesOutPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case elapsedSeconds = "elapsed_s", recordsIn = "records_in", recordsOut = "records_out", bytesIn = "bytes_in", bytesOut = "bytes_out"
            case recordsInPerSecond = "records_in_per_s", recordsOutPerSecond = "records_out_per_s"
            case megabytesInPerSecond = "mb_in_per_s", megabytesOutPerSecond = "mb_out_per_s"
        }
    }

    /// End-to-end latency in milliseconds: from the input record's append to its output being
    /// visible to a read-committed reader. Percentiles are HdrHistogram's (3 significant digits).
    package struct Latency: Codable, Sendable, Equatable {
        package var measured: Bool
        /// `append` (fixed rate), `run-start` (full speed: from the later of the append and the
        /// pipeline's start, since every record was appended before it), or `none`.
        package var basis: String
        /// Why latency is not measured, or a caveat.
        package var note: String?
        package var samples: Int
        package var p50: Double?
        package var p90: Double?
        package var p99: Double?
        package var p999: Double?
        package var max: Double?

        enum CodingKeys: String, CodingKey {
            case measured, basis, note, samples, p50, p90, p99, p999 = "p99_9", max
        }
    }

    /// Commits of all workers (transactions, or at-least-once flush + offsets).
    package struct Commits: Codable, Sendable, Equatable {
        package var count: Int
        package var perSecond: Double
        /// Commits that failed (a worker stops on one, so a finished bench has 0).
        package var aborts: Int
        package var p50Milliseconds: Double?
        package var p99Milliseconds: Double?
        package var maxMilliseconds: Double?

        enum CodingKeys: String, CodingKey {
            case count, perSecond = "per_s", aborts, p50Milliseconds = "latency_p50_ms", p99Milliseconds = "latency_p99_ms"
            case maxMilliseconds = "latency_max_ms"
        }
    }

    /// getrusage of the whole process over the timed run (CPU) and its life (peak memory).
    package struct Resources: Codable, Sendable, Equatable {
        package var cpuUserSeconds: Double
        package var cpuSystemSeconds: Double
        package var cpuSeconds: Double
        /// CPU seconds per elapsed second (2.0 = two cores busy).
        package var cpuCores: Double
        package var peakMemoryBytes: Int64

        enum CodingKeys: String, CodingKey {
            case cpuUserSeconds = "cpu_user_s", cpuSystemSeconds = "cpu_system_s", cpuSeconds = "cpu_s", cpuCores = "cpu_cores"
            case peakMemoryBytes = "peak_memory_bytes"
        }
    }

    package struct Machine: Codable, Sendable, Equatable {
        package var cores: Int
        package var cpuModel: String
        package var memoryBytes: Int64
        /// `debug` or `release`.
        package var build: String

        enum CodingKeys: String, CodingKey {
            case cores, cpuModel = "cpu_model", memoryBytes = "memory_bytes", build
        }
    }
}
