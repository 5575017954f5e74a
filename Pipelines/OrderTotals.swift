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
/// customer's full total. An order whose amount would take the total past what 64-bit cents hold
/// (about 92 quadrillion) is refused (``OrderRejected/totalOverflow``) and dead-lettered; the
/// total stays as it was.
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
                try total.adding(record.value)
            }
            .sink("customer-totals", value: CustomerTotal.outputSerde)
    }
}

extension CustomerTotal {
    /// This total with `order` counted, in checked arithmetic.
    /// - Throws: ``OrderRejected/totalOverflow`` when the count or the cents would overflow, and
    ///   what ``OrderCreated/amountInCents()`` throws.
    func adding(_ order: OrderCreated) throws -> CustomerTotal {
        let cents = try order.amountInCents()
        let (sum, sumOverflows) = totalCents.addingReportingOverflow(cents)
        let (count, countOverflows) = orders.addingReportingOverflow(1)
        guard !sumOverflows && !countOverflows else {
            throw OrderRejected.totalOverflow(customerID: order.customerID, totalCents: totalCents, amountCents: cents)
        }
        return CustomerTotal(customerID: order.customerID, orders: count, totalCents: sum)
    }
}
