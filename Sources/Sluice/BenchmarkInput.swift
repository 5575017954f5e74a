/// One input record a benchmark generator makes: the topic it goes to, its key and its value.
/// `pipeline bench` stamps its timestamp with the moment it is appended.
public struct BenchmarkRecord: Sendable, Equatable {
    /// A source topic of the pipeline (a stream's or a table's).
    public var topic: String
    /// The key; records with a key go to the partition Kafka's default partitioner picks.
    public var key: [UInt8]?
    public var value: [UInt8]

    public init(topic: String, key: [UInt8]?, value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.value = value
    }
}

/// How `pipeline bench` measures a pipeline's end-to-end latency.
public enum BenchmarkLatency: Sendable, Equatable {
    /// Every output record carries the timestamp of the input record that caused it (stateless
    /// operators, aggregations and stream–table joins forward it), so latency is the moment an
    /// output becomes visible to a read-committed reader minus that timestamp.
    case fromInputTimestamp
    /// Outputs do not carry their input's timestamp (windows emit at the window's end), so
    /// latency is not measured; `reason` is printed instead.
    case notMeasured(reason: String)
}

/// A pipeline's own input for `pipeline bench` (optional: pipelines that do not conform get
/// ``BenchmarkOrders/orderCreated(index:keys:bytes:random:)`` on `orders`).
///
/// ```swift
/// extension OrderEnrichment: BenchmarkInput {
///     func benchmarkRecord(index: Int, keys: Int, bytes: Int, random: inout some RandomNumberGenerator) -> BenchmarkRecord {
///         index % 10 == 0 ? customerRecord(…) : BenchmarkOrders.orderCreated(index: index, keys: keys, bytes: bytes, random: &random)
///     }
/// }
/// ```
public protocol BenchmarkInput {
    /// The `index`-th input record (0-based) of a run: keys drawn from `keys` distinct values,
    /// values of about `bytes` bytes (at least what the record needs). It may go to any source
    /// topic, so a pipeline that joins a table can fill the table too.
    /// - Precondition: `keys >= 1`, `index >= 0`.
    func benchmarkRecord(index: Int, keys: Int, bytes: Int, random: inout some RandomNumberGenerator) -> BenchmarkRecord

    /// How latency is measured; ``BenchmarkLatency/fromInputTimestamp`` unless the pipeline says
    /// otherwise.
    var benchmarkLatency: BenchmarkLatency { get }
}

extension BenchmarkInput {
    public var benchmarkLatency: BenchmarkLatency { .fromInputTimestamp }
}

/// The default benchmark input: the services' `OrderCreated` events.
public enum BenchmarkOrders {
    /// `{"event_type":"OrderCreated","order_id":"ORD-1234","customer_id":"CUST-4567","amount":12.50,"timestamp":"2025-06-11T12:00:00Z"}`
    /// keyed by `customer_id`, the customer drawn uniformly from `keys` customers and the amount
    /// from 0.01…2000.00. The order id is zero-padded (`ORD-000…1234`) to bring the value to
    /// `bytes` bytes, so the record keeps the plain shape the pipelines' fast decoders read.
    /// - Precondition: `keys >= 1`.
    public static func orderCreated(
        index: Int, keys: Int, bytes: Int, topic: String = "orders", timestamp: String = "2025-06-11T12:00:00Z",
        random: inout some RandomNumberGenerator
    ) -> BenchmarkRecord {
        precondition(keys >= 1, "a benchmark needs at least one key")
        let customer = "CUST-\(random.next(upperBound: UInt64(keys)))"
        let cents = 1 + random.next(upperBound: UInt64(200_000))
        let fraction = cents % 100
        let amount = "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        let head = "{\"event_type\":\"OrderCreated\",\"order_id\":\"ORD-"
        let tail = "\",\"customer_id\":\"\(customer)\",\"amount\":\(amount),\"timestamp\":\"\(timestamp)\"}"
        let number = String(index)
        let padding = max(0, bytes - head.utf8.count - number.utf8.count - tail.utf8.count)
        let value = head + String(repeating: "0", count: padding) + number + tail
        return BenchmarkRecord(topic: topic, key: Array(customer.utf8), value: Array(value.utf8))
    }
}
