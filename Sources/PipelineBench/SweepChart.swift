import Foundation

/// The `bench sweep` chart: two panels side by side, throughput (input records/s) and p99
/// latency against the commit interval (log scale), one line per guarantee, each with axes,
/// ticks, labels and a legend. Plain SVG 1.1 text.
///
/// ```
/// ┌ title ─────────────────────────────────────────────┐
/// │ ┌ throughput ──────────┐  ┌ p99 latency ─────────┐ │
/// │ │ y ticks, lines, dots │  │ y ticks, lines, dots │ │
/// │ └ x: commit interval ──┘  └ x: commit interval ──┘ │
/// │            legend: ── exactly-once  ── at-least-once│
/// └────────────────────────────────────────────────────┘
/// ```
package enum SweepChart {
    static let width = 960.0, height = 420.0
    static let panelWidth = 380.0, panelHeight = 260.0, panelTop = 60.0
    static let panelLefts = [90.0, 570.0]
    static let colors = ["exactly-once": "#1f77b4", "at-least-once": "#d62728"]

    /// The chart of `reports` (one or two per grid point) of `pipeline`: throughput from the
    /// full-speed runs and latency from the fixed-rate runs when there are both, else both from
    /// the runs there are.
    package static func svg(pipeline: String, reports: [BenchReport]) -> String {
        let guarantees = orderedGuarantees(reports)
        let intervals = Array(Set(reports.map(\.configuration.commitIntervalMilliseconds))).sorted()
        let fullSpeed = reports.filter { $0.mode == "full-speed" }
        let fixedRate = reports.filter { $0.mode == "fixed-rate" }
        let throughputReports = fullSpeed.isEmpty ? reports : fullSpeed
        let latencyReports = fixedRate.isEmpty ? reports : fixedRate
        let rate = fixedRate.first?.configuration.rateRecordsPerSecond
        let throughputTitle = fullSpeed.isEmpty ? "Throughput" : "Throughput at full speed"
        let latencyTitle = "p99 end-to-end latency" + (rate.map { " at \(grouped($0)) records/s" } ?? " (from the run's start)")
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="white"/>
            <text x="\(width / 2)" y="20" text-anchor="middle" font-size="16" font-weight="bold">\(escape("pipeline bench sweep \(pipeline)"))</text>
            <text x="\(width / 2)" y="36" text-anchor="middle" fill="#555">\(escape(subtitle(throughputReports)))</text>

            """
        let panels: [(title: String, axis: String, reports: [BenchReport], value: (BenchReport) -> Double?)] = [
            (throughputTitle, "input records/s", throughputReports, { $0.throughput.recordsInPerSecond }),
            (latencyTitle, "milliseconds", latencyReports, { $0.latency.p99 }),
        ]
        for (index, panel) in panels.enumerated() {
            svg += drawPanel(left: panelLefts[index], title: panel.title, axis: panel.axis, intervals: intervals,
                             guarantees: guarantees, reports: panel.reports, value: panel.value)
        }
        svg += legend(guarantees)
        svg += "</svg>\n"
        return svg
    }

    private static func subtitle(_ reports: [BenchReport]) -> String {
        guard let first = reports.first else { return "no runs" }
        let c = first.configuration
        return "\(grouped(c.records)) records, \(c.partitions) partitions, \(grouped(c.keys)) keys, \(c.threads) threads; "
            + "\(first.machine.cores) cores, \(first.machine.cpuModel), \(first.machine.build) build"
    }

    private static func orderedGuarantees(_ reports: [BenchReport]) -> [String] {
        var seen: [String] = []
        for report in reports where !seen.contains(report.configuration.guarantee) { seen.append(report.configuration.guarantee) }
        return seen
    }

    private static func drawPanel(left: Double, title: String, axis: String, intervals: [Int64], guarantees: [String],
                                  reports: [BenchReport], value: (BenchReport) -> Double?) -> String {
        let bottom = panelTop + panelHeight
        let maxValue = reports.compactMap(value).max() ?? 0
        let (top, step) = niceScale(maxValue)
        func x(_ interval: Int64) -> Double {
            guard let first = intervals.first, let last = intervals.last, last > first else { return left + panelWidth / 2 }
            let span = log10(Double(last)) - log10(Double(first))
            return rounded(left + 20 + (log10(Double(interval)) - log10(Double(first))) / span * (panelWidth - 40))
        }
        func y(_ value: Double) -> Double { rounded(bottom - value / top * panelHeight) }
        var text = "<g>\n"
        text += "<text x=\"\(left + panelWidth / 2)\" y=\"\(panelTop - 8)\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(title))</text>\n"
        var tick = 0.0
        while tick <= top + step / 2 {
            let ty = y(tick)
            text += "<line x1=\"\(left)\" y1=\"\(ty)\" x2=\"\(left + panelWidth)\" y2=\"\(ty)\" stroke=\"#e5e5e5\"/>\n"
            text += "<line x1=\"\(left - 5)\" y1=\"\(ty)\" x2=\"\(left)\" y2=\"\(ty)\" stroke=\"black\"/>\n"
            text += "<text x=\"\(left - 8)\" y=\"\(ty + 4)\" text-anchor=\"end\">\(escape(tickLabel(tick)))</text>\n"
            tick += step
        }
        for interval in intervals {
            let tx = x(interval)
            text += "<line x1=\"\(tx)\" y1=\"\(bottom)\" x2=\"\(tx)\" y2=\"\(bottom + 5)\" stroke=\"black\"/>\n"
            text += "<text x=\"\(tx)\" y=\"\(bottom + 18)\" text-anchor=\"middle\">\(escape(intervalLabel(interval)))</text>\n"
        }
        text += "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(left + panelWidth)\" y2=\"\(bottom)\" stroke=\"black\"/>\n"
        text += "<line x1=\"\(left)\" y1=\"\(panelTop)\" x2=\"\(left)\" y2=\"\(bottom)\" stroke=\"black\"/>\n"
        text += "<text x=\"\(left + panelWidth / 2)\" y=\"\(bottom + 38)\" text-anchor=\"middle\">commit interval (log scale)</text>\n"
        let labelX = left - 62, labelY = panelTop + panelHeight / 2
        text += "<text x=\"\(labelX)\" y=\"\(labelY)\" text-anchor=\"middle\" transform=\"rotate(-90 \(labelX) \(labelY))\">\(escape(axis))</text>\n"
        for guarantee in guarantees {
            let color = colors[guarantee] ?? "#555555"
            let points = reports.filter { $0.configuration.guarantee == guarantee }
                .sorted { $0.configuration.commitIntervalMilliseconds < $1.configuration.commitIntervalMilliseconds }
                .compactMap { report in value(report).map { (x(report.configuration.commitIntervalMilliseconds), y($0)) } }
            guard !points.isEmpty else { continue }
            let path = points.map { "\(round2($0.0)),\(round2($0.1))" }.joined(separator: " ")
            text += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for point in points {
                text += "<circle cx=\"\(round2(point.0))\" cy=\"\(round2(point.1))\" r=\"4\" fill=\"\(color)\"/>\n"
            }
        }
        return text + "</g>\n"
    }

    private static func legend(_ guarantees: [String]) -> String {
        var text = "<g>\n"
        var x = width / 2 - Double(guarantees.count) * 75
        let y = height - 22
        for guarantee in guarantees {
            let color = colors[guarantee] ?? "#555555"
            text += "<line x1=\"\(x)\" y1=\"\(y)\" x2=\"\(x + 24)\" y2=\"\(y)\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            text += "<circle cx=\"\(x + 12)\" cy=\"\(y)\" r=\"4\" fill=\"\(color)\"/>\n"
            text += "<text x=\"\(x + 30)\" y=\"\(y + 4)\">\(escape(guarantee))</text>\n"
            x += 150
        }
        return text + "</g>\n"
    }

    /// An axis top and tick step: 1, 2 or 5 × 10^k, five or so ticks.
    static func niceScale(_ maxValue: Double) -> (top: Double, step: Double) {
        guard maxValue > 0, maxValue.isFinite else { return (1, 0.2) }
        let rough = maxValue / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        return (ceil(maxValue / step) * step, step)
    }

    private static func tickLabel(_ value: Double) -> String {
        if value >= 1_000_000 { return trimmed(value / 1_000_000) + "M" }
        if value >= 1000 { return trimmed(value / 1000) + "k" }
        return trimmed(value)
    }

    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func intervalLabel(_ milliseconds: Int64) -> String {
        if milliseconds >= 60_000 && milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds >= 1000 && milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        if milliseconds >= 1000 { return String(format: "%.1fs", Double(milliseconds) / 1000) }
        return "\(milliseconds)ms"
    }

    private static func round2(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Two decimals, so coordinates print short.
    private static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
