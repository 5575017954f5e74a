import Foundation
import Testing
import StreamCore

/// A corrupt batch in the middle of a source segment, end to end on the real binary: `run`
/// commits what precedes the damage and stops naming the `pipeline recover` command to run;
/// `recover --skip-damaged` writes the damaged batch's raw bytes to the DLQ (stage `read`) and
/// moves the pipeline past it in one transaction; the rerun processes everything after it.
@Suite("pipeline recover", .serialized)
struct RecoverCommandTests {
    /// One produced order: its customer, cents and line.
    private struct Order {
        var customer: String
        var cents: Int64
        var line: String
    }

    /// Flips one bit of the byte at `position` of the file at `path`.
    private static func flipBit(in path: String, at position: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(position))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(position))
        try handle.write(contentsOf: Data([byte ^ 0x10]))
    }

    /// `orders` (2 partitions) from six `produce` calls of 300 orders each over 8 customers, so
    /// each partition's segment holds several batches; then one payload bit of partition 0's
    /// third batch flipped. Returns the orders in production order per partition and the
    /// damaged batch's base offset, record count, file position and size.
    private static func damagedOrders(_ scratch: Scratch) throws -> (orders: [[Order]], base: Int, count: Int, position: Int, size: Int) {
        try scratch.createTopic("orders", ["--partitions", "2"])
        var random = SeededRandom(seed: 18_9)
        var orders: [[Order]] = [[], []]
        var next = 1
        for _ in 0..<6 {
            var lines: [String] = []
            for _ in 0..<300 {
                let customer = OrderLedger.customerID(Int.random(in: 0..<8, using: &random))
                let cents = Int64.random(in: 1...200_000, using: &random)
                let line = OrderLedger.orderLine(orderID: "ORD-\(next)", customer: customer, amount: OrderLedger.amountText(cents: cents))
                next += 1
                lines.append(line)
                orders[KafkaMurmur2.partition(customer, count: 2)].append(Order(customer: customer, cents: cents, line: line))
            }
            try scratch.produceOrders(lines)
        }
        let path = scratch.segmentPath("orders", partition: 0)
        let dump = DumpOutput(try scratch.runBare(["log", "dump", path]).stdout)
        try #require(dump.batchLines.count >= 4, "\(dump.batchLines)")
        let third = dump.batchLines[2]
        let base = try #require(DumpOutput.field("baseOffset", in: third).flatMap(Int.init))
        let count = try #require(DumpOutput.field("count", in: third).flatMap(Int.init))
        let position = try #require(DumpOutput.field("position", in: third).flatMap(Int.init))
        let size = try #require(DumpOutput.field("size", in: third).flatMap(Int.init))
        try flipBit(in: path, at: position + size / 2)
        return (orders, base, count, position, size)
    }

    /// The last committed update per customer in `customer-totals`, and the update count.
    private static func totals(_ scratch: Scratch, partition: Int? = nil) throws -> (last: [String: CustomerTotalRow], updates: Int) {
        let envelopes = try scratch.envelopes("customer-totals", partition.map { ["--partition", String($0)] } ?? [])
            .sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        let rows = try CustomerTotalRow.decodeAll(envelopes.map { $0.value ?? "null" })
        var last: [String: CustomerTotalRow] = [:]
        for row in rows { last[row.customer_id] = row }
        return (last, rows.count)
    }

    /// Each customer's expected total over `orders`.
    private static func expected(_ orders: [Order]) -> [String: CustomerTotalRow] {
        var result: [String: CustomerTotalRow] = [:]
        for order in orders {
            var row = result[order.customer] ?? CustomerTotalRow(customer_id: order.customer, orders: 0, total_cents: 0)
            row.orders += 1
            row.total_cents += order.cents
            result[order.customer] = row
        }
        return result
    }

    @Test("run commits what precedes the damage and names the recover command; recover dead-letters the raw batch; the rerun does the rest, totals exact")
    func skipDamagedBatch() throws {
        let scratch = try Scratch()
        let (orders, base, count, position, size) = try Self.damagedOrders(scratch)
        let damagedBytes = Array(try Data(contentsOf: URL(fileURLWithPath: scratch.segmentPath("orders", partition: 0)))[position..<(position + size)])

        let stopped = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        #expect(stopped.exitCode != 0 && !stopped.signaled, "\(stopped)")
        let command = "pipeline recover order-totals --skip-damaged orders/0@\(base)"
        #expect(stopped.stderrErrorLines.count == 1 && stopped.stderrErrorLines.first?.contains(command) == true, "\(stopped)")
        // Everything of partition 0 before the damage committed: one update per order.
        let before = try Self.totals(scratch, partition: 0)
        #expect(before.updates == base, "\(before.updates) committed updates in partition 0, \(base) orders before the damage")
        #expect(before.last == Self.expected(Array(orders[0][..<base])))

        let recovered = try scratch.run(["recover", "order-totals", "--skip-damaged", "orders/0@\(base)"])
        #expect(recovered.exitCode == 0, "\(recovered)")
        #expect(recovered.stdout.contains("orders/0@\(base)") && recovered.stdout.contains("\(base + count)"), "\(recovered)")
        let letters = try scratch.envelopes("order-totals.dlq")
        try #require(letters.count == 1, "\(letters)")
        let letter = letters[0]
        #expect(letter.valueBytes == damagedBytes, "the DLQ record holds the damaged batch's bytes as they are on disk")
        #expect(letter.header("dlq.stage") == "read")
        #expect(letter.header("dlq.error.type") == "CorruptBatch")
        #expect(letter.header("dlq.source.topic") == "orders" && letter.header("dlq.source.partition") == "0")
        #expect(letter.header("dlq.source.offset") == String(base))
        #expect(letter.header("dlq.damaged.position") == String(position))
        #expect(letter.header("dlq.damaged.bytes") == String(size))
        #expect(letter.header("dlq.damaged.last.offset") == String(base + count - 1))
        #expect(letter.header("dlq.skipped.to") == String(base + count))
        #expect(letter.header("dlq.error.message")?.isEmpty == false)

        let listed = try scratch.run(["dlq", "list", "order-totals"])
        #expect(listed.exitCode == 0 && listed.stdout.contains("CorruptBatch") && listed.stdout.contains("read"), "\(listed)")
        let shown = try scratch.run(["dlq", "show", "order-totals"])
        #expect(shown.exitCode == 0 && shown.stdout.contains("value: (\(size) bytes: the damaged batch as it was on disk"), "\(shown)")

        // A second recover finds no damage at the committed offset any more.
        let again = try scratch.run(["recover", "order-totals", "--skip-damaged", "orders/0@\(base)"])
        #expect(again.exitCode != 0 && again.stderrErrorLines.count == 1, "\(again)")

        let rest = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(rest, pipeline: "order-totals")
        let good = orders[0].enumerated().filter { $0.offset < base || $0.offset >= base + count }.map(\.element) + orders[1]
        let after = try Self.totals(scratch)
        #expect(after.last == Self.expected(good), "totals exact for every order outside the damaged batch")
        #expect(after.updates == good.count, "one committed update per good order")

        // The skip is audited: verify passes, and the damaged batch's first offset traces to the
        // recover's transaction and its one dead letter.
        let verdict = try scratch.run(["audit", "verify", "order-totals"], timeout: 120)
        #expect(verdict.exitCode == 0 && verdict.stdout.hasPrefix("audit of order-totals verified: "), "\(verdict)")
        let trace = try scratch.run(["audit", "trace", "orders", "0", "\(base)", "--format", "json"])
        #expect(trace.exitCode == 0, "\(trace)")
        #expect(trace.stdout.contains("\"inputs\":[{\"topic\":\"orders\",\"partition\":0,\"from\":\(base),\"to\":\(base + count)}]"), "\(trace.stdout)")
        #expect(trace.stdout.contains("\"dead_letters\":[{\"topic\":\"order-totals.dlq\",\"partition\":0,\"from\":0,\"to\":1}]"), "\(trace.stdout)")
    }

    @Test("recover refuses an offset that is not the pipeline's committed one, and a data directory another process holds")
    func refusals() throws {
        let scratch = try Scratch()
        let (_, base, _, _, _) = try Self.damagedOrders(scratch)
        let stopped = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        #expect(stopped.exitCode != 0, "\(stopped)")

        let wrong = try scratch.run(["recover", "order-totals", "--skip-damaged", "orders/0@\(base + 1)"])
        #expect(wrong.exitCode != 0 && wrong.stderrErrorLines.count == 1 && wrong.stderr.contains("\(base)"), "\(wrong)")
        let malformed = try scratch.run(["recover", "order-totals", "--skip-damaged", "orders-0-\(base)"])
        #expect(malformed.exitCode != 0 && malformed.stderr.contains("TOPIC/PARTITION@OFFSET"), "\(malformed)")

        let holder = try PipelineProcess(["consume", "customer-totals", "--follow", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
        defer { _ = holder.killAndWait() }
        Thread.sleep(forTimeInterval: 1)
        let locked = try scratch.run(["recover", "order-totals", "--skip-damaged", "orders/0@\(base)"])
        #expect(locked.exitCode != 0 && locked.stderr.contains("pipeline consume"), "\(locked)")
    }
}
