import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline replay`: rewinds order-totals' committed offsets and resets its store, so a rerun
/// emits every update again and rebuilds the exact totals; refuses without confirmation and
/// while another process holds the data directory.
@Suite("pipeline replay", .serialized)
struct ReplayCommandTests {
    /// The store's contents via `state show`, by customer.
    private static func storeTotals(_ scratch: Scratch) throws -> [String: CustomerTotalRow] {
        let shown = try scratch.stateShow("order-totals", "customer-totals")
        try #require(shown.exitCode == 0, "\(shown)")
        var totals: [String: CustomerTotalRow] = [:]
        for line in shown.stdoutLines {
            let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
            try #require(fields.count == 2, "\(line)")
            totals[fields[0]] = try CustomerTotalRow.decodeAll([fields[1]]).first
        }
        return totals
    }

    @Test("replay --from earliest --yes, then a rerun: every update twice in total, exact final totals, the store equals them")
    func replayFromEarliest() throws {
        let data = try DeadLetteredData.make(goodCount: 300)
        let scratch = data.scratch
        let ledger = data.ledger
        let firstOutput = try scratch.envelopes("customer-totals")
        #expect(firstOutput.count == ledger.goodCount)

        let replay = try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"])
        expectSuccess(replay)
        #expect(replay.stdout.contains("replay order-totals from earliest (consumer group order-totals):"), "\(replay)")
        #expect(replay.stdout.contains("orders/0: committed "), "\(replay)")
        #expect(replay.stdout.contains("replayed order-totals: rewound 3 partitions of group order-totals, deleted 1 changelog topic"), "\(replay)")
        #expect(replay.stdout.contains("fenced 3 transactional ids"), "\(replay)")
        // The store is empty until the rerun: its changelog topic was deleted and created again, empty.
        let topics = try scratch.run(["topics", "list"])
        #expect(topics.stdout.contains("order-totals-customer-totals-changelog"), "\(topics)")
        let emptied = try scratch.stateShow("order-totals", "customer-totals")
        #expect(emptied.exitCode == 0 && emptied.stdoutLines.isEmpty, "\(emptied)")
        // The group's committed offsets are back at the start: a group consumer sees everything.
        let pending = try scratch.run(["consume", "orders", "--group", "order-totals", "--max", "100000"], timeout: 60)
        #expect(pending.stdoutLines.count == ledger.goodCount + ledger.poison.count, "\(pending.stdoutLines.count) records after the committed offsets")
        // That consume committed the group's offsets at the end again: replay once more.
        expectSuccess(try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"]))

        let rerun = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(rerun, pipeline: "order-totals")
        let summary = runSummary(rerun.stdout, pipeline: "order-totals")
        #expect(summary.map { $0.processed == ledger.goodCount + ledger.poison.count && $0.deadLettered == ledger.poison.count } == true, "\(rerun)")

        // Read-committed output: each run's updates in turn, each run's exact 1…N per customer.
        let output = try scratch.envelopes("customer-totals")
        #expect(output.count == 2 * ledger.goodCount, "\(output.count) updates for \(ledger.goodCount) good orders over two runs")
        let firstPositions = Set(firstOutput.map(\.position))
        let second = output.filter { !firstPositions.contains($0.position) }
        #expect(second.count == ledger.goodCount)
        let check = try customerTotalsProblems(second, ledger: ledger)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
        var exact = 0
        for (customer, row) in check.last where row == ledger.total(of: customer) { exact += 1 }
        #expect(exact == ledger.cents.count, "\(exact) of \(ledger.cents.count) customers end with their exact total")
        let store = try Self.storeTotals(scratch)
        #expect(store.count == ledger.cents.count)
        for customer in ledger.cents.keys { #expect(store[customer] == ledger.total(of: customer), "\(customer): store \(store[customer].map(String.init(describing:)) ?? "nil")") }
        // The poison was dead-lettered once per run.
        #expect(try scratch.envelopes("order-totals.dlq").count == 2 * ledger.poison.count)
    }

    @Test("replay --from OFFSET and --from TIMESTAMP rewind to where they say, with a warning that state is lost")
    func replayFromOffsetAndTime() throws {
        let data = try DeadLetteredData.make(goodCount: 30)
        let scratch = data.scratch
        let byOffset = try scratch.run(["replay", "order-totals", "--from", "2", "--yes"])
        #expect(byOffset.exitCode == 0, "\(byOffset)")
        #expect(byOffset.stderrErrorLines.count == 1 && byOffset.stderrErrorLines[0].hasPrefix("warning: "), "\(byOffset)")
        let orders = try scratch.envelopes("orders")
        for partition in 0..<3 {
            let end = orders.filter { $0.partition == partition }.count
            #expect(byOffset.stdout.contains("orders/\(partition): committed \(end) -> \(min(2, end))\n"), "\(byOffset)")
        }
        let rest = try scratch.run(["consume", "orders", "--group", "order-totals"])
        #expect(rest.stdoutLines.count == orders.filter { $0.offset >= 2 }.count, "\(rest)")

        // A time after every record rewinds nothing: refused (see replayThatRewindsNothingIsRefused).
        let future = try scratch.run(["replay", "order-totals", "--from", "2100-01-01T00:00:00Z", "--yes"])
        expectOneLineError(future, containing: ["would rewind no partition"])
        let afterFuture = try scratch.run(["consume", "orders", "--group", "order-totals"])
        #expect(afterFuture.stdoutLines.isEmpty, "\(afterFuture)")
        // Epoch milliseconds before every record: the start.
        let past = try scratch.run(["replay", "order-totals", "--from", "1000ms", "--yes"])
        #expect(past.exitCode == 0, "\(past)")
        let afterPast = try scratch.run(["consume", "orders", "--group", "order-totals"])
        #expect(afterPast.stdoutLines.count == orders.count, "\(afterPast)")
        expectUsageError(try scratch.run(["replay", "order-totals", "--from", "yesterday", "--yes"]), containing: ["--from"])
    }

    @Test("a replay that would rewind no partition (an offset past the end, a future time) is refused; the totals go on")
    func replayThatRewindsNothingIsRefused() throws {
        var data = try DeadLetteredData.make(goodCount: 30)
        let scratch = data.scratch
        for from in ["99999999999", "2100-01-01T00:00:00Z"] {
            let refused = try scratch.run(["replay", "order-totals", "--from", from, "--yes"])
            expectOneLineError(refused, containing: ["replay of order-totals", "would rewind no partition", "nothing changed"])
        }
        #expect(try scratch.run(["topics", "list"]).stdout.contains("order-totals-customer-totals-changelog"))
        // The next run goes on from the whole state: one more order adds to its customer's total.
        let customer = OrderLedger.customerID(3)
        try scratch.produceOrders([data.ledger.good(customer: customer, cents: 1_00)])
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60), pipeline: "order-totals")
        let last = try CustomerTotalRow.decodeAll(try scratch.values("customer-totals")).last { $0.customer_id == customer }
        #expect(last == data.ledger.total(of: customer), "\(customer): \(last.map(String.init(describing:)) ?? "nil"), expected \(data.ledger.total(of: customer).map(String.init(describing:)) ?? "nil")")
    }

    @Test("a replay that would empty the totals without rewinding a partition that built them is refused")
    func partialReplayIsRefused() throws {
        let data = try DeadLetteredData.make(goodCount: 30)
        let scratch = data.scratch
        Thread.sleep(forTimeInterval: 0.05)
        let middle = Int64(Date().timeIntervalSince1970 * 1000)
        Thread.sleep(forTimeInterval: 0.05)
        // New orders of one customer only: one partition has records after `middle`.
        var ledger = data.ledger
        try scratch.produceOrders([ledger.good(customer: OrderLedger.customerID(2), cents: 5_00)])
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60), pipeline: "order-totals")
        let refused = try scratch.run(["replay", "order-totals", "--from", "\(middle)ms", "--yes"])
        expectOneLineError(refused, containing: ["would reset its state stores without rewinding", "--from earliest", "nothing changed"])
        #expect(try scratch.run(["topics", "list"]).stdout.contains("order-totals-customer-totals-changelog"))
    }

    @Test("a replay cut short leaves a marker: run refuses until the replay is run again")
    func interruptedReplay() throws {
        let data = try DeadLetteredData.make(goodCount: 20)
        let scratch = data.scratch
        // What a replay killed after its first step leaves behind.
        let marker = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("state/order-totals/replay-in-progress")
        try FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("earliest".utf8).write(to: marker)
        let refused = try scratch.run(["run", "order-totals", "--until-idle"])
        expectOneLineError(refused, containing: ["replay", "interrupted", "order-totals"])
        expectSuccess(try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"]))
        #expect(!FileManager.default.fileExists(atPath: marker.path))
        let rerun = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectRunSuccess(rerun, pipeline: "order-totals")
        #expect(runSummary(rerun.stdout, pipeline: "order-totals")?.processed == data.ledger.goodCount + data.ledger.poison.count, "\(rerun)")
    }

    @Test("replay without --yes on a non-terminal stdin refuses and changes nothing")
    func refusesWithoutYes() throws {
        let data = try DeadLetteredData.make(goodCount: 20)
        let scratch = data.scratch
        let result = try scratch.run(["replay", "order-totals", "--from", "earliest"], input: "yes\n")
        expectOneLineError(result, containing: ["--yes"])
        // Nothing changed: the group is at the end, the changelog is there.
        let rest = try scratch.run(["consume", "orders", "--group", "order-totals"])
        #expect(rest.exitCode == 0 && rest.stdoutLines.isEmpty, "\(rest)")
        let topics = try scratch.run(["topics", "list"])
        #expect(topics.stdout.contains("order-totals-customer-totals-changelog"), "\(topics)")
    }

    @Test("replay refuses while another process holds the data directory, naming it")
    func refusesWhileRunning() throws {
        let data = try DeadLetteredData.make(goodCount: 20)
        let scratch = data.scratch
        let follower = try PipelineProcess(["run", "order-totals", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
        defer { follower.killAndWait() }
        let locked = PipelineProcess.waitUntil(timeout: 20) {
            (try? String(contentsOfFile: scratch.dataDir + "/.lock", encoding: .utf8))?.contains("pid \(follower.pid) ") == true
        }
        try #require(locked, "the running pipeline never took the lock")
        let result = try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"])
        expectOneLineError(result, containing: ["cannot replay order-totals", "in use", "pid \(follower.pid)", "run order-totals"])
        follower.kill(SIGINT)
        #expect(follower.wait().exitCode == 0)
        // Nothing changed.
        let rest = try scratch.run(["consume", "orders", "--group", "order-totals"])
        #expect(rest.exitCode == 0 && rest.stdoutLines.isEmpty, "\(rest)")
    }
}
