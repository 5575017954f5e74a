import Sluice

/// `order-totals-codable`: `order-totals` as a user writes it — plain `Codable` types through the
/// default `.json` serde for the source, the store and the sink, no hand-written serde — so
/// `pipeline bench` measures the generic path beside the hand-written one. It reads `orders` and
/// writes `customer-totals-codable`, the same records `order-totals` writes to
/// `customer-totals`, byte for byte.
struct OrderTotalsCodable: PipelineDefinition {
    let name = "order-totals-codable"
    let summary = "orders → customer-totals-codable: order-totals through the default JSON serde"

    var body: Topology {
        Source("orders", value: .json(OrderCreated.self))
            .filter { key, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                try RecordKeys.require(key, isCustomer: order.customerID)
                return true
            }
            .groupByKey()
            .aggregate(store: "customer-totals", initial: CustomerTotal.none, value: .json(CustomerTotal.self)) { total, record in
                try total.adding(record.value)
            }
            .sink("customer-totals-codable", value: .json(CustomerTotal.self))
    }
}
