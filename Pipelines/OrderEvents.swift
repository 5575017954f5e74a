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

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type"
        case orderID = "order_id"
        case customerID = "customer_id"
        case amount
        case timestamp
    }

    /// The amount in cents, exactly.
    /// - Throws: ``OrderRejected`` for a negative amount or one with more than two decimal places.
    func amountInCents() throws -> Int64 {
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

    var description: String {
        switch self {
        case .negativeAmount(let amount): return "negative amount \(amount)"
        case .tooManyDecimals(let amount): return "amount \(amount) has more than two decimal places"
        case .missingCustomer: return "the order has no customer_id"
        }
    }
}
