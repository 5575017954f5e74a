import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// The whole repair loop of issue 5 as a user runs it: `order-totals` dead-letters orders with a
/// negative amount; the operator exports them (`dlq show --format json`), fixes the amounts and
/// redrives them back to `orders` with `--fixed`, SIGKILLed midway and rerun; the next run of the
/// pipeline applies each fixed order exactly once.
@Suite("pipeline dlq redrive --fixed under SIGKILL", .serialized)
struct FixedRedriveCrashTests {
    @Test("fixed dead letters redriven with kills and reruns are each applied exactly once", .timeLimit(.minutes(5)))
    func fixedRecordsAppliedOnce() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: UInt64(Date().timeIntervalSince1970))
        try scratch.produceOrders(ledger.goodOrders(10_000, customers: 0..<500, using: &random))
        // 3,000 orders whose amount was sent negative by mistake; the ledger counts their fixed
        // (positive) amounts, after each customer's good orders, as the pipeline will see them.
        var broken: [String] = []
        for index in 0..<12_000 {
            let line = ledger.good(customer: OrderLedger.customerID(index % 500), cents: Int64(100 + index))
            broken.append(line.replacingOccurrences(of: "\"amount\":", with: "\"amount\":-"))
        }
        try scratch.produceOrders(broken)
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 240), pipeline: "order-totals")
        #expect(try scratch.envelopes("order-totals.dlq").count == 12_000)

        // Export, fix, redrive with kills until one run completes.
        let exported = try scratch.run(["dlq", "show", "order-totals", "--format", "json"], timeout: 120)
        expectSuccess(exported)
        let fixed = exported.stdoutLines.map { $0.replacingOccurrences(of: "\\\"amount\\\":-", with: "\\\"amount\\\":") }
        #expect(fixed.count == 12_000 && fixed.allSatisfy { !$0.contains("\\\"amount\\\":-") })
        let fixedPath = try scratch.writeLines(fixed, name: "fixed.jsonl")
        let arguments = ["dlq", "redrive", "order-totals", "--fixed", fixedPath, "--data-dir", scratch.dataDir]
        // Kills come later and later (30 ms more each time, with some jitter): the first land
        // during start-up, later ones after some of the redrive's transactions committed, until a
        // run completes.
        var kills = 0, midway = 0, iterations = 0
        var completed = false
        while !completed && iterations < 80 {
            iterations += 1
            let delay = 30 * iterations + Int.random(in: 0...20, using: &random)
            let process = try PipelineProcess(arguments, in: scratch.root, timeout: 120)
            let killAt = Date().addingTimeInterval(Double(delay) / 1000)
            while process.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            let result = process.killAndWait()
            if result.signaled {
                kills += 1
                let markersExist = try scratch.run(["topics", "describe", "order-totals.dlq.redriven"]).exitCode == 0
                let markers = markersExist ? try scratch.envelopes("order-totals.dlq.redriven").count : 0
                if markers > 0 && markers < 12_000 { midway += 1 }
            } else {
                #expect(result.exitCode == 0, "iteration \(iterations): \(result.stderr)")
                // The rerun that completes finds the earlier runs' commits.
                completed = RedriveCounts(result.stdout).map { $0.redriven + $0.alreadyRedriven == 12_000 && $0.filteredOut == 0 } ?? false
                #expect(completed, "\(result)")
            }
        }
        print("[FixedRedriveCrashTests] \(iterations) redrive runs, \(kills) SIGKILLs, \(midway) after committing part of the fixes")
        #expect(completed)
        #expect(kills >= 3 && midway >= 1, "\(kills) kills, \(midway) after part of the redrive committed")

        // The fixed orders back in `orders`, each once, marked fixed; the pipeline applies them.
        let redriven = try scratch.envelopes("orders").filter { $0.header("dlq.redrive.fixed") == "true" }
        #expect(redriven.count == 12_000)
        #expect(Set(redriven.map { "\($0.header("dlq.redrive.partition") ?? "?"):\($0.header("dlq.redrive.offset") ?? "?")" }).count == 12_000)
        let rerun = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 240)
        expectRunSuccess(rerun, pipeline: "order-totals")
        #expect(runSummary(rerun.stdout, pipeline: "order-totals").map { $0.processed == 12_000 && $0.deadLettered == 0 } == true, "\(rerun)")
        let totals = try scratch.envelopes("customer-totals")
        let check = try customerTotalsProblems(totals, ledger: ledger)
        #expect(totals.count == ledger.goodCount)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
        for (customer, _) in ledger.cents { #expect(check.last[customer] == ledger.total(of: customer), "\(customer)") }
        #expect(try scratch.envelopes("order-totals.dlq").count == 12_000, "nothing new was dead-lettered")
    }
}
