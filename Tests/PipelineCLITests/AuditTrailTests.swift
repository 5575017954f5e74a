import Foundation
import Testing
import StreamCore
import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// The audit trail from outside: `pipeline audit verify` proves exactly-once on a data directory
/// after SIGKILLs and names the discrepancy when the log was tampered with (through the engine's
/// own APIs), and `pipeline audit trace` finds the transaction that consumed an order and the
/// `customer-totals` update it produced.
@Suite("audit trail", .serialized)
struct AuditTrailTests {
    /// A small order-totals run to completion: 2 partitions, `count` orders over 20 customers
    /// and a few poison records.
    private static func ranOrderTotals(_ count: Int = 600, extraRunArguments: [String] = []) throws -> (Scratch, OrderLedger) {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 13)
        try scratch.produceOrders(ledger.goodOrders(count, customers: 0..<20, using: &random))
        try scratch.producePoison(ledger.poisonOrders(5, key: OrderLedger.customerID(3), using: &random), key: OrderLedger.customerID(3))
        let run = try scratch.run(["run", "order-totals", "--until-idle", "--commit-interval", "5ms"] + extraRunArguments, timeout: 120)
        expectRunSuccess(run, pipeline: "order-totals")
        return (scratch, ledger)
    }

    /// `audit verify order-totals` on `scratch`'s data directory.
    private static func verify(_ scratch: Scratch) throws -> ProcessResult {
        try scratch.run(["audit", "verify", "order-totals"], timeout: 120)
    }

    /// Opens the data directory through the engine (no `pipeline` process holds it).
    private static func withLog<T>(_ scratch: Scratch, _ body: (LogManager) throws -> T) throws -> T {
        let log = try LogManager.open(directory: scratch.dataDir)
        defer { log.close() }
        return try body(log)
    }

    /// The bytes of `topic`'s `.txnindex` files: an entry (38 bytes) per aborted transaction that
    /// had records in a partition, written when its abort marker is. Read from the files, so a
    /// killed run's data directory is left as the next run finds it.
    private static func abortIndexBytes(_ scratch: Scratch, topic: String) -> Int {
        let directory = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("topics/\(topic)")
        guard let files = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
        var total = 0
        for case let file as String in files where file.hasSuffix(".txnindex") {
            total += (try? fileSize(directory.appendingPathComponent(file).path)) ?? 0
        }
        return total
    }

    @Test("order-totals SIGKILLed 10+ times: audit verify passes and the totals are exact", .timeLimit(.minutes(6)))
    func killedThenVerified() throws {
        let seed = crashTestSeed()
        print("[AuditTrailTests] seed \(seed) (rerun with SLUICE_CRASH_SEED=\(seed))")
        var random = SeededRandom(seed: seed)
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var ledger = OrderLedger()
        try scratch.produceOrders(ledger.goodOrders(60_000, customers: 0..<2000, using: &random))
        try scratch.producePoison(ledger.poisonOrders(100, key: OrderLedger.customerID(7), using: &random), key: OrderLedger.customerID(7))
        let arguments = ["run", "order-totals", "--until-idle", "--commit-interval", "20ms", "--data-dir", scratch.dataDir]
        // Kill delays start uniform in 300–1500 ms. A run that finishes before its kill gets the
        // source topped up with 20k orders. A run that then processes that whole top-up from its
        // start (no kill in between) sets the delays from the time it took, D: uniform in D/5 to
        // 9D/10, so they adapt to the machine's speed and load while start-up (~120 ms in a debug
        // build) stays short of them. A finish after a kill processed only a remainder and sets
        // nothing: it once shrank the delays to 50–80 ms, and 12 kills all landed in start-up.
        // A kill leaves aborted records only when it lands between a commit's flush of the outputs
        // and its markers (a 20 ms transaction's outputs fit in one batch per partition, appended
        // at the flush); the next run aborts them. The loop goes on until customer-totals holds
        // at least two such aborts.
        var kills = 0, iterations = 0, finishedFirst = 0
        var shortestDelay = 300, longestDelay = 1500
        var toppedUp = false
        while (kills < 12 || Self.abortIndexBytes(scratch, topic: "customer-totals") < 2 * 38) && iterations < 120 {
            iterations += 1
            let runStarted = Date()
            let run = try PipelineProcess(arguments, in: scratch.root, timeout: 120)
            let killAt = runStarted.addingTimeInterval(Double(Int.random(in: shortestDelay...longestDelay, using: &random)) / 1000)
            while run.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.002) }
            let duration = Int(Date().timeIntervalSince(runStarted) * 1000)
            let result = run.killAndWait()
            if result.signaled {
                #expect(result.exitCode == 128 + SIGKILL, "run \(iterations) ended by an unexpected signal: \(result)")
                kills += 1
                toppedUp = false
            } else {
                #expect(result.exitCode == 0, "run \(iterations) failed instead of finishing: \(result)")
                finishedFirst += 1
                if toppedUp {
                    shortestDelay = max(50, duration / 5)
                    longestDelay = max(shortestDelay + 30, duration * 9 / 10)
                }
                try scratch.produceOrders(ledger.goodOrders(20_000, customers: 0..<2000, using: &random))
                toppedUp = true
            }
        }
        print("[AuditTrailTests] kill delays last \(shortestDelay)–\(longestDelay) ms; \(finishedFirst) runs finished first; customer-totals .txnindex \(Self.abortIndexBytes(scratch, topic: "customer-totals")) bytes")
        #expect(kills >= 10, "only \(kills) of \(iterations) kills landed while order-totals was running")
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 240), pipeline: "order-totals")

        let committed = try scratch.envelopes("customer-totals")
        let check = try customerTotalsProblems(committed, ledger: ledger)
        #expect(check.count == 0, "\(check.count) problems in customer-totals, e.g.\n\(check.described.joined(separator: "\n"))")
        for (customer, row) in check.last { #expect(row == ledger.total(of: customer), "\(customer)") }

        let verdict = try Self.verify(scratch)
        print("[AuditTrailTests] \(kills) kills in \(iterations) runs; \(verdict.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(verdict.exitCode == 0, "\(verdict)")
        #expect(verdict.stdoutLines.count == 1 && verdict.stdout.hasPrefix("audit of order-totals verified: "), "\(verdict)")
        // The kills left aborted transactions, and their records were looked at.
        #expect(!verdict.stdout.contains("none of 0 aborted records"), "\(verdict.stdout)")
        let total = ledger.goodCount + ledger.poison.count
        #expect(verdict.stdout.contains("consumed \(total) offsets of 4 source partitions"), "\(verdict.stdout) (\(total) orders)")
        #expect(verdict.stdout.contains("\(ledger.goodCount) output, \(ledger.poison.count) dead-letter"), "\(verdict.stdout)")
    }

    @Test("audit verify fails naming a committed customer-totals record that no audited transaction wrote")
    func tamperedOutputFails() throws {
        let (scratch, _) = try Self.ranOrderTotals()
        let clean = try Self.verify(scratch)
        #expect(clean.exitCode == 0 && clean.stdout.hasPrefix("audit of order-totals verified: "), "\(clean)")

        // One committed record appended to customer-totals/1 outside any transaction.
        let tampered = try Self.withLog(scratch) { log -> Int64 in
            let topicPartition = TopicPartition(try TopicName(validating: "customer-totals"), PartitionID(1))
            let end = try log.partition(topicPartition).logEndOffset.rawValue
            let producer = LogProducer(log: log)
            try producer.send(topic: topicPartition.topic, key: Array("CUST-0003".utf8),
                              value: Array(#"{"customer_id":"CUST-0003","orders":999,"total_cents":1}"#.utf8), partition: topicPartition.partition)
            try producer.close()
            return end
        }
        let verdict = try Self.verify(scratch)
        #expect(verdict.exitCode != 0, "\(verdict)")
        #expect(verdict.stdoutLines.count == 1, "\(verdict)")
        #expect(verdict.stdout.contains("audit of order-totals FAILED: customer-totals/1: committed records [\(tampered), \(tampered + 1)) (not transactional) belong to no audited transaction"), "\(verdict)")
    }

    @Test("audit verify fails naming the records a group offset commit skipped")
    func tamperedOffsetCommitFails() throws {
        let (scratch, _) = try Self.ranOrderTotals()
        // Ten more orders, then the group's committed offset moved past them without a transaction.
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 5)
        try scratch.produceOrders(ledger.goodOrders(40, customers: 0..<20, using: &random))
        let (committed, end) = try Self.withLog(scratch) { log -> (Int64, Int64) in
            let orders = TopicPartition(try TopicName(validating: "orders"), PartitionID(0))
            let committed = try #require(log.offsets.committed(group: "order-totals", orders)).offset
            let end = try log.partition(orders).logEndOffset
            try log.offsets.commit(group: "order-totals", offsets: [orders: CommittedOffset(offset: end)])
            return (committed.rawValue, end.rawValue)
        }
        #expect(committed < end)
        let verdict = try Self.verify(scratch)
        #expect(verdict.exitCode != 0, "\(verdict)")
        #expect(verdict.stdoutLines.count == 1, "\(verdict)")
        #expect(verdict.stdout.contains("audit of order-totals FAILED: orders/0: offsets [\(committed), \(end)) below group order-totals's committed offset \(end) were consumed by no audited transaction"), "\(verdict)")
    }

    @Test("audit trace on an order names its transaction and the customer-totals update it produced")
    func traceFindsTheUpdate() throws {
        let (scratch, _) = try Self.ranOrderTotals()
        let orders = try scratch.envelopes("orders").filter { $0.partition == 1 }.sorted { $0.offset < $1.offset }
        let order = try #require(orders.dropFirst(orders.count / 2).first { $0.value?.contains("\"amount\"") == true && $0.key != OrderLedger.customerID(3) })
        let customer = try #require(order.key)
        // Its update counts the customer's orders up to and including it.
        let count = orders.filter { $0.key == customer && $0.offset <= order.offset }.count

        let json = try scratch.run(["audit", "trace", "orders", "1", "\(order.offset)", "--format", "json", "--records"])
        #expect(json.exitCode == 0, "\(json)")
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any], "\(json.stdout)")
        let transaction = try #require(object["transaction"] as? [String: Any])
        #expect(transaction["pipeline"] as? String == "order-totals")
        #expect(transaction["transactional_id"] as? String == "order-totals-1")
        let inputs = try #require(transaction["inputs"] as? [[String: Any]])
        #expect(inputs.contains { $0["topic"] as? String == "orders" && $0["partition"] as? Int == 1
            && ($0["from"] as? Int ?? .max) <= Int(order.offset) && Int(order.offset) < ($0["to"] as? Int ?? .min) }, "\(inputs)")
        let records = try #require(object["records"] as? [[String: Any]])
        let updates = try CustomerTotalRow.decodeAll(records.filter { $0["topic"] as? String == "customer-totals" && $0["key"] as? String == customer }
            .compactMap { $0["value"] as? String })
        #expect(updates.contains { $0.customer_id == customer && $0.orders == Int64(count) }, "no update \(count) of \(customer) in \(updates)")

        let text = try scratch.run(["audit", "trace", "orders", "1", "\(order.offset)"])
        #expect(text.exitCode == 0, "\(text)")
        #expect(text.stdoutLines.first?.hasPrefix("orders/1@\(order.offset): consumed by order-totals transaction order-totals-1 (producer ") == true, "\(text)")
        #expect(text.stdoutLines.contains { $0.hasPrefix("  outputs       customer-totals/1 [") }, "\(text)")

        // Not consumed by any audited transaction: a one-line error.
        expectOneLineError(try scratch.run(["audit", "trace", "orders", "1", "1000000"]), containing: ["orders/1@1000000", "no audited transaction"])
    }

    @Test("with --lineage-headers every output carries sluice.source, and trace names the exact update")
    func lineageNamesTheOutput() throws {
        let (scratch, _) = try Self.ranOrderTotals(200, extraRunArguments: ["--lineage-headers"])
        let outputs = try scratch.envelopes("customer-totals")
        #expect(!outputs.isEmpty && outputs.allSatisfy { $0.headers.contains { $0.key == "sluice.source" && $0.value?.hasPrefix("orders/") == true } })
        let update = try #require(outputs.first { $0.partition == 0 })
        let source = try #require(update.headers.first { $0.key == "sluice.source" }?.value).split(separator: "/").map(String.init)
        let text = try scratch.run(["audit", "trace", source[0], source[1], source[2]])
        #expect(text.exitCode == 0, "\(text)")
        #expect(text.stdoutLines.contains("  caused        customer-totals/0@\(update.offset)"), "\(text)")
    }

    @Test("audit verify of a pipeline without an audit trail says so; --audit off writes none")
    func noTrail() throws {
        let (scratch, _) = try Self.ranOrderTotals(50, extraRunArguments: ["--audit", "off"])
        expectOneLineError(try Self.verify(scratch), containing: ["order-totals has no audit trail", "order-totals.audit"])
        expectOneLineError(try scratch.run(["run", "order-totals", "--audit", "maybe"]), containing: ["--audit", "on or off"])
    }
}
