import Foundation
import Sluice

/// The seed's domain event, one JSON object per record, keyed by `customer_id`:
/// `{"event_type":"OrderCreated","order_id":"ORD-1234","customer_id":"CUST-4567","amount":12.50,"timestamp":"2025-06-11T12:00:00Z"}`.
struct OrderCreated: Codable, Sendable, Equatable {
    var eventType: String
    var orderID: String
    var customerID: String
    /// A decimal with at most two places, kept exact.
    var amount: Decimal
    var timestamp: String
    /// `amount` in cents when a decoder already read it as such (the fast serde does), so
    /// ``amountInCents()`` needs no Decimal arithmetic; not part of the event's identity.
    var exactCents: Int64?

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type"
        case orderID = "order_id"
        case customerID = "customer_id"
        case amount
        case timestamp
    }

    init(eventType: String, orderID: String, customerID: String, amount: Decimal, timestamp: String) {
        self.eventType = eventType
        self.orderID = orderID
        self.customerID = customerID
        self.amount = amount
        self.timestamp = timestamp
    }

    /// A missing `customer_id` decodes as empty, so the pipelines reject the order at the
    /// process stage (a business rule), not as undecodable bytes.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventType = try container.decode(String.self, forKey: .eventType)
        orderID = try container.decode(String.self, forKey: .orderID)
        customerID = try container.decodeIfPresent(String.self, forKey: .customerID) ?? ""
        amount = try container.decode(Decimal.self, forKey: .amount)
        timestamp = try container.decode(String.self, forKey: .timestamp)
    }

    /// The event time, milliseconds since the epoch, from `timestamp`.
    func eventTime() throws -> Int64 {
        guard let milliseconds = EventTime.milliseconds(iso8601: timestamp) else { throw OrderRejected.badTimestamp(timestamp) }
        return milliseconds
    }

    static func == (lhs: OrderCreated, rhs: OrderCreated) -> Bool {
        lhs.eventType == rhs.eventType && lhs.orderID == rhs.orderID && lhs.customerID == rhs.customerID
            && lhs.amount == rhs.amount && lhs.timestamp == rhs.timestamp
    }

    /// The amount in cents, exactly.
    /// - Throws: ``OrderRejected`` for a negative amount or one with more than two decimal places.
    func amountInCents() throws -> Int64 {
        if let exactCents {
            guard exactCents >= 0 else { throw OrderRejected.negativeAmount(amount) }
            return exactCents
        }
        guard amount >= 0 else { throw OrderRejected.negativeAmount(amount) }
        var cents = amount * 100
        var rounded = Decimal()
        NSDecimalRound(&rounded, &cents, 0, .plain)
        guard rounded == cents, let value = Int64(exactly: NSDecimalNumber(decimal: rounded).int64Value), Decimal(value) == rounded else {
            throw OrderRejected.tooManyDecimals(amount)
        }
        return value
    }
}

/// Why an order cannot be processed.
enum OrderRejected: Error, CustomStringConvertible, Equatable {
    case negativeAmount(Decimal)
    case tooManyDecimals(Decimal)
    case missingCustomer
    case badTimestamp(String)
    /// Adding the order to the customer's total would overflow 64-bit cents.
    case totalOverflow(customerID: String, totalCents: Int64, amountCents: Int64)

    var description: String {
        switch self {
        case .negativeAmount(let amount): return "negative amount \(amount)"
        case .tooManyDecimals(let amount): return "amount \(amount) has more than two decimal places"
        case .missingCustomer: return "the order has no customer_id"
        case .badTimestamp(let text): return "timestamp '\(text)' is not ISO 8601 (2025-06-11T12:00:00Z)"
        case .totalOverflow(let customer, let total, let amount):
            return "adding \(amount) cents to \(customer)'s total of \(total) cents overflows 64-bit cents"
        }
    }
}

/// ISO 8601 timestamps as the events carry them: `2025-06-11T12:00:00Z`, optionally with
/// fractional seconds and a `±HH:MM` offset.
enum EventTime {
    /// Milliseconds since the epoch, or nil when `text` is not such a timestamp (or names a
    /// day its month does not have): ``ISO8601Time``, the parser every date in Sluice goes through.
    static func milliseconds(iso8601 text: String) -> Int64? { ISO8601Time.milliseconds(text) }

    /// `2025-06-11T12:00:00Z` for milliseconds since the epoch (whole seconds; UTC).
    static func iso8601(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }
}
