import Sluice

/// One customer's order count in one minute, as `orders-per-minute` emits it:
/// `{"customer_id":"CUST-4567","orders":3,"window_end":"2025-06-11T12:01:00Z","window_start":"2025-06-11T12:00:00Z"}`.
struct CustomerMinute: Codable, Sendable, Equatable {
    var customerID: String
    var windowStart: String
    var windowEnd: String
    var orders: Int64

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case orders
    }
}

/// `orders-per-minute`: tumbling one-minute event-time windows (by the order's `timestamp`) of
/// order counts per customer, each emitted once, final, when the partition's watermark passes
/// the window's end plus 10 s of grace; later orders for a closed window are dead-lettered as
/// late.
struct OrdersPerMinute: PipelineDefinition {
    let name = "orders-per-minute"
    let summary = "orders → orders-per-minute: per-customer counts in one-minute event-time windows, emitted final"
    static let windows = Windows.tumbling(.seconds(60), grace: .seconds(10))

    var body: Topology {
        Source("orders", value: .json(OrderCreated.self))
            .filter { key, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                try RecordKeys.require(key, isCustomer: order.customerID)
                return true
            }
            .withTimestamps { _, order in try order.eventTime() }
            .groupByKey()
            .windowed(by: OrdersPerMinute.windows)
            .count(store: "orders-per-minute", emit: .final)
            .map { window, count in
                (window.key, CustomerMinute(customerID: window.key, windowStart: EventTime.iso8601(milliseconds: window.start),
                                            windowEnd: EventTime.iso8601(milliseconds: window.end), orders: count))
            }
            .sink("orders-per-minute", value: .json(CustomerMinute.self))
    }
}

/// Bench input: orders whose event time advances 20 ms per order (from 2025-06-11T12:00:00Z), so
/// windows keep closing as the watermark moves. Outputs carry the window's end, not an input's
/// timestamp, so latency is not measured.
extension OrdersPerMinute: BenchmarkInput {
    static let benchmarkEpochMilliseconds: Int64 = 1_749_643_200_000

    func benchmarkRecord(index: Int, keys: Int, bytes: Int, random: inout some RandomNumberGenerator) -> BenchmarkRecord {
        let eventTime = EventTime.iso8601(milliseconds: Self.benchmarkEpochMilliseconds + Int64(index) * 20)
        return BenchmarkOrders.orderCreated(index: index, keys: keys, bytes: bytes, timestamp: eventTime, random: &random)
    }

    var benchmarkLatency: BenchmarkLatency {
        .notMeasured(reason: "windows are emitted with the window's end as timestamp, not an input's")
    }
}
