import StreamCore
import PipelineBench
import Foundation

/// One line on standard output, flushed, so each step shows as it happens even through a pipe.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// The demo's step headers and its closing summary table.
struct DemoReport {
    private var rows: [(String, String)] = []

    /// `[n] what` with the command a user would type for it.
    static func step(_ number: Int, _ what: String, command: String) {
        say("[\(number)] \(what)\n      $ \(command)")
    }

    mutating func add(_ name: String, _ value: String) { rows.append((name, value)) }

    func print() {
        let width = rows.map(\.0.count).max() ?? 0
        say("summary")
        for (name, value) in rows { say("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)") }
    }
}

/// The child run's progress, from its `order-totals: N records, …` lines: shown as one line
/// (rewritten in place on a terminal), and the kill point, a third of the records.
///
/// Thread-safety: `observe` from the child's reader thread, the rest from the demo's thread.
final class DemoProgress: @unchecked Sendable {
    private let total: Int
    private let state = Lock()
    private var latest = 0
    private let reporter = ProgressReporter(interval: 0.2)

    init(total: Int) { self.total = total }

    /// One stderr line of the child (lines that are not progress are ignored).
    func observe(_ line: String) {
        guard line.hasPrefix("order-totals: "), let count = line.dropFirst("order-totals: ".count).split(separator: " ").first.flatMap({ Int($0) }) else {
            return
        }
        state.lock()
        latest = count
        state.unlock()
        reporter.report("      order-totals: \(grouped(count)) of \(grouped(total)) records")
    }

    var processed: Int {
        state.lock(); defer { state.unlock() }
        return latest
    }

    var reachedKillPoint: Bool { processed * 3 >= total }

    func finish() { reporter.finish() }
}
