import StreamCore
import LogStorage
import PipelineRuntime
import Foundation

/// What `pipeline demo` checks after the crash and the restart, read-committed from the log.
enum DemoChecks {
    /// The verdict on `customer-totals` for the demo run's customers.
    struct TotalsVerdict {
        var customers = 0
        var updates = 0
        /// Customers whose last total is not the sum of their orders.
        var wrongTotals: [String] = []
        /// Customers whose update counts are not 1, 2, … n (a duplicate or a gap).
        var brokenSequences: [String] = []
        /// Customers with orders and no update at all.
        var missing: [String] = []

        var isExact: Bool { wrongTotals.isEmpty && brokenSequences.isEmpty && missing.isEmpty }
    }

    private struct Total: Decodable {
        var customer_id: String
        var orders: Int64
        var total_cents: Int64
    }

    /// Reads every committed update of `customer-totals` (offset order per partition, so per
    /// customer in order) and compares the run's customers with `orders.expected`.
    static func totals(log: LogManager, orders: DemoOrders) throws -> TotalsVerdict {
        var verdict = TotalsVerdict()
        var last: [String: Total] = [:]
        let decoder = JSONDecoder()
        try DeadLetterTopics.scanCommitted(log: log, topic: TopicName(rawValue: "customer-totals")!) { record in
            guard let value = record.value, let total = try? decoder.decode(Total.self, from: Data(value)),
                  orders.isOwnCustomer(total.customer_id) else { return }
            verdict.updates += 1
            let previous = last[total.customer_id]?.orders ?? 0
            if total.orders != previous + 1, !verdict.brokenSequences.contains(total.customer_id) {
                verdict.brokenSequences.append(total.customer_id)
            }
            last[total.customer_id] = total
        }
        for (customer, expected) in orders.expected.sorted(by: { $0.key < $1.key }) {
            guard let total = last[customer] else { verdict.missing.append(customer); continue }
            if total.orders != expected.orders || total.total_cents != expected.cents { verdict.wrongTotals.append(customer) }
        }
        verdict.customers = last.count
        return verdict
    }

    /// The run's dead letters in `order-totals.dlq` (their `order_id` or key names the run), by
    /// `dlq.error.type`, and one of them to show.
    static func deadLetters(log: LogManager, orders: DemoOrders) throws -> (byType: [String: Int], example: DeadLetter?) {
        var byType: [String: Int] = [:]
        var example: DeadLetter?
        _ = try DeadLetterTopics.scanDeadLetters(log: log, pipeline: "order-totals") { letter in
            let value = letter.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard value.contains(orders.orderPrefix) else { return }
            byType[letter.errorType, default: 0] += 1
            if example == nil { example = letter }
        }
        return (byType, example)
    }
}
