import Foundation
import Sluice

/// A customer as the `customers` table holds it, keyed by customer id:
/// `{"customer_id":"CUST-4567","tier":"gold"}`.
struct Customer: Codable, Sendable, Equatable {
    var customerID: String
    var tier: String

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case tier
    }
}

/// An order with its customer's tier, as `order-enrichment` emits it to `orders-enriched`,
/// keyed by customer id; `tier` is null when the customer is not (or no longer) in the table:
/// `{"amount":12.5,"customer_id":"CUST-4567","event_type":"OrderEnriched","order_id":"ORD-1234","tier":"gold","timestamp":"2025-06-11T12:00:00Z"}`.
struct EnrichedOrder: Codable, Sendable, Equatable {
    var eventType = "OrderEnriched"
    var orderID: String
    var customerID: String
    var amount: Decimal
    var timestamp: String
    var tier: String?

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type"
        case orderID = "order_id"
        case customerID = "customer_id"
        case amount
        case timestamp
        case tier
    }

    init(_ order: OrderCreated, tier: String?) {
        orderID = order.orderID
        customerID = order.customerID
        amount = order.amount
        timestamp = order.timestamp
        self.tier = tier
    }

    /// Writes `tier` as null when unknown, so every enriched order has the same fields.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventType, forKey: .eventType)
        try container.encode(orderID, forKey: .orderID)
        try container.encode(customerID, forKey: .customerID)
        try container.encode(amount, forKey: .amount)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(tier, forKey: .tier)
    }
}

/// `order-enrichment`: every order joined with its customer in the `customers` table (a
/// stream–table left join on customer id) into `orders-enriched`. The table is as of the order:
/// the worker merges both topics by timestamp, so an order sees the customer records older than
/// it and a later tier change does not revise orders already enriched. Orders without a
/// customer_id or with a negative amount are dead-lettered, as are customer records that do not
/// decode (the table keeps its previous value).
struct OrderEnrichment: PipelineDefinition {
    let name = "order-enrichment"
    let summary = "orders ⋈ customers table → orders-enriched: each order with its customer's tier"

    var body: Topology {
        let customers = Table("customers", value: .json(Customer.self), store: "customers")
        Source("orders", value: OrderCreatedFastDecoding.serde)
            .filter { key, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                try RecordKeys.require(key, isCustomer: order.customerID)
                _ = try order.amountInCents()
                return true
            }
            .leftJoin(customers) { order, customer in EnrichedOrder(order, tier: customer?.tier) }
            .sink("orders-enriched", value: .json(EnrichedOrder.self))
    }
}

/// Bench input: every tenth record is a customer (a tier update for a random customer) to the
/// `customers` table, the others `OrderCreated` events; both keyed by customer id.
extension OrderEnrichment: BenchmarkInput {
    static let benchmarkTiers = ["bronze", "silver", "gold"]

    func benchmarkRecord(index: Int, keys: Int, bytes: Int, random: inout some RandomNumberGenerator) -> BenchmarkRecord {
        guard index % 10 == 0 else { return BenchmarkOrders.orderCreated(index: index, keys: keys, bytes: bytes, random: &random) }
        let customer = "CUST-\(random.next(upperBound: UInt64(keys)))"
        let tier = Self.benchmarkTiers[Int(random.next(upperBound: UInt64(Self.benchmarkTiers.count)))]
        return BenchmarkRecord(topic: "customers", key: Array(customer.utf8),
                               value: Array("{\"customer_id\":\"\(customer)\",\"tier\":\"\(tier)\"}".utf8))
    }
}
