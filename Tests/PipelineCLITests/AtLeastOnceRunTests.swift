import Foundation
import Testing
import StreamCore

/// `pipeline run --guarantee at-least-once`: no transactions, and without a crash exactly the
/// totals exactly-once gives (nothing lost, nothing repeated); exactly-once stays the default.
@Suite("pipeline run at-least-once", .serialized)
struct AtLeastOnceRunTests {
    @Test("order-totals at-least-once: exact totals over several runs, written without transactions")
    func orderTotalsAtLeastOnce() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "3", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 5)
        try scratch.produceOrders(ledger.goodOrders(500, customers: 0..<30, using: &random))
        try scratch.producePoison(ledger.poisonOrders(4, key: OrderLedger.customerID(1), using: &random), key: OrderLedger.customerID(1))
        let first = try scratch.run(["run", "order-totals", "--until-idle", "--guarantee", "at-least-once", "--commit-interval", "10ms"], timeout: 90)
        expectRunSuccess(first, pipeline: "order-totals")
        #expect(runSummary(first.stdout, pipeline: "order-totals").map { $0.processed == 504 && $0.deadLettered == 4 && $0.lag == 0 } == true, "\(first)")

        // A second run resumes from the committed offsets; later orders continue the totals.
        try scratch.produceOrders(ledger.goodOrders(200, customers: 20..<40, using: &random))
        let second = try scratch.run(["run", "order-totals", "--until-idle", "--guarantee", "at-least-once"], timeout: 90)
        expectRunSuccess(second, pipeline: "order-totals")
        #expect(runSummary(second.stdout, pipeline: "order-totals")?.processed == 200, "\(second)")

        let committed = try scratch.envelopes("customer-totals")
        let check = try customerTotalsProblems(committed, ledger: ledger)
        #expect(committed.count == ledger.goodCount)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
        for customer in ledger.cents.keys { #expect(check.last[customer] == ledger.total(of: customer), "\(customer)") }
        #expect(try scratch.envelopes("order-totals.dlq").count == 4)

        // No transactional batch in the output, and no transactional id was ever used for output.
        let dump = try scratch.runBare(["log", "dump", scratch.segmentPath("customer-totals", partition: 0)])
        let batches = DumpOutput(dump.stdout).batchLines
        #expect(!batches.isEmpty, "\(dump)")
        #expect(batches.allSatisfy { DumpOutput.field("isTransactional", in: $0) == "false" }, "\(dump.stdout)")
        #expect(try scratch.stateShow("order-totals", "customer-totals", key: OrderLedger.customerID(25)).stdoutLines.count == 1)
    }

    @Test("order-totals at-least-once SIGKILLed several times loses nothing: every customer's updates 1…n are there",
          .timeLimit(.minutes(4)))
    func killedAtLeastOnce() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 17)
        try scratch.produceOrders(ledger.goodOrders(60_000, customers: 0..<500, using: &random))
        let arguments = ["run", "order-totals", "--guarantee", "at-least-once", "--commit-interval", "20ms", "--data-dir", scratch.dataDir]
        var kills = 0
        for _ in 0..<8 {
            let run = try PipelineProcess(arguments, in: scratch.root, timeout: 120)
            let killAt = Date().addingTimeInterval(Double(Int.random(in: 300...1500, using: &random)) / 1000)
            while run.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            if run.killAndWait().signaled { kills += 1 }
        }
        let last = try scratch.run(["run", "order-totals", "--until-idle", "--guarantee", "at-least-once"], timeout: 120)
        expectRunSuccess(last, pipeline: "order-totals")
        #expect(kills >= 4, "only \(kills) kills landed")

        // Every order's update is there at least once; a replay may repeat some and count them
        // again, so totals may be larger than the ledger's but never smaller.
        let rows = try CustomerTotalRow.decodeAll(try scratch.envelopes("customer-totals").map { $0.value ?? "null" })
        var counts: [String: Set<Int64>] = [:]
        var largest: [String: CustomerTotalRow] = [:]
        for row in rows {
            counts[row.customer_id, default: []].insert(row.orders)
            if (largest[row.customer_id]?.orders ?? 0) < row.orders { largest[row.customer_id] = row }
        }
        var missing = 0
        for (customer, amounts) in ledger.cents {
            let seen = counts[customer] ?? []
            if !(1...Int64(amounts.count)).allSatisfy(seen.contains) { missing += 1 }
            #expect((largest[customer]?.total_cents ?? 0) >= amounts.reduce(0, +), "\(customer) lost an order")
        }
        #expect(missing == 0, "\(missing) customers miss some of their updates 1…n")
    }

    @Test("without --guarantee, run stays exactly-once: its output batches are transactional")
    func exactlyOnceIsTheDefault() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 9)
        try scratch.produceOrders(ledger.goodOrders(50, customers: 0..<5, using: &random))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 90), pipeline: "order-totals")
        let dump = try scratch.runBare(["log", "dump", scratch.segmentPath("customer-totals", partition: 0)])
        let batches = DumpOutput(dump.stdout).batchLines
        #expect(!batches.isEmpty && batches.allSatisfy { DumpOutput.field("isTransactional", in: $0) == "true" }, "\(dump.stdout)")
    }

    @Test("run rejects a bad --guarantee or --commit-interval with one line")
    func badFlags() throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["run", "order-totals", "--guarantee", "twice"]), containing: ["guarantee"])
        expectOneLineError(try scratch.run(["run", "order-totals", "--commit-interval", "0ms"]), containing: ["commit interval"])
    }

    @Test("serve --run order-totals --guarantee at-least-once writes its output without transactions; bad values are refused")
    func servedAtLeastOnce() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 11)
        try scratch.produceOrders(ledger.goodOrders(50, customers: 0..<5, using: &random))
        let serve = try PipelineProcess(
            ["serve", "--listen", "127.0.0.1:0", "--run", "order-totals", "--guarantee", "at-least-once", "--commit-interval", "20ms",
             "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
        defer { serve.killAndWait() }
        let ran = PipelineProcess.waitUntil(timeout: 30) { serve.stderrSoFar.contains("pipeline 'order-totals' running") }
        try #require(ran, "the pipeline never ran: \(serve.stdoutSoFar) \(serve.stderrSoFar)")
        Thread.sleep(forTimeInterval: 2)
        serve.kill(SIGTERM)
        let stopped = PipelineProcess.waitUntil(timeout: 30) { !serve.isRunning }
        try #require(stopped, "serve did not stop on SIGTERM: \(serve.stderrSoFar)")
        #expect(serve.stderrSoFar.contains("50 records processed"), "\(serve.stderrSoFar)")
        let dump = try scratch.runBare(["log", "dump", scratch.segmentPath("customer-totals", partition: 0)])
        let batches = DumpOutput(dump.stdout).batchLines
        #expect(!batches.isEmpty && batches.allSatisfy { DumpOutput.field("isTransactional", in: $0) == "false" }, "\(dump.stdout)")

        expectOneLineError(try scratch.run(["serve", "--run", "order-totals", "--guarantee", "twice"]), containing: ["guarantee", "twice"])
        expectOneLineError(try scratch.run(["serve", "--run", "order-totals", "--commit-interval", "0ms"]), containing: ["commit interval"])
    }
}
