import Foundation
import Testing
import Sluice
@testable import pipeline

@Suite("payment-service, in the test driver")
struct PaymentServiceTests {
    func order(_ id: String, _ amount: String, customer: String = "CUST-1") -> String {
        #"{"event_type":"OrderCreated","order_id":"\#(id)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
    }

    @Test("orders up to 1000.00 are authorized, larger ones rejected, keyed by order id")
    func decisions() throws {
        let driver = PipelineTestDriver(PaymentService(), partitions: 2)
        driver.sendRaw(to: "orders", key: "CUST-1", value: order("ORD-1", "999.99"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order("ORD-2", "1000.00"))
        driver.sendRaw(to: "orders", key: "CUST-2", value: order("ORD-3", "1000.01", customer: "CUST-2"))
        #expect(driver.failures.isEmpty)
        let payments = try driver.readKeyed(from: "payments", as: PaymentDecision.self).sorted { $0.key < $1.key }
        #expect(payments.map(\.key) == ["ORD-1", "ORD-2", "ORD-3"])
        #expect(payments.map(\.value.eventType) == ["PaymentAuthorized", "PaymentAuthorized", "PaymentRejected"])
        #expect(payments[2].value.customerID == "CUST-2")
        #expect(payments[2].value.amount == Decimal(string: "1000.01"))
        #expect(payments[2].value.reason.contains("exceeds"))
    }

    @Test("it reads as the consumer group payment-service")
    func consumerGroup() {
        #expect(PaymentService().configuration.consumerGroup == "payment-service")
        #expect(PaymentService().body.sourceTopics == ["orders"])
        #expect(PaymentService().body.sinkTopics == ["payments"])
    }

    @Test("malformed orders are refused, not decided")
    func badOrders() throws {
        let driver = PipelineTestDriver(PaymentService())
        driver.sendRaw(to: "orders", key: "CUST-1", value: "garbage")
        driver.sendRaw(to: "orders", key: "CUST-1", value: order("ORD-9", "\"12\""))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order("ORD-8", "-1"))
        #expect(driver.failures.count == 3)
        #expect(driver.records(in: "payments").isEmpty)
    }
}
