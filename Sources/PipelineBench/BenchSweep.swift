package import Foundation

/// `pipeline bench sweep`: one bench per (guarantee, commit interval) and mode, each in a child
/// process of the same executable (so every run has its own peak memory and a cold start), its
/// JSON written to the output directory, then the chart. With both modes, each point is run at
/// full speed (its throughput is charted) and at the fixed rate (its latency is charted).
package enum BenchSweep {
    /// One grid point.
    package struct Point: Sendable, Equatable {
        package var guarantee: String
        /// As given (`100ms`); used in file names.
        package var commitInterval: String
        package init(guarantee: String, commitInterval: String) {
            self.guarantee = guarantee
            self.commitInterval = commitInterval
        }
    }

    /// How a grid point is run.
    package enum Mode: String, Sendable, CaseIterable {
        /// All input first, then timed until idle: `<pipeline>-<guarantee>-<interval>.json`.
        case fullSpeed = "full-speed"
        /// At the offered rate: `<pipeline>-<guarantee>-<interval>-rate.json`.
        case fixedRate = "fixed-rate"
    }

    /// Runs every point in every mode with `executable arguments(point, mode, reportPath)`,
    /// which must write its report to `reportPath`; writes `<pipeline>-sweep.svg` next to the
    /// reports.
    /// - Returns: the reports, in grid order, and the chart's path.
    /// - Throws: ``BenchError`` when a child fails or its report cannot be read.
    package static func run(pipeline: String, points: [Point], modes: [Mode], outputDirectory: String, executable: String,
                            arguments: (Point, Mode, String) -> [String]) throws(BenchError) -> (reports: [BenchReport], chart: String) {
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create --output-dir \(outputDirectory): \(error.localizedDescription)")
        }
        var reports: [BenchReport] = []
        for point in points {
            for mode in modes {
                let suffix = mode == .fixedRate ? "-rate" : ""
                let path = URL(fileURLWithPath: outputDirectory).appendingPathComponent("\(pipeline)-\(point.guarantee)-\(point.commitInterval)\(suffix).json").path
                let child = Process()
                child.executableURL = URL(fileURLWithPath: executable)
                child.arguments = arguments(point, mode, path)
                do {
                    try child.run()
                } catch {
                    throw BenchError("cannot start \(executable): \(error.localizedDescription)")
                }
                child.waitUntilExit()
                guard child.terminationReason == .exit, child.terminationStatus == 0 else {
                    throw BenchError("the \(mode.rawValue) bench of \(point.guarantee) at \(point.commitInterval) failed (exit status \(child.terminationStatus))")
                }
                reports.append(try load(path))
            }
        }
        let chart = URL(fileURLWithPath: outputDirectory).appendingPathComponent("\(pipeline)-sweep.svg").path
        do {
            try Data(SweepChart.svg(pipeline: pipeline, reports: reports).utf8).write(to: URL(fileURLWithPath: chart))
        } catch {
            throw BenchError("cannot write \(chart): \(error.localizedDescription)")
        }
        return (reports, chart)
    }

    /// A report written by `--output`.
    package static func load(_ path: String) throws(BenchError) -> BenchReport {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BenchError("cannot read \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(BenchReport.self, from: data) } catch {
            throw BenchError("\(path) is not a bench report: \(error)")
        }
    }

    /// A report as `--output` writes it: pretty, keys sorted.
    package static func encode(_ report: BenchReport) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        return (try? encoder.encode(report)) ?? Data()
    }

    /// The one-line summary of a grid point.
    package static func summary(_ report: BenchReport) -> String {
        let p99 = report.latency.p99.map { number($0) + " ms" } ?? "n/a"
        return "\(report.configuration.guarantee) \(SweepChart.intervalLabel(report.configuration.commitIntervalMilliseconds)) \(report.mode): "
            + "\(grouped(Int(report.throughput.recordsInPerSecond))) records/s, p99 \(p99), "
            + "commit p99 \(report.commits.p99Milliseconds.map { number($0) + " ms" } ?? "n/a")"
    }
}
