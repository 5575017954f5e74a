import StreamCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The orders `pipeline demo` produces: the seed's `OrderCreated` events keyed by customer, a
/// few poison records among them, and what `order-totals` must make of them.
///
/// Customers are named after the demo run (`CUST-<run>-<n>`), so a demo run on a data directory
/// earlier runs used checks only its own totals.
struct DemoOrders {
    /// One record to produce: its key and value bytes.
    struct Record {
        var key: String
        var value: String
    }

    /// A poison record and the `dlq.error.type` `order-totals` gives it.
    struct Poison {
        var record: Record
        var errorType: String
    }

    let runID: String
    let customers: Int
    /// Per customer: how many good orders and their total in cents.
    private(set) var expected: [String: (orders: Int64, cents: Int64)] = [:]
    private var random: SeededRandom

    init(runID: String, customers: Int, seed: UInt64) {
        self.runID = runID
        self.customers = customers
        random = SeededRandom(seed: seed)
    }

    /// The `order_id` prefix of this run's orders.
    var orderPrefix: String { "ORD-\(runID)-" }

    /// Whether `customerID` is one of this run's customers.
    func isOwnCustomer(_ customerID: String) -> Bool { customerID.hasPrefix("CUST-\(runID)-") }

    /// The `index`th good order, counted in ``expected``.
    mutating func order(_ index: Int) -> Record {
        let customerID = "CUST-\(runID)-\(Int(random.next() % UInt64(customers)) + 1)"
        let cents = Int64(random.next() % 200_000) + 1
        let current = expected[customerID] ?? (0, 0)
        expected[customerID] = (current.orders + 1, current.cents + cents)
        return Record(key: customerID, value: Self.json(orderID: "\(orderPrefix)\(index)", customerID: customerID, amount: Self.amount(cents), index: index))
    }

    /// The `index`th poison record, cycling through the ways an order can be refused: bytes that
    /// are not JSON, a negative amount, three decimal places, a key that is another customer's.
    mutating func poison(_ index: Int) -> Poison {
        let customerID = "CUST-\(runID)-\(Int(random.next() % UInt64(customers)) + 1)"
        let orderID = "\(orderPrefix)poison-\(index)"
        switch index % 4 {
        case 0:
            return Poison(record: Record(key: customerID, value: "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(orderID)\",\"amount\":"), errorType: "DecodingError")
        case 1:
            return Poison(record: Record(key: customerID, value: Self.json(orderID: orderID, customerID: customerID, amount: "-12.50", index: index)), errorType: "OrderRejected")
        case 2:
            return Poison(record: Record(key: customerID, value: Self.json(orderID: orderID, customerID: customerID, amount: "9.999", index: index)), errorType: "OrderRejected")
        default:
            return Poison(record: Record(key: "CUST-\(runID)-0", value: Self.json(orderID: orderID, customerID: customerID, amount: "5.00", index: index)), errorType: "KeyMismatch")
        }
    }

    static func amount(_ cents: Int64) -> String {
        "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
    }

    /// `2025-06-11T12:00:00Z` plus `index` seconds.
    static func timestamp(_ index: Int) -> String {
        var seconds = time_t(1_749_643_200 + index)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func json(orderID: String, customerID: String, amount: String, index: Int) -> String {
        let timestamp = timestamp(index)
        return "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(orderID)\",\"customer_id\":\"\(customerID)\",\"amount\":\(amount),\"timestamp\":\"\(timestamp)\"}"
    }
}
