import Foundation
import Sluice

extension BenchReport {
    /// The report of one timed run.
    init(pipeline: String, options: BenchOptions, threads: Int, started: Date, measured: Benchmark.Measurement,
         latencyMode: BenchmarkLatency, commits: (durations: LatencyHistogram, failures: Int)) {
        let elapsed = max(measured.elapsedSeconds, 0.000_001)
        self.pipeline = pipeline
        mode = measured.fixedRate ? "fixed-rate" : "full-speed"
        startedAt = ISO8601DateFormatter().string(from: started)
        configuration = Configuration(
            records: measured.recordsIn, partitions: options.partitions, recordBytes: options.recordBytes, keys: options.keys,
            guarantee: options.guarantee.rawValue, commitIntervalMilliseconds: options.commitIntervalMilliseconds,
            rateRecordsPerSecond: options.rateRecordsPerSecond,
            durationSeconds: options.rateRecordsPerSecond == nil ? nil : Double(options.durationMilliseconds) / 1000, threads: threads,
            audit: options.audit, metrics: options.recordsMetrics)
        throughput = Throughput(
            elapsedSeconds: measured.elapsedSeconds, recordsIn: measured.recordsIn, recordsOut: measured.output.records,
            bytesIn: measured.bytesIn, bytesOut: measured.output.bytes,
            recordsInPerSecond: Double(measured.recordsIn) / elapsed, recordsOutPerSecond: Double(measured.output.records) / elapsed,
            megabytesInPerSecond: Double(measured.bytesIn) / 1_000_000 / elapsed,
            megabytesOutPerSecond: Double(measured.output.bytes) / 1_000_000 / elapsed)
        let histogram = measured.output.latencies
        switch latencyMode {
        case .fromInputTimestamp:
            latency = Latency(
                measured: histogram.count > 0, basis: measured.fixedRate ? "append" : "run-start",
                note: histogram.count > 0 ? nil : "no output records", samples: histogram.count,
                p50: histogram.milliseconds(atPercentile: 50), p90: histogram.milliseconds(atPercentile: 90),
                p99: histogram.milliseconds(atPercentile: 99), p999: histogram.milliseconds(atPercentile: 99.9), max: histogram.maxMilliseconds)
        case .notMeasured(let reason):
            latency = Latency(measured: false, basis: "none", note: reason, samples: 0)
        }
        self.commits = Commits(
            count: commits.durations.count, perSecond: Double(commits.durations.count) / elapsed, aborts: commits.failures,
            p50Milliseconds: commits.durations.milliseconds(atPercentile: 50), p99Milliseconds: commits.durations.milliseconds(atPercentile: 99),
            maxMilliseconds: commits.durations.maxMilliseconds)
        let usage = ProcessUsage.current()
        resources = Resources(cpuUserSeconds: measured.usage.user, cpuSystemSeconds: measured.usage.system,
                              cpuSeconds: measured.usage.user + measured.usage.system,
                              cpuCores: (measured.usage.user + measured.usage.system) / elapsed, peakMemoryBytes: usage.peakMemoryBytes)
        machine = Machine(cores: ProcessInfo.processInfo.activeProcessorCount, cpuModel: MachineDescription.cpuModel(),
                          memoryBytes: Int64(clamping: ProcessInfo.processInfo.physicalMemory), build: MachineDescription.build)
    }
}

