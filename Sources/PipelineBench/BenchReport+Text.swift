import Foundation

extension BenchReport {
    /// The readable table printed at the end of a bench.
    package var table: String {
        let c = configuration
        let load = c.rateRecordsPerSecond.map { "\(grouped($0)) records/s for \(number(c.durationSeconds ?? 0)) s" } ?? "full speed"
        var lines = [
            "pipeline bench \(pipeline): \(grouped(c.records)) records, \(c.partitions) partitions, ~\(c.recordBytes) B values, "
                + "\(grouped(c.keys)) keys, \(c.guarantee), commit every \(c.commitIntervalMilliseconds) ms, \(load), \(c.threads) threads"
                + (c.audit.map { ", audit \($0 ? "on" : "off")" } ?? "") + (c.metrics.map { ", metrics \($0 ? "on" : "off")" } ?? ""),
            "machine: \(machine.cores) cores, \(machine.cpuModel), \(number(Double(machine.memoryBytes) / 1_073_741_824)) GiB, \(machine.build) build",
            "",
        ]
        var rows: [(String, String, String)] = [("", "in", "out")]
        rows.append(("records", grouped(throughput.recordsIn), grouped(throughput.recordsOut)))
        rows.append(("records/s", grouped(Int(throughput.recordsInPerSecond)), grouped(Int(throughput.recordsOutPerSecond))))
        rows.append(("MB/s", number(throughput.megabytesInPerSecond), number(throughput.megabytesOutPerSecond)))
        rows.append(("elapsed", number(throughput.elapsedSeconds) + " s", ""))
        let basis = latency.basis == "append" ? "input append → output visible read-committed"
            : "pipeline start or later append → output visible read-committed"
        if latency.measured {
            rows.append(("latency (ms)", "", ""))
            rows.append(("  p50 / p90", milliseconds(latency.p50), milliseconds(latency.p90)))
            rows.append(("  p99 / p99.9", milliseconds(latency.p99), milliseconds(latency.p999)))
            rows.append(("  max", milliseconds(latency.max), "(\(basis))"))
        } else {
            rows.append(("latency", "n/a", latency.note ?? ""))
        }
        rows.append(("commits", "\(grouped(commits.count)) (\(number(commits.perSecond))/s)", "aborts \(commits.aborts)"))
        rows.append(("  commit p50 / p99", milliseconds(commits.p50Milliseconds) + " ms", milliseconds(commits.p99Milliseconds) + " ms"))
        rows.append(("CPU user / system", number(resources.cpuUserSeconds) + " s", number(resources.cpuSystemSeconds) + " s"))
        rows.append(("  cores busy", number(resources.cpuCores), ""))
        rows.append(("peak memory", number(Double(resources.peakMemoryBytes) / 1_000_000) + " MB", ""))
        let first = rows.map(\.0.count).max() ?? 0
        let second = rows.map(\.1.count).max() ?? 0
        for row in rows {
            lines.append(pad(row.0, first) + "  " + pad(row.1, second, right: true) + "  " + row.2)
        }
        return lines.map { $0.trimmingTrailingSpaces }.joined(separator: "\n")
    }

    /// Each metric of `old` → this report's, with the change in percent.
    package func comparison(with old: BenchReport) -> String {
        var rows: [(String, Double?, Double?)] = [
            ("records in/s", old.throughput.recordsInPerSecond, throughput.recordsInPerSecond),
            ("records out/s", old.throughput.recordsOutPerSecond, throughput.recordsOutPerSecond),
            ("MB in/s", old.throughput.megabytesInPerSecond, throughput.megabytesInPerSecond),
            ("MB out/s", old.throughput.megabytesOutPerSecond, throughput.megabytesOutPerSecond),
            ("latency p50 ms", old.latency.p50, latency.p50),
            ("latency p90 ms", old.latency.p90, latency.p90),
            ("latency p99 ms", old.latency.p99, latency.p99),
            ("latency p99.9 ms", old.latency.p999, latency.p999),
            ("latency max ms", old.latency.max, latency.max),
            ("commits/s", old.commits.perSecond, commits.perSecond),
            ("commit p50 ms", old.commits.p50Milliseconds, commits.p50Milliseconds),
            ("commit p99 ms", old.commits.p99Milliseconds, commits.p99Milliseconds),
            ("CPU s", old.resources.cpuSeconds, resources.cpuSeconds),
            ("peak memory MB", Double(old.resources.peakMemoryBytes) / 1_000_000, Double(resources.peakMemoryBytes) / 1_000_000),
        ]
        rows.append(("elapsed s", old.throughput.elapsedSeconds, throughput.elapsedSeconds))
        var lines = ["change against the earlier run (\(old.pipeline), \(old.configuration.guarantee), \(old.mode), \(old.startedAt)):"]
        let width = rows.map(\.0.count).max() ?? 0
        for (name, before, after) in rows {
            let change: String
            if let before, let after, before != 0 {
                let percent = (after - before) / before * 100
                change = (percent >= 0 ? "+" : "") + String(format: "%.1f%%", percent)
            } else {
                change = "n/a"
            }
            lines.append(pad(name, width) + "  " + (before.map(number) ?? "n/a") + " → " + (after.map(number) ?? "n/a") + "  (" + change + ")")
        }
        return lines.joined(separator: "\n")
    }
}

/// `1,234,567`.
package func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return (value < 0 ? "-" : "") + result
}

/// Three significant digits at most, two decimals at most: `0.412`, `12.3`, `185270`.
func number(_ value: Double) -> String {
    if value >= 1000 { return grouped(Int(value.rounded())) }
    if value >= 100 { return String(format: "%.1f", value) }
    if value >= 1 { return String(format: "%.2f", value) }
    return String(format: "%.3f", value)
}

private func milliseconds(_ value: Double?) -> String { value.map(number) ?? "n/a" }

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
