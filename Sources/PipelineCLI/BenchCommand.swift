import ArgumentParser
import Foundation
import MetricsExport
import PipelineBench
import Sluice

/// `pipeline bench …`: measure a pipeline of the catalog (``BenchRun``, the default) or a grid of
/// guarantees × commit intervals (``BenchSweepCommand``).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark a pipeline over generated input: throughput, latency, commits, CPU, memory.",
        subcommands: [BenchRun.self, BenchSweepCommand.self], defaultSubcommand: BenchRun.self)
}

/// The input and run settings `bench` and `bench sweep` share. Every value is parsed in
/// ``options()`` so a bad one gives a one-line error.
struct BenchInputOptions: ParsableArguments {
    @Option(help: "Input records at full speed (default 1000000).") var records: String?
    @Option(help: "Partitions of each source topic (default 8).") var partitions: String?
    @Option(name: .customLong("record-bytes"), help: "About how many bytes each generated value has (default 120).") var recordBytes: String?
    @Option(help: "Distinct keys, e.g. customers (default 10000).") var keys: String?
    @Option(help: "Offered load in records/s, produced while the pipeline runs (fixed-rate mode, for latency).") var rate: String?
    @Option(help: "How long the fixed-rate generator runs (e.g. 10s, 2.5s, 1m; default 10s; needs --rate).") var duration: String?
    @Option(help: "Worker threads (default: the pipeline's setting, else one per core).") var threads: String?

    /// The parsed settings.
    func options() throws -> BenchOptions {
        var options = BenchOptions()
        if let records { options.records = try integer(records, flag: "--records") }
        if let partitions { options.partitions = try integer(partitions, flag: "--partitions") }
        if let recordBytes { options.recordBytes = try integer(recordBytes, flag: "--record-bytes") }
        if let keys { options.keys = try integer(keys, flag: "--keys") }
        if let threads { options.threads = try integer(threads, flag: "--threads") }
        if let rate {
            guard records == nil else { throw CLIError("--records and --rate exclude each other (with --rate the input is rate × --duration)") }
            options.rateRecordsPerSecond = try integer(rate, flag: "--rate")
        }
        if let duration {
            guard rate != nil else { throw CLIError("--duration needs --rate") }
            guard let milliseconds = Units.milliseconds(duration), milliseconds > 0 else {
                throw CLIError("invalid --duration '\(duration)' (e.g. 10s, 2.5s, 1m)")
            }
            options.durationMilliseconds = milliseconds
        }
        return options
    }

    /// The flags as given, for a sweep's child process running in `mode`: `--records` for
    /// full speed, `--rate` and `--duration` for fixed rate, the others for both.
    func arguments(for mode: BenchSweep.Mode) -> [String] {
        let modeFlags = mode == .fullSpeed ? [("--records", records)] : [("--rate", rate), ("--duration", duration)]
        return (modeFlags + [("--partitions", partitions), ("--record-bytes", recordBytes), ("--keys", keys), ("--threads", threads)])
            .flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }

    /// The same options for one mode of a sweep (which may have both `--records` and `--rate`).
    func only(_ mode: BenchSweep.Mode) -> BenchInputOptions {
        var copy = self
        if mode == .fullSpeed {
            copy.rate = nil
            copy.duration = nil
        } else {
            copy.records = nil
        }
        return copy
    }
}

/// A whole number for `flag`, else a one-line error.
private func integer(_ text: String, flag: String) throws -> Int {
    guard let value = Int(text.replacingOccurrences(of: "_", with: "")), value >= 1 else {
        throw CLIError("invalid \(flag) '\(text)' (a whole number, at least 1)")
    }
    return value
}

/// `pipeline bench NAME [--records N] [--partitions P] [--record-bytes B] [--keys K] [--guarantee G]
/// [--commit-interval D] [--rate R] [--duration T] [--threads N] [--data-dir DIR] [--output report.json]
/// [--compare old.json]`.
struct BenchRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Benchmark one pipeline (the default).")

    @Argument(help: "The pipeline's name (see `pipeline list`).") var name: String
    @OptionGroup var input: BenchInputOptions
    @Option(help: "exactly-once (default) or at-least-once.") var guarantee: String = "exactly-once"
    @Option(name: .customLong("commit-interval"), help: "How long one commit collects records (default 100ms).") var commitInterval: String = "100ms"
    @Option(name: .customLong("data-dir"), help: "Run here (must be empty or missing; kept afterwards) instead of a temporary directory.")
    var dataDirectory: String?
    @Option(help: "Write the report as JSON to this file.") var output: String?
    @Option(help: "Print each metric's change against this earlier --output report.") var compare: String?
    @Option(help: "on (default): every commit appends its audit record to <pipeline>.audit; off: none (to measure its cost).")
    var audit: String = "on"
    @Option(help: "off (default): no metrics, as `run` without --metrics; on: the workers record every metric family into a Prometheus registry, as `run --metrics` (to measure its cost).")
    var metrics: String = "off"

    func run() throws {
        let pipeline = try catalogPipeline(name)
        var options = try input.options()
        options.audit = try parseAuditSwitch(audit)
        options.recordsMetrics = try parseOnOff(metrics, flag: "--metrics")
        if options.recordsMetrics { PrometheusExport(log: nil).bootstrap() }
        options.guarantee = try parseGuarantee(guarantee)
        options.commitIntervalMilliseconds = try parseCommitInterval(commitInterval)
        options.dataDirectory = dataDirectory
        let old = try compare.map { path throws in try benchCall { () throws(BenchError) in try BenchSweep.load(path) } }
        let reporter = ProgressReporter()
        let report = try benchCall { () throws(BenchError) in try Benchmark.run(pipeline, options: options, progress: reporter.report) }
        reporter.finish()
        print(report.table)
        if let old { print("\n" + report.comparison(with: old)) }
        if let output {
            do { try BenchSweep.encode(report).write(to: URL(fileURLWithPath: output)) } catch {
                throw CLIError("cannot write --output \(output): \(error.localizedDescription)")
            }
        }
    }
}

/// `pipeline bench sweep NAME [--commit-intervals 10ms,100ms,1s] [--guarantees exactly-once,at-least-once]
/// [--records N] [--rate R --duration T] [--output-dir DIR] …`: one bench per grid point at full
/// speed (unless only `--rate` is given) and one at the fixed rate (with `--rate`), their JSON
/// reports in DIR, and `DIR/<NAME>-sweep.svg` charting throughput and p99 latency.
struct BenchSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Benchmark a grid of guarantees × commit intervals and chart it.")

    @Argument(help: "The pipeline's name (see `pipeline list`).") var name: String
    @Option(name: .customLong("commit-intervals"), help: "Comma-separated commit intervals.") var commitIntervals: String = "10ms,100ms,1s"
    @Option(help: "Comma-separated guarantees.") var guarantees: String = "exactly-once,at-least-once"
    @OptionGroup var input: BenchInputOptions
    @Option(name: .customLong("output-dir"), help: "Where the JSON reports and the SVG chart go (default bench-results).")
    var outputDirectory: String = "bench-results"

    func run() throws {
        _ = try catalogPipeline(name)
        var modes: [BenchSweep.Mode] = input.records != nil || input.rate == nil ? [.fullSpeed] : []
        if input.rate != nil { modes.append(.fixedRate) }
        if input.duration != nil && input.rate == nil { throw CLIError("--duration needs --rate") }
        for mode in modes { _ = try input.only(mode).options() }
        let intervals = commitIntervals.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let kinds = guarantees.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        guard !intervals.isEmpty, !kinds.isEmpty else { throw CLIError("--commit-intervals and --guarantees need at least one value each") }
        for interval in intervals { _ = try parseCommitInterval(interval) }
        for kind in kinds { _ = try parseGuarantee(kind) }
        let points = kinds.flatMap { kind in intervals.map { BenchSweep.Point(guarantee: kind, commitInterval: $0) } }
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let input = self.input
        let result = try benchCall { () throws(BenchError) in
            try BenchSweep.run(pipeline: name, points: points, modes: modes, outputDirectory: outputDirectory, executable: executable) { point, mode, path in
                ["bench", name, "--guarantee", point.guarantee, "--commit-interval", point.commitInterval, "--output", path]
                    + input.arguments(for: mode)
            }
        }
        print("\nsweep of \(name): \(result.reports.count) runs")
        for report in result.reports { print("  " + BenchSweep.summary(report)) }
        print("reports and chart: \(outputDirectory) (\(URL(fileURLWithPath: result.chart).lastPathComponent))")
    }
}

/// Runs a bench call, turning its error into a one-line CLI error.
private func benchCall<T>(_ body: () throws(BenchError) -> T) throws -> T {
    do { return try body() } catch { throw CLIError(error.description) }
}
