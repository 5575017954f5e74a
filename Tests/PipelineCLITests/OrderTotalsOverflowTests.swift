import Foundation
import Testing
import StreamCore

/// `order-totals` on the real binary with amounts whose sum overflows 64-bit cents: the order
/// that would overflow its customer's total is dead-lettered at stage `process`, the run goes on
/// and every other order is counted exactly.
@Suite("order-totals overflow", .serialized)
struct OrderTotalsOverflowTests {
    @Test("two CUST-1 orders of 50000000000000000.00: the second is dead-lettered, the run exits 0, every other total is exact")
    func overflowIsDeadLettered() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 18_8)
        var lines = ledger.goodOrders(40, customers: 0..<6, using: &random)
        let huge = { (id: String) in OrderLedger.orderLine(orderID: id, customer: "CUST-1", amount: "50000000000000000.00") }
        lines.append(huge("HUGE-1"))
        lines.append(huge("HUGE-2"))
        lines += ledger.goodOrders(20, customers: 0..<6, using: &random)
        try scratch.produceOrders(lines)

        let run = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(run, pipeline: "order-totals")
        #expect(runSummary(run.stdout, pipeline: "order-totals")?.deadLettered == 1, "\(run)")

        let letters = try scratch.envelopes("order-totals.dlq")
        try #require(letters.count == 1, "\(letters)")
        #expect(letters[0].value?.contains("HUGE-2") == true, "\(letters[0])")
        #expect(letters[0].header("dlq.stage") == "process")
        #expect(letters[0].header("dlq.error.type") == "OrderRejected")
        #expect(letters[0].header("dlq.error.message")?.contains("overflows") == true, "\(letters[0].headers)")

        let totals = try scratch.envelopes("customer-totals")
        let others = totals.filter { $0.key != "CUST-1" }
        let problems = try customerTotalsProblems(others, ledger: ledger)
        #expect(problems.count == 0, "\(problems.described)")
        let cust1 = try CustomerTotalRow.decodeAll(totals.filter { $0.key == "CUST-1" }.map { $0.value ?? "null" })
        #expect(cust1.map(\.total_cents) == [5_000_000_000_000_000_000], "\(cust1)")
    }
}
