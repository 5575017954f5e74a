import ArgumentParser
import StreamCore
import LogStorage
import PipelineRuntime
import PipelineBench
import Foundation

/// `pipeline demo`: the main job, end to end, on the embedded default. Creates `orders`,
/// produces OrderCreated events with a few poison records among them, runs `order-totals`
/// exactly-once in a child process, SIGKILLs it midway and restarts it, then shows that every
/// customer's total is exact and each update is there once, and that the poison records are in
/// the DLQ with their context, that the audit trail reconciles with the log (`audit verify`) and
/// that the lag is zero. Each step names the command a user would type for it.
///
/// The child processes are this executable (`run order-totals`), so the demo runs the same code
/// path as a user's `pipeline run`; only one process holds the data directory at a time.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the main job: orders → order-totals exactly-once, SIGKILLed midway and restarted; check totals and the DLQ.")

    @Option(help: "How many good orders to produce.") var orders: Int = 100_000
    @Option(help: "How many poison records to produce among them.") var poison: Int = 12
    @Option(help: "How many distinct customers.") var customers: Int = 1_000
    @Option(help: "Partitions of the orders topic when it is created.") var partitions: Int = 4
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        guard orders > 0, customers > 0 else { throw CLIError("--orders and --customers must be positive") }
        guard poison >= 0 else { throw CLIError("--poison must not be negative") }
        guard (1...TopicConfig.partitionCountMax).contains(partitions) else {
            throw CLIError("--partitions must be between 1 and \(TopicConfig.partitionCountMax)")
        }
        let started = Date()
        var report = DemoReport()
        say("Sluice demo: the order-totals pipeline, exactly-once through a SIGKILL (data directory \(data.dataDirectory))")
        var generator = SeededRandom(seed: UInt64(Date().timeIntervalSince1970 * 1000))
        let runID = String(UInt32(truncatingIfNeeded: generator.next()), radix: 36)
        var demoOrders = DemoOrders(runID: runID, customers: customers, seed: generator.next())

        DemoReport.step(1, "produce \(grouped(orders)) orders with \(poison) poison records among them",
                        command: "pipeline produce orders --key-field customer_id")
        let produced = try produceOrders(&demoOrders)
        report.add("orders produced", "\(grouped(orders)) + \(poison) poison, \(String(format: "%.1f", produced)) s")

        DemoReport.step(2, "run order-totals exactly-once and SIGKILL it midway", command: "pipeline run order-totals   # then kill -9")
        let total = orders + poison
        let killedAt = try runAndKill(total: total)
        report.add("SIGKILL", killedAt.map { "after \(grouped($0)) of \(grouped(total)) records" } ?? "after it had caught up")

        DemoReport.step(3, "restart it: it resumes from its last commit", command: "pipeline run order-totals --until-idle")
        let restart = try DemoChild(["run", "order-totals", "--until-idle", "--data-dir", data.dataDirectory]).wait()
        guard restart.succeeded else {
            throw CLIError("the restarted order-totals failed:\n\(restart.stderr.suffix(10).joined(separator: "\n"))")
        }
        let summary = restart.stdout.split(separator: "\n").last.map(String.init) ?? ""
        say("      \(summary)")
        report.add("restart", summary.replacingOccurrences(of: "order-totals: ", with: ""))

        DemoReport.step(4, "check every customer's total and update sequence", command: "pipeline consume customer-totals")
        let verdict = try withLog(data, command: "demo") { log in try DemoChecks.totals(log: log, orders: demoOrders) }
        guard verdict.isExact else {
            throw CLIError("demo check failed: \(verdict.wrongTotals.count) wrong totals (first \(verdict.wrongTotals.first ?? "-")), "
                + "\(verdict.brokenSequences.count) customers with a duplicate or a gap (first \(verdict.brokenSequences.first ?? "-")), "
                + "\(verdict.missing.count) missing (first \(verdict.missing.first ?? "-"))")
        }
        say("      ok: \(grouped(verdict.customers)) customers, each total exact; \(grouped(verdict.updates)) updates, each once and in order")
        report.add("totals", "\(grouped(verdict.customers)) customers exact, \(grouped(verdict.updates)) updates (= good orders), none twice")

        DemoReport.step(5, "the poison records are in the dead-letter queue with their context", command: "pipeline dlq list order-totals")
        let letters = try withLog(data, command: "demo") { log in try DemoChecks.deadLetters(log: log, orders: demoOrders) }
        let deadLettered = letters.byType.values.reduce(0, +)
        guard deadLettered == poison else {
            throw CLIError("demo check failed: \(deadLettered) of this run's \(poison) poison records are in order-totals.dlq")
        }
        let byType = letters.byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        say("      ok: \(deadLettered) dead letters: \(byType)")
        if let example = letters.example {
            say("      for example, order-totals.dlq \(example.position):")
            for name in ["dlq.stage", "dlq.error.type", "dlq.error.message", "dlq.source.topic", "dlq.source.partition", "dlq.source.offset"] {
                if let text = example.header(name) { say("        \(name): \(text)") }
            }
        }
        report.add("dead letters", poison == 0 ? "none produced" : "\(deadLettered) of \(poison) (\(byType))")

        DemoReport.step(6, "reconcile the audit trail with the log: every input consumed by exactly one committed transaction",
                        command: "pipeline audit verify order-totals")
        let audit = try DemoChild(["audit", "verify", "order-totals", "--data-dir", data.dataDirectory]).wait()
        let auditLine = audit.stdout.split(separator: "\n").first.map(String.init) ?? ""
        guard audit.succeeded else {
            throw CLIError("demo check failed: \(auditLine.isEmpty ? audit.stderr.joined(separator: " ") : auditLine)")
        }
        say("      \(auditLine)")
        report.add("audit", "verified")

        DemoReport.step(7, "the pipeline's consumer lag", command: "pipeline lag order-totals")
        let lag = try DemoChild(["lag", "order-totals", "--format", "json", "--data-dir", data.dataDirectory]).wait()
        let rows = (try? JSONSerialization.jsonObject(with: Data(lag.stdout.utf8))) as? [[String: Any]] ?? []
        guard lag.succeeded, !rows.isEmpty else { throw CLIError("pipeline lag failed: \(lag.stderr.joined(separator: " "))") }
        let totalLag = rows.compactMap { $0["lag"] as? Int }.reduce(0, +)
        guard totalLag == 0 else { throw CLIError("demo check failed: order-totals still lags \(totalLag) records after --until-idle") }
        say("      ok: lag 0 on every partition of orders")
        report.add("lag", "0")

        report.add("time", String(format: "%.1f s in all", Date().timeIntervalSince(started)))
        say("")
        report.print()
        say("next: pipeline state show order-totals customer-totals --key \(demoOrders.expected.keys.sorted().first ?? "")   |   pipeline dlq list order-totals")
    }

    /// Creates `orders` when missing and produces this run's orders, a poison record spread
    /// evenly every so often. - Returns: the seconds it took.
    private func produceOrders(_ demoOrders: inout DemoOrders) throws -> TimeInterval {
        try withLog(data, command: "demo") { log in
            let topic = TopicName(rawValue: "orders")!
            if !log.hasTopic(topic) {
                var config = TopicConfig(partitionCount: partitions)
                config.compression = .lz4
                try log.createTopic(topic, config: config)
                say("      created topic orders (\(partitions) partitions, lz4)")
            }
            let started = Date()
            let producer = LogProducer(log: log)
            let poisonEvery = poison > 0 ? max(1, orders / poison) : Int.max
            var poisoned = 0
            for index in 0..<orders {
                let order = demoOrders.order(index)
                try producer.send(topic: topic, key: Array(order.key.utf8), value: Array(order.value.utf8))
                if index % poisonEvery == poisonEvery / 2, poisoned < poison {
                    let record = demoOrders.poison(poisoned).record
                    try producer.send(topic: topic, key: Array(record.key.utf8), value: Array(record.value.utf8))
                    poisoned += 1
                }
            }
            while poisoned < poison {
                let record = demoOrders.poison(poisoned).record
                try producer.send(topic: topic, key: Array(record.key.utf8), value: Array(record.value.utf8))
                poisoned += 1
            }
            try producer.close()
            let seconds = Date().timeIntervalSince(started)
            say("      produced \(grouped(orders + poison)) records in \(String(format: "%.2f", seconds)) s")
            return seconds
        }
    }

    /// Runs `order-totals` (following) in a child and SIGKILLs it once it has processed a third
    /// of `total` records. - Returns: the records it had processed by its last progress line
    /// (nil when it had caught up before the kill).
    private func runAndKill(total: Int) throws -> Int? {
        let progress = DemoProgress(total: total)
        let child = try DemoChild(["run", "order-totals", "--progress-interval", "100ms", "--data-dir", data.dataDirectory]) { line in
            progress.observe(line)
        }
        let deadline = Date().addingTimeInterval(300)
        while !progress.reachedKillPoint && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
            if !child.isRunning { break }
        }
        child.kill()
        let result = child.wait()
        progress.finish()
        guard result.killed else {
            throw CLIError("order-totals exited before the kill:\n\(result.stderr.suffix(10).joined(separator: "\n"))")
        }
        let seen = progress.processed
        say("      SIGKILLed after \(grouped(seen)) of \(grouped(total)) records (nothing flushed, nothing committed on the way out)")
        return seen < total ? seen : nil
    }
}
