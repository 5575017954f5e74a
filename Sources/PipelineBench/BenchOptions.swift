package import Sluice

/// What `pipeline bench` runs: the input it generates and the pipeline's settings for the run.
///
/// Two modes: full speed (``rateRecordsPerSecond`` nil: all ``records`` are produced first, then
/// the pipeline is timed until idle) and fixed offered load (``rateRecordsPerSecond`` for
/// ``durationMilliseconds``, produced while the pipeline runs, to measure latency).
package struct BenchOptions: Sendable, Equatable {
    /// Input records in full-speed mode; in fixed-rate mode rate × duration.
    package var records = 1_000_000
    /// Partitions of every source topic (created lz4-compressed).
    package var partitions = 8
    /// About how many bytes each generated value has.
    package var recordBytes = 120
    /// Distinct keys (customers).
    package var keys = 10_000
    package var guarantee: PipelineConfiguration.Guarantee = .exactlyOnce
    package var commitIntervalMilliseconds: Int64 = 100
    /// ``Sluice/PipelineConfiguration/audit``: whether commits append audit records.
    package var audit = true
    /// Whether the workers record the pipeline metric families (``PipelineRuntime/PipelineMetricNames``);
    /// the caller bootstraps the swift-metrics backend first (what `run --metrics` costs).
    package var recordsMetrics = false
    /// Offered load in records per second; nil for full speed.
    package var rateRecordsPerSecond: Int?
    /// How long the fixed-rate generator runs.
    package var durationMilliseconds: Int64 = 10_000
    /// Worker threads; nil: the pipeline's setting, else one per core.
    package var threads: Int?
    /// Where the data goes; nil: a temporary directory removed afterwards. Must be empty or
    /// missing.
    package var dataDirectory: String?
    /// Seeds the generator, so two runs produce the same input.
    package var seed: UInt64 = 42

    package init() {}

    /// The records a run generates.
    package var recordCount: Int {
        guard let rate = rateRecordsPerSecond else { return records }
        return Int((Double(rate) * Double(durationMilliseconds) / 1000).rounded())
    }

    /// What is wrong with these options, or nil.
    package var problem: String? {
        if records < 1 { return "--records must be at least 1" }
        if partitions < 1 || partitions > 1024 { return "--partitions must be between 1 and 1024" }
        if recordBytes < 1 || recordBytes > 1 << 20 { return "--record-bytes must be between 1 and 1048576" }
        if keys < 1 { return "--keys must be at least 1" }
        if commitIntervalMilliseconds < 1 || commitIntervalMilliseconds > 3_600_000 { return "--commit-interval must be between 1ms and 1h" }
        if let rate = rateRecordsPerSecond, rate < 1 || rate > 100_000_000 { return "--rate must be between 1 and 100000000 records/s" }
        if durationMilliseconds < 1 || durationMilliseconds > 86_400_000 { return "--duration must be between 1ms and 24h" }
        if let threads, threads < 1 { return "--threads must be at least 1" }
        if rateRecordsPerSecond != nil && recordCount < 1 { return "--rate × --duration gives no records" }
        return nil
    }
}

/// Why a bench could not run: one line for the CLI.
package struct BenchError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
