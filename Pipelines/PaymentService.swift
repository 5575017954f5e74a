import Foundation
import Sluice

/// What `payment-service` decides for an order: `PaymentAuthorized` or `PaymentRejected`.
struct PaymentDecision: Codable, Sendable, Equatable {
    var eventType: String
    var orderID: String
    var customerID: String
    var amount: Decimal
    var reason: String

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type"
        case orderID = "order_id"
        case customerID = "customer_id"
        case amount
        case reason
    }
}

/// `payment-service` (consumer group `payment-service`): authorizes every order of at most
/// 1000.00 and rejects the others, emitting the decision to `payments` keyed by order id.
struct PaymentService: PipelineDefinition {
    let name = "payment-service"
    let summary = "orders → payments: PaymentAuthorized up to 1000.00, PaymentRejected above"
    static let limit = Decimal(1000)

    var configuration: PipelineConfiguration { PipelineConfiguration(consumerGroup: "payment-service") }

    var body: Topology {
        Source("orders", value: .json(OrderCreated.self))
            .map { _, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                _ = try order.amountInCents()
                return (order.orderID, PaymentService.decide(order))
            }
            .sink("payments", value: .json(PaymentDecision.self))
    }

    static func decide(_ order: OrderCreated) -> PaymentDecision {
        let authorized = order.amount <= limit
        return PaymentDecision(
            eventType: authorized ? "PaymentAuthorized" : "PaymentRejected", orderID: order.orderID,
            customerID: order.customerID, amount: order.amount,
            reason: authorized ? "amount within the 1000.00 limit" : "amount \(order.amount) exceeds the 1000.00 limit")
    }
}
