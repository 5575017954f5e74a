import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline list`, `pipeline run NAME [--until-idle]` (with SIGINT) and `pipeline state show`
/// over the shipped pipelines `order-totals` and `payment-service`, run as real processes.
@Suite("pipeline run", .serialized)
struct RunCommandTests {
    /// A `payments` value.
    private struct Payment: Decodable {
        var event_type: String
        var order_id: String
        var customer_id: String
        var amount: Decimal
        var reason: String
    }

    /// A small ledger: `count` random orders over `customers` customers, plus edge amounts.
    private static func smallOrders(_ ledger: inout OrderLedger, count: Int, customers: Range<Int>, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        var lines = ledger.goodOrders(count, customers: customers, using: &random)
        for cents: Int64 in [1, 10, 29, 99_999, 100_000, 100_001, 0, 7] {
            lines.append(ledger.good(customer: OrderLedger.customerID(customers.lowerBound), cents: cents))
        }
        return lines
    }

    /// Waits until a following `run` reports (on stderr, about once a second) that it has
    /// processed `records` records and has no lag.
    private static func waitForProgress(_ run: PipelineProcess, pipeline: String, records: Int, timeout: TimeInterval = 60) -> Bool {
        PipelineProcess.waitUntil(timeout: timeout) {
            guard run.isRunning else { return true }
            let stderr = run.stderrSoFar
            return stderr.split(separator: "\n").contains { $0.hasPrefix("\(pipeline): \(records) records,") && $0.contains(", lag 0,") }
        }
    }

    @Test("list shows both pipelines, a line each")
    func list() throws {
        let scratch = try Scratch()
        let result = try scratch.runBare(["list"])
        expectSuccess(result)
        // A line per pipeline of the catalog (which may hold more than the two shipped ones).
        let lines = result.stdoutLines
        let firstWords = lines.map { String($0.split(separator: " ").first ?? "") }
        #expect(Set(firstWords).count == lines.count, "a pipeline on two lines: \(lines)")
        for name in ["order-totals", "payment-service"] {
            let matching = lines.filter { $0.split(separator: " ").first.map(String.init) == name }
            #expect(matching.count == 1, "no single line for \(name): \(lines)")
            #expect(matching.first.map { $0.count > name.count + 2 } ?? false, "\(name) has no summary: \(lines)")
        }
    }

    @Test("run of an unknown pipeline: a one-line error naming the known ones")
    func unknownPipeline() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["run", "no-such-pipeline", "--until-idle"])
        expectOneLineError(result, containing: ["no-such-pipeline", "order-totals", "payment-service"])
        #expect(result.stdout.isEmpty, "\(result)")
    }

    @Test("run without an orders topic: a one-line error", arguments: ["order-totals", "payment-service"])
    func missingInput(_ pipeline: String) throws {
        let scratch = try Scratch()
        let result = try scratch.run(["run", pipeline, "--until-idle"])
        expectOneLineError(result, containing: ["orders"])
        // Nothing half-made: no output topic appeared.
        let topics = try scratch.run(["topics", "list"])
        #expect(topics.exitCode == 0, "\(topics)")
        #expect(!topics.stdout.contains("customer-totals") && !topics.stdout.contains("payments"), "\(topics)")
    }

    @Test("order-totals --until-idle: exact totals; a second run processes and emits nothing; later orders continue the totals")
    func orderTotalsRuns() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "3", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 7)
        try scratch.produceOrders(Self.smallOrders(&ledger, count: 400, customers: 0..<25, seed: 11))
        try scratch.producePoison(ledger.poisonOrders(8, key: OrderLedger.customerID(3), using: &random), key: OrderLedger.customerID(3))
        try scratch.producePoison(ledger.poisonOrders(4, key: "CUST-99999", using: &random), key: "CUST-99999")

        // The output topics and the dead-letter topic do not exist before the first run.
        let before = try scratch.run(["topics", "list"])
        #expect(!before.stdout.contains("customer-totals") && !before.stdout.contains("order-totals.dlq"), "\(before)")

        let first = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectRunSuccess(first, pipeline: "order-totals")
        let summary = runSummary(first.stdout, pipeline: "order-totals")
        #expect(summary?.processed == ledger.goodCount + ledger.poison.count, "\(first)")
        #expect(summary?.deadLettered == ledger.poison.count, "\(first)")
        #expect(summary?.lag == 0, "\(first)")

        let topics = try scratch.run(["topics", "list"])
        let names = topics.stdoutLines.map { String($0.split(separator: "\t").first ?? "") }
        #expect(names.contains("customer-totals") && names.contains("order-totals.dlq"), "\(topics)")

        var committed = try scratch.envelopes("customer-totals")
        var check = try customerTotalsProblems(committed, ledger: ledger)
        #expect(committed.count == ledger.goodCount)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
        #expect(check.last["CUST-99999"] == nil)
        for customer in ledger.cents.keys { #expect(check.last[customer] == ledger.total(of: customer), "\(customer)") }

        var sources: [String: Envelope] = [:]
        for envelope in try scratch.envelopes("orders") { if let value = envelope.value { sources[value] = envelope } }
        let deadLetters = try scratch.envelopes("order-totals.dlq")
        let dlq = deadLetterProblems(deadLetters, ledger: ledger, sources: sources) { poison, stage in
            if poison.kind == .missingCustomer { return nil }  // see deadLetterStageOfMissingCustomer
            return stage == poison.kind.expectedStage ? nil : "\(poison.kind): dlq.stage \(stage ?? "nil")"
        }
        #expect(deadLetters.count == ledger.poison.count)
        #expect(dlq.count == 0, "\(dlq.described.joined(separator: "\n"))")

        // A second run finds nothing new and emits nothing, committed or not.
        let uncommittedBefore = try scratch.values("customer-totals", ["--isolation", "read-uncommitted"]).count
        let second = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectRunSuccess(second, pipeline: "order-totals")
        #expect(runSummary(second.stdout, pipeline: "order-totals").map { $0.processed == 0 && $0.deadLettered == 0 } == true, "\(second)")
        #expect(try scratch.values("customer-totals", ["--isolation", "read-uncommitted"]).count == uncommittedBefore)
        #expect(try scratch.values("order-totals.dlq", ["--isolation", "read-uncommitted"]).count == ledger.poison.count)

        // Orders produced later (old and new customers) are folded into the committed totals.
        let later = ledger.goodOrders(150, customers: 20..<40, using: &random)
        try scratch.produceOrders(later)
        try scratch.producePoison(ledger.poisonOrders(4, key: OrderLedger.customerID(30), using: &random), key: OrderLedger.customerID(30))
        let third = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectRunSuccess(third, pipeline: "order-totals")
        #expect(runSummary(third.stdout, pipeline: "order-totals").map { $0.processed == 154 && $0.deadLettered == 4 } == true, "\(third)")
        committed = try scratch.envelopes("customer-totals")
        check = try customerTotalsProblems(committed, ledger: ledger)
        #expect(committed.count == ledger.goodCount)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
        #expect(try scratch.envelopes("order-totals.dlq").count == ledger.poison.count)

        // `state show` holds every customer's last committed update, `--key` one of them.
        let shown = try scratch.stateShow("order-totals", "customer-totals")
        expectSuccess(shown)
        var stored: [String: CustomerTotalRow] = [:]
        for line in shown.stdoutLines {
            let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
            try #require(fields.count == 2, "not key<TAB>value: \(line)")
            stored[fields[0]] = try CustomerTotalRow.decodeAll([fields[1]]).first
        }
        #expect(stored == check.last, "state show differs from the last committed updates")
        let one = try scratch.stateShow("order-totals", "customer-totals", key: OrderLedger.customerID(21))
        expectSuccess(one)
        #expect(one.stdoutLines.count == 1)
        let fields = (one.stdoutLines.first ?? "").split(separator: "\t", maxSplits: 1).map(String.init)
        #expect(fields.first == OrderLedger.customerID(21))
        #expect(try fields.count == 2 && CustomerTotalRow.decodeAll([fields[1]]).first == ledger.total(of: OrderLedger.customerID(21)), "\(one)")
    }

    @Test("payment-service --until-idle: PaymentAuthorized up to 1000.00, PaymentRejected above, keyed by order id; group offsets committed")
    func paymentService() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        let amounts = ["1000.00", "1000.01", "0.00", "12.50", "999.99", "5000.00", "0.01", "1000.10"]
        var lines: [String] = []
        var expected: [String: (customer: String, amount: Decimal, authorized: Bool)] = [:]
        for (index, amount) in amounts.enumerated() {
            let orderID = "ORD-P\(index)", customer = OrderLedger.customerID(index % 3)
            lines.append(OrderLedger.orderLine(orderID: orderID, customer: customer, amount: amount))
            let value = try #require(Decimal(string: amount))
            expected[orderID] = (customer, value, value <= 1000)
        }
        try scratch.produceOrders(lines)
        var ledger = OrderLedger()
        try scratch.producePoison([ledger.poison(.malformedJSON, key: "CUST-00001"), ledger.poison(.negativeAmount, key: "CUST-00001", variant: 5)], key: "CUST-00001")

        let run = try scratch.run(["run", "payment-service", "--until-idle"], timeout: 60)
        expectRunSuccess(run, pipeline: "payment-service")
        #expect(runSummary(run.stdout, pipeline: "payment-service").map { $0.processed == amounts.count + 2 && $0.deadLettered == 2 } == true, "\(run)")
        let names = try scratch.run(["topics", "list"]).stdoutLines.map { String($0.split(separator: "\t").first ?? "") }
        #expect(names.contains("payments") && names.contains("payment-service.dlq"), "\(names)")

        let payments = try scratch.envelopes("payments")
        #expect(payments.count == amounts.count, "\(payments.map(\.value))")
        var decided: Set<String> = []
        for envelope in payments {
            let payment = try JSONDecoder().decode(Payment.self, from: Data((envelope.value ?? "").utf8))
            let want = try #require(expected[payment.order_id], "unexpected payment \(envelope.value ?? "")")
            decided.insert(payment.order_id)
            #expect(envelope.key == payment.order_id, "payment not keyed by order id: \(envelope.key ?? "nil")")
            #expect(payment.event_type == (want.authorized ? "PaymentAuthorized" : "PaymentRejected"), "\(envelope.value ?? "")")
            #expect(payment.customer_id == want.customer, "\(envelope.value ?? "")")
            #expect(payment.amount == want.amount, "\(envelope.value ?? "")")
            #expect(!payment.reason.isEmpty, "\(envelope.value ?? "")")
        }
        #expect(decided == Set(expected.keys))
        let byOrder = Dictionary(payments.map { ($0.key ?? "", $0.value ?? "") }, uniquingKeysWith: { $1 })
        #expect(byOrder["ORD-P0"]?.contains("\"PaymentAuthorized\"") == true, "1000.00: \(byOrder["ORD-P0"] ?? "none")")
        #expect(byOrder["ORD-P1"]?.contains("\"PaymentRejected\"") == true, "1000.01: \(byOrder["ORD-P1"] ?? "none")")
        #expect(try scratch.envelopes("payment-service.dlq").count == 2)

        // The group `payment-service` is at the end of orders; a second run does nothing.
        let rest = try scratch.run(["consume", "orders", "--group", "payment-service"])
        #expect(rest.exitCode == 0, "\(rest)")
        #expect(rest.stdoutLines.isEmpty, "group payment-service has not committed its offsets: \(rest.stdoutLines)")
        let again = try scratch.run(["run", "payment-service", "--until-idle"], timeout: 60)
        expectRunSuccess(again, pipeline: "payment-service")
        #expect(runSummary(again.stdout, pipeline: "payment-service")?.processed == 0, "\(again)")
        #expect(try scratch.values("payments", ["--isolation", "read-uncommitted"]).count == amounts.count)
    }

    @Test("SIGINT on a following run exits 0 after committing; the next run continues from there")
    func interruptIdle() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 23)
        try scratch.produceOrders(Self.smallOrders(&ledger, count: 300, customers: 0..<30, seed: 29))
        try scratch.producePoison(ledger.poisonOrders(4, key: OrderLedger.customerID(2), using: &random), key: OrderLedger.customerID(2))

        for round in 1...2 {
            let total = ledger.goodCount + ledger.poison.count
            let run = try PipelineProcess(["run", "order-totals", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 90)
            let caughtUp = Self.waitForProgress(run, pipeline: "order-totals", records: round == 1 ? total : 154)
            #expect(run.isRunning, "a following run exited by itself: \(run.wait())")
            #expect(caughtUp, "round \(round): no progress line reporting every record: \(run.stderrSoFar)")
            run.kill(SIGINT)
            let result = run.wait()
            #expect(result.exitCode == 0 && !result.signaled, "round \(round): SIGINT did not end the run cleanly: \(result)")
            #expect(runSummary(result.stdout, pipeline: "order-totals")?.lag == 0, "\(result)")
            let committed = try scratch.envelopes("customer-totals")
            let check = try customerTotalsProblems(committed, ledger: ledger)
            #expect(committed.count == ledger.goodCount, "round \(round)")
            #expect(check.count == 0, "round \(round): \(check.described.joined(separator: "\n"))")
            #expect(try scratch.envelopes("order-totals.dlq").count == ledger.poison.count, "round \(round)")
            if round == 1 {
                try scratch.produceOrders(ledger.goodOrders(150, customers: 10..<50, using: &random))
                try scratch.producePoison(ledger.poisonOrders(4, key: OrderLedger.customerID(40), using: &random), key: OrderLedger.customerID(40))
            }
        }
    }

    @Test("SIGINT mid-backlog commits exactly what the run processed; the next run resumes there", .timeLimit(.minutes(3)))
    func interruptMidBacklog() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 31)
        try scratch.produceOrders(ledger.goodOrders(60_000, customers: 0..<500, using: &random))
        let total = ledger.goodCount

        let run = try PipelineProcess(["run", "order-totals", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 120)
        // The first progress line comes after a second of processing, well before 60k orders are done.
        let reported = PipelineProcess.waitUntil(timeout: 60) {
            !run.isRunning || lastReportedRunRecords(run.stderrSoFar, pipeline: "order-totals") != nil
        }
        #expect(reported, "no progress line: \(run.stderrSoFar)")
        run.kill(SIGINT)
        let result = run.wait()
        try #require(result.exitCode == 0 && !result.signaled, "SIGINT did not end the run cleanly: \(result)")
        let summary = try #require(runSummary(result.stdout, pipeline: "order-totals"), "\(result)")
        print("[RunCommandTests] SIGINT after \(summary.processed) of \(total) orders (lag \(summary.lag))")
        #expect(summary.processed > 0)
        #expect(summary.processed + Int(summary.lag) == total, "processed \(summary.processed) + lag \(summary.lag) ≠ \(total)")

        // Read-committed holds exactly what it processed: a prefix 1…k of every customer's updates.
        let committed = try scratch.envelopes("customer-totals")
        let partial = try customerTotalsProblems(committed, ledger: ledger, partial: true)
        #expect(committed.count == summary.processed, "\(committed.count) committed updates after processing \(summary.processed) orders")
        #expect(partial.count == 0, "\(partial.described.joined(separator: "\n"))")

        let rest = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(rest, pipeline: "order-totals")
        #expect(runSummary(rest.stdout, pipeline: "order-totals")?.processed == total - summary.processed, "\(rest)")
        let all = try scratch.envelopes("customer-totals")
        let check = try customerTotalsProblems(all, ledger: ledger)
        #expect(all.count == total)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
    }

    @Test("SIGINT during start-up (directory opening, fencing, store restore) still exits 0 and loses nothing",
          .timeLimit(.minutes(3)))
    func interruptDuringStartUp() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 41)
        try scratch.produceOrders(ledger.goodOrders(50_000, customers: 0..<20_000, using: &random))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")

        // A run's executable is up in ~15 ms; opening the directory and restoring 20k keys
        // take ~100 ms more. Ctrl-C anywhere in there must still end it cleanly.
        var outcomes: [String] = []
        for delay in [50, 70, 90, 110, 140] {
            let run = try PipelineProcess(["run", "order-totals", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
            Thread.sleep(forTimeInterval: Double(delay) / 1000)
            run.kill(SIGINT)
            let ended = PipelineProcess.waitUntil(timeout: 8) { !run.isRunning }
            let result = ended ? run.wait() : run.killAndWait()
            outcomes.append("\(delay) ms: \(ended ? (result.signaled ? "signal \(result.exitCode - 128)" : "exit \(result.exitCode)") : "SIGINT lost, still running")")
            #expect(ended, "SIGINT \(delay) ms after the start was lost: the run kept going")
            #expect(ended && result.exitCode == 0 && !result.signaled, "SIGINT \(delay) ms after the start: \(result)")
        }
        print("[RunCommandTests] SIGINT during start-up: \(outcomes.joined(separator: ", "))")

        let after = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(after, pipeline: "order-totals")
        #expect(runSummary(after.stdout, pipeline: "order-totals")?.processed == 0, "\(after)")
        let check = try customerTotalsProblems(try scratch.envelopes("customer-totals"), ledger: ledger)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
    }

    @Test("state show: a one-line error for an unknown store, before and after a run")
    func stateShowUnknownStore() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders")
        var ledger = OrderLedger()
        let never = try scratch.stateShow("order-totals", "customer-totals")
        expectOneLineError(never, containing: ["customer-totals"])
        try scratch.produceOrders([ledger.good(customer: "CUST-00001", cents: 1250)])
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"]), pipeline: "order-totals")
        let unknown = try scratch.stateShow("order-totals", "no-such-store")
        expectOneLineError(unknown, containing: ["no-such-store"])
        #expect(unknown.stdout.isEmpty, "\(unknown)")
        let known = try scratch.stateShow("order-totals", "customer-totals")
        expectSuccess(known)
        #expect(known.stdoutLines == ["CUST-00001\t{\"customer_id\":\"CUST-00001\",\"orders\":1,\"total_cents\":1250}"], "\(known)")
    }

    @Test("an order without customer_id is dead-lettered at stage process")
    func deadLetterStageOfMissingCustomer() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders")
        var ledger = OrderLedger()
        try scratch.producePoison([ledger.poison(.missingCustomer, key: "CUST-00001")], key: "CUST-00001")
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"]), pipeline: "order-totals")
        let deadLetters = try scratch.envelopes("order-totals.dlq")
        #expect(deadLetters.count == 1)
        let stage = deadLetters.first?.headers.first { $0.key == "dlq.stage" }?.value
        #expect(stage == "process", "dlq.stage \(stage ?? "nil"): \(deadLetters.first.map { "\($0.headers)" } ?? "")")
        #expect(try scratch.values("customer-totals").isEmpty)
    }
}
