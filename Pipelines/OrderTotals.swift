import Sluice

/// A customer's running total, as `order-totals` emits it:
/// `{"customer_id":"CUST-4567","orders":3,"total_cents":3750}`.
struct CustomerTotal: Codable, Sendable, Equatable {
    var customerID: String
    var orders: Int64
    var totalCents: Int64

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case orders
        case totalCents = "total_cents"
    }

    static let none = CustomerTotal(customerID: "", orders: 0, totalCents: 0)
}

/// `order-totals`: per customer, the count of orders and the exact sum of their amounts; every
/// update goes to `customer-totals` keyed by customer, so the last value per key is the
/// customer's full total.
struct OrderTotals: PipelineDefinition {
    let name = "order-totals"
    let summary = "orders → customer-totals: per-customer order count and exact total in cents"

    var body: Topology {
        Source("orders", value: OrderCreatedFastDecoding.serde)
            .filter { key, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                try RecordKeys.require(key, isCustomer: order.customerID)
                return true
            }
            .groupByKey()
            .aggregate(store: "customer-totals", initial: CustomerTotal.none, value: CustomerTotal.storeSerde) { total, record in
                CustomerTotal(customerID: record.value.customerID, orders: total.orders + 1,
                              totalCents: total.totalCents + (try record.value.amountInCents()))
            }
            .sink("customer-totals", value: CustomerTotal.outputSerde)
    }
}
