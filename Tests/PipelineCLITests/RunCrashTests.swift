import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// Process-level exactly-once of a stateful pipeline: a real `pipeline run order-totals
/// --until-idle` SIGKILLed at random instants and restarted must leave, read-committed, every
/// customer's updates counting 1, 2, …, N exactly once with exact totals, every poison record
/// dead-lettered exactly once, and a store that agrees with the last update.
@Suite("order-totals under SIGKILL", .serialized)
struct RunCrashTests {
    private static let runArguments = ["run", "order-totals", "--until-idle"]
    private static let customers = 10_000

    /// The bytes of every file of `topic`'s partitions (0 before it exists).
    private static func bytes(under scratch: Scratch, topic: String) throws -> Int {
        let directory = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("topics/\(topic)")
        guard let files = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
        var total = 0
        for case let file as String in files where file.hasSuffix(".log") {
            total += (try? fileSize(directory.appendingPathComponent(file).path)) ?? 0
        }
        return total
    }

    @Test("order-totals SIGKILLed 20+ times ends with every update exactly once, exact totals and each poison record dead-lettered once",
          .timeLimit(.minutes(6)), arguments: ["memory", "rocksdb"])
    func killedManyTimes(backend: String) throws {
        // With RocksDB the store keeps its own state between runs (no checkpoint file), so a
        // kill between a commit and the store's write must be repaired from the changelog.
        let runArguments = Self.runArguments + ["--store-backend", "customer-totals=\(backend)"]
        let seed = crashTestSeed()
        print("[RunCrashTests] \(backend) store, seed \(seed) (rerun with SLUICE_CRASH_SEED=\(seed))")
        var random = SeededRandom(seed: seed)
        let started = Date()
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "8", "--compression", "lz4"])

        // 200,000 good orders over 10,000 customers in four files; after each, 250 poison records
        // (~1%) for a customer that has good orders and 250 for one that has none.
        var ledger = OrderLedger()
        var poisonOnly: [String] = []
        for chunk in 0..<4 {
            try scratch.produceOrders(ledger.goodOrders(50_000, customers: 0..<Self.customers, using: &random))
            let shared = OrderLedger.customerID(Int.random(in: 0..<Self.customers, using: &random))
            let alone = OrderLedger.customerID(Self.customers + chunk)
            poisonOnly.append(alone)
            for key in [shared, alone] {
                try scratch.producePoison(ledger.poisonOrders(250, key: key, using: &random), key: key)
            }
        }
        let produced = Date()
        print("[RunCrashTests] produced \(ledger.goodCount) orders and \(ledger.poison.count) poison records in \(String(format: "%.1f", produced.timeIntervalSince(started))) s")

        // A debug build processes ~18k orders/s, after ~0.3–1 s of start-up (opening the
        // directory, fencing eight transactional ids, restoring eight store partitions). Kills
        // come uniformly 300–2500 ms after the start, so most land after some 100 ms
        // transactions committed and some while one is open. If a run gets through the backlog
        // before its kill, 20k orders are topped up and the kills come earlier: uniform in 300 ms
        // to 90% of the time a run took to process such a top-up (measured). Only kills that
        // ended a running process count.
        var kills = 0, killsAfterOutput = 0, killsAfterProgress = 0, finishedEarly = 0, topUps = 0, iterations = 0
        var longestDelay = 2500
        var toppedUp = false
        while (iterations < 20 || kills < 20) && iterations < 80 {
            iterations += 1
            let delay = Int.random(in: 300...max(301, longestDelay), using: &random)
            let outputBefore = try Self.bytes(under: scratch, topic: "customer-totals")
            let runStarted = Date()
            let run = try PipelineProcess(runArguments + ["--data-dir", scratch.dataDir], in: scratch.root, timeout: 120)
            let killAt = runStarted.addingTimeInterval(Double(delay) / 1000)
            while run.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            let duration = Int(Date().timeIntervalSince(runStarted) * 1000)
            let result = run.killAndWait()
            if result.signaled {
                #expect(result.exitCode == 128 + SIGKILL, "run \(iterations) ended by an unexpected signal: \(result)")
                kills += 1
                if lastReportedRunRecords(result.stderr, pipeline: "order-totals") != nil { killsAfterProgress += 1 }
                // A 100 ms transaction reaches customer-totals as it commits (tens of KiB); growth
                // beyond what abort markers of a recovered transaction take (~100 bytes a
                // partition) means the run had committed output when it was killed.
                if try Self.bytes(under: scratch, topic: "customer-totals") > outputBefore + 2048 { killsAfterOutput += 1 }
                toppedUp = false
            } else {
                finishedEarly += 1
                #expect(result.exitCode == 0, "run \(iterations): order-totals failed instead of finishing: \(result)")
                #expect(runSummary(result.stdout, pipeline: "order-totals") != nil, "run \(iterations): \(result)")
                longestDelay = toppedUp ? min(2500, max(400, duration * 9 / 10)) : min(longestDelay, 1500)
                topUps += 1
                try scratch.produceOrders(ledger.goodOrders(20_000, customers: 0..<Self.customers, using: &random))
                toppedUp = true
            }
        }
        let killLoop = Date().timeIntervalSince(produced)
        print("[RunCrashTests] \(iterations) runs in \(String(format: "%.1f", killLoop)) s: \(kills) SIGKILLs landed (\(killsAfterOutput) after the run had committed output, \(killsAfterProgress) after it had processed for over a second), last delay range 300–\(longestDelay) ms, \(finishedEarly) runs finished first, \(topUps) top-ups, \(ledger.goodCount) good orders")
        #expect(kills >= 20, "only \(kills) of \(iterations) kills landed while order-totals was running")
        #expect(killsAfterOutput >= 5, "only \(killsAfterOutput) of \(kills) kills landed after the run had committed output")

        // Right after a kill (an open transaction aborted by whichever command opens the directory
        // first), read-committed updates are a prefix 1…k of every customer's orders, and
        // `state show` gives the last committed update.
        let midway = try scratch.envelopes("customer-totals")
        let partial = try customerTotalsProblems(midway, ledger: ledger, partial: true)
        #expect(partial.count == 0, "\(partial.count) problems in customer-totals after the kills, e.g.\n\(partial.described.joined(separator: "\n"))")
        if let customer = partial.last.keys.min() {
            let shown = try scratch.stateShow("order-totals", "customer-totals", key: customer)
            let fields = (shown.stdoutLines.first ?? "").split(separator: "\t", maxSplits: 1).map(String.init)
            let stored = try fields.count == 2 ? CustomerTotalRow.decodeAll([fields[1]]).first : nil
            #expect(shown.exitCode == 0 && stored == partial.last[customer], "after the kills, state show \(customer): \(shown); last committed update \(partial.last[customer].map(String.init(describing:)) ?? "none")")
        }

        // Restarted with the same arguments, it runs to completion.
        let final = try scratch.run(runArguments, timeout: 240)
        try #require(final.exitCode == 0, "the final run failed: \(final)")
        let summary = try #require(runSummary(final.stdout, pipeline: "order-totals"), "\(final)")
        let total = ledger.goodCount + ledger.poison.count
        print("[RunCrashTests] final run: \(final.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) — the killed runs committed \(total - summary.processed) of \(total) records")
        #expect(summary.lag == 0)
        #expect(summary.processed <= total)
        #expect(summary.processed < total, "the killed runs committed nothing")

        // Read-committed customer-totals: for every customer exactly 1…N, exact running totals.
        let committed = try scratch.envelopes("customer-totals")
        let check = try customerTotalsProblems(committed, ledger: ledger)
        print("[RunCrashTests] read-committed customer-totals: \(committed.count) updates for \(check.last.count) customers, \(check.count) problems")
        #expect(committed.count == ledger.goodCount, "customer-totals holds \(committed.count) committed updates for \(ledger.goodCount) good orders")
        #expect(check.count == 0, "\(check.count) problems in customer-totals, e.g.\n\(check.described.joined(separator: "\n"))")
        for customer in poisonOnly {
            #expect(check.last[customer] == nil, "\(customer) has only poison orders but an update")
        }
        var exactTotals = 0
        for (customer, row) in check.last where row == ledger.total(of: customer) { exactTotals += 1 }
        #expect(exactTotals == ledger.cents.count, "only \(exactTotals) of \(ledger.cents.count) customers end with their exact total")

        // Read-uncommitted also sees what the killed runs wrote and had aborted.
        let uncommitted = try scratch.values("customer-totals", ["--isolation", "read-uncommitted"])
        print("[RunCrashTests] read-uncommitted customer-totals: \(uncommitted.count) updates (\(uncommitted.count - committed.count) from aborted transactions)")
        #expect(uncommitted.count >= committed.count)

        // order-totals.dlq: exactly the poison records, each once, with the contract's headers;
        // the offsets are those of the poison records in `orders`.
        let orders = try scratch.envelopes("orders")
        #expect(orders.count == total)
        let poisonValues = Set(ledger.poison.map(\.value))
        var sources: [String: Envelope] = [:]
        for envelope in orders { if let value = envelope.value, poisonValues.contains(value) { sources[value] = envelope } }
        #expect(sources.count == ledger.poison.count, "found \(sources.count) of \(ledger.poison.count) poison records in orders")
        let deadLetters = try scratch.envelopes("order-totals.dlq")
        // The contract gives a missing customer_id dlq.stage `process`; checked apart below.
        let dlq = deadLetterProblems(deadLetters, ledger: ledger, sources: sources) { poison, stage in
            if poison.kind == .missingCustomer { return nil }
            return stage == poison.kind.expectedStage ? nil : "\(poison.kind) \(poison.value): dlq.stage \(stage ?? "nil"), expected \(poison.kind.expectedStage)"
        }
        var kinds: [PoisonKind: Int] = [:]
        for poison in ledger.poison { kinds[poison.kind, default: 0] += 1 }
        print("[RunCrashTests] order-totals.dlq: \(deadLetters.count) dead letters for \(ledger.poison.count) poison records (\(PoisonKind.allCases.map { "\($0.rawValue) \(kinds[$0] ?? 0)" }.joined(separator: ", "))), \(dlq.count) problems")
        #expect(deadLetters.count == ledger.poison.count)
        #expect(dlq.count == 0, "\(dlq.count) problems in order-totals.dlq, e.g.\n\(dlq.described.joined(separator: "\n"))")
        let missingCustomerValues = Set(ledger.poison.filter { $0.kind == .missingCustomer }.map(\.value))
        let missingCustomerStages = Set(deadLetters.compactMap { envelope -> String? in
            guard let value = envelope.value, missingCustomerValues.contains(value) else { return nil }
            return envelope.headers.first { $0.key == "dlq.stage" }?.value ?? "nil"
        })
        #expect(missingCustomerStages == ["process"], "missing customer_id dead-lettered with dlq.stage \(missingCustomerStages.sorted())")

        // `state show` agrees with the last committed update, for a few customers.
        var sampled = Array(check.last.keys.sorted().prefix(2))
        sampled += Set(ledger.poison.map(\.key)).subtracting(poisonOnly).sorted()
        sampled.append(OrderLedger.customerID(Int.random(in: 0..<Self.customers, using: &random)))
        for customer in Set(sampled).sorted() {
            let shown = try scratch.stateShow("order-totals", "customer-totals", key: customer)
            #expect(shown.exitCode == 0, "\(shown)")
            let lines = shown.stdoutLines
            #expect(lines.count == 1, "\(shown)")
            let fields = (lines.first ?? "").split(separator: "\t", maxSplits: 1).map(String.init)
            #expect(fields.first == customer, "\(shown)")
            let stored = try fields.count == 2 ? CustomerTotalRow.decodeAll([fields[1]]).first : nil
            #expect(stored != nil && stored == check.last[customer], "state show \(customer): \(lines), last committed update \(check.last[customer].map(String.init(describing:)) ?? "none")")
            #expect(stored == ledger.total(of: customer))
        }

        // The group's committed offsets are at the end of orders.
        let rest = try scratch.run(["consume", "orders", "--group", "order-totals"], timeout: 120)
        #expect(rest.exitCode == 0, "\(rest)")
        #expect(rest.stdoutLines.isEmpty, "the group's committed offsets are not at the end: \(rest.stdoutLines.count) records left")

        // Nothing is left open by the eight workers.
        let rows = try scratch.transactionRows()
        for partition in 0..<8 {
            let row = rows.first { $0.transactionalID == "order-totals-\(partition)" }
            #expect(row != nil, "no transactional id order-totals-\(partition): \(rows)")
            if let row {
                #expect(["Empty", "CompleteCommit", "CompleteAbort"].contains(row.state), "\(row)")
                #expect(row.participants == "-", "\(row)")
            }
        }
        print("[RunCrashTests] done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
