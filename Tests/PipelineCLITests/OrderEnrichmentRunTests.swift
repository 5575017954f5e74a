import Foundation
import Testing
import StreamCore

/// `pipeline run order-enrichment` as a real process: the customers table and the orders
/// stream are co-partitioned topics merged by timestamp in each worker.
@Suite("pipeline run order-enrichment", .serialized)
struct OrderEnrichmentRunTests {
    private struct Enriched: Decodable {
        var event_type: String
        var order_id: String
        var customer_id: String
        var amount: Decimal
        var tier: String?
    }

    private static let tiers = ["bronze", "silver", "gold", "platinum"]

    private static func customerLine(_ number: Int, tier: String) -> String {
        #"{"customer_id":"\#(OrderLedger.customerID(number))","tier":"\#(tier)"}"#
    }

    @Test("every order carries its customer's tier as of the order; unknown customers get null; a rerun continues")
    func enrichesOrders() throws {
        let scratch = try Scratch()
        try scratch.createTopic("customers", ["--partitions", "4", "--compression", "lz4"])
        try scratch.createTopic("orders", ["--partitions", "4", "--compression", "lz4"])
        var tierOf: [String: String] = [:]
        var customers: [String] = []
        for number in 0..<30 {
            let tier = Self.tiers[number % Self.tiers.count]
            tierOf[OrderLedger.customerID(number)] = tier
            customers.append(Self.customerLine(number, tier: tier))
        }
        try scratch.produce("customers", customers, ["--key-field", "customer_id"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 21)
        // Customers 0..<40: the last ten are not in the table.
        try scratch.produceOrders(ledger.goodOrders(300, customers: 0..<40, using: &random))
        try scratch.producePoison(ledger.poisonOrders(5, key: OrderLedger.customerID(2), using: &random), key: OrderLedger.customerID(2))

        let first = try scratch.run(["run", "order-enrichment", "--until-idle"], timeout: 90)
        expectRunSuccess(first, pipeline: "order-enrichment")
        #expect(runSummary(first.stdout, pipeline: "order-enrichment").map { $0.deadLettered == 5 && $0.lag == 0 } == true, "\(first)")

        func enriched() throws -> [Enriched] {
            try scratch.envelopes("orders-enriched").map { envelope in
                let decoded = try JSONDecoder().decode(Enriched.self, from: Data((envelope.value ?? "").utf8))
                #expect(envelope.key == decoded.customer_id)
                return decoded
            }
        }
        var output = try enriched()
        #expect(output.count == 300)
        #expect(Set(output.map(\.order_id)).count == 300, "no order enriched twice")
        for order in output {
            #expect(order.event_type == "OrderEnriched")
            #expect(order.tier == tierOf[order.customer_id], "\(order.order_id) of \(order.customer_id)")
        }
        #expect(try scratch.envelopes("order-enrichment.dlq").count == 5)
        let firstRun = Dictionary(uniqueKeysWithValues: output.map { ($0.order_id, $0.tier) })

        // A tier change applies to orders after it, not to those already enriched.
        try scratch.produce("customers", [Self.customerLine(1, tier: "diamond"), Self.customerLine(35, tier: "new")], ["--key-field", "customer_id"])
        tierOf[OrderLedger.customerID(1)] = "diamond"
        tierOf[OrderLedger.customerID(35)] = "new"
        let later = (0..<20).map { index in ledger.good(customer: OrderLedger.customerID(index % 2 == 0 ? 1 : 35), cents: Int64(100 + index)) }
        try scratch.produceOrders(later)
        let second = try scratch.run(["run", "order-enrichment", "--until-idle"], timeout: 90)
        expectRunSuccess(second, pipeline: "order-enrichment")
        output = try enriched()
        #expect(output.count == 320)
        #expect(Set(output.map(\.order_id)).count == 320, "no order enriched twice")
        for order in output {
            if let tier = firstRun[order.order_id] {
                #expect(order.tier == tier, "\(order.order_id) was enriched in the first run and is not revised")
            } else {
                #expect(order.tier == tierOf[order.customer_id], "\(order.order_id) of \(order.customer_id)")
            }
        }

        let shown = try scratch.stateShow("order-enrichment", "customers", key: OrderLedger.customerID(35))
        #expect(shown.exitCode == 0 && shown.stdout.contains("\"new\""), "\(shown)")
    }
}
