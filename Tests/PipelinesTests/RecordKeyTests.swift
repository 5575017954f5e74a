import Foundation
import Testing
import Sluice
import StreamCore
@testable import pipeline

/// The shipped keyed pipelines aggregate by `customer_id`: a record whose key is missing or is not
/// its customer id is dead-lettered (`MissingKey`, `KeyMismatch`), never aggregated under the
/// empty key or under another customer (issue 18.7).
@Suite("record keys of the keyed pipelines")
struct RecordKeyTests {
    static func order(_ id: Int, _ customer: String, at time: String = "2025-06-11T12:00:05Z") -> String {
        #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":12.50,"timestamp":"\#(time)"}"#
    }

    /// Two keyless orders (CUST-1, CUST-2), one keyed by another customer, one good order.
    static func send(to driver: PipelineTestDriver) {
        driver.sendRaw(to: "orders", key: nil, bytes: Array(order(1, "CUST-1").utf8))
        driver.sendRaw(to: "orders", key: nil, bytes: Array(order(2, "CUST-2").utf8))
        driver.sendRaw(to: "orders", key: "CUST-9", value: order(3, "CUST-1"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(4, "CUST-1"))
    }

    static func expectRejected(_ driver: PipelineTestDriver, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(driver.failures.map(\.errorType) == ["MissingKey", "MissingKey", "KeyMismatch"], "\(driver.failures)", sourceLocation: sourceLocation)
        #expect(driver.failures.allSatisfy { $0.stage == .process }, sourceLocation: sourceLocation)
        #expect(driver.failures.last?.message.contains("CUST-9") == true, "\(driver.failures)", sourceLocation: sourceLocation)
    }

    @Test("order-totals counts only the order keyed by its customer", arguments: [1, 3])
    func orderTotals(partitions: Int) throws {
        let driver = PipelineTestDriver(OrderTotals(), partitions: partitions)
        Self.send(to: driver)
        Self.expectRejected(driver)
        let updates = try driver.readKeyed(from: "customer-totals", as: CustomerTotal.self)
        #expect(updates.map(\.key) == ["CUST-1"], "\(updates)")
        #expect(updates.last?.value == CustomerTotal(customerID: "CUST-1", orders: 1, totalCents: 1250))
    }

    @Test("orders-per-minute counts only the order keyed by its customer")
    func ordersPerMinute() throws {
        let driver = PipelineTestDriver(OrdersPerMinute(), partitions: 2)
        Self.send(to: driver)
        driver.sendRaw(to: "orders", key: "CUST-1", value: Self.order(5, "CUST-1", at: "2025-06-11T12:05:00Z"))
        Self.expectRejected(driver)
        let windows = try driver.readKeyed(from: "orders-per-minute", as: CustomerMinute.self)
        #expect(windows.map(\.key) == ["CUST-1"], "\(windows)")
        #expect(windows.first?.value.orders == 1, "\(windows)")
    }

    @Test("order-enrichment enriches only the order keyed by its customer")
    func orderEnrichment() throws {
        let driver = PipelineTestDriver(OrderEnrichment(), partitions: 2)
        driver.sendRaw(to: "customers", key: "CUST-1", value: #"{"customer_id":"CUST-1","tier":"gold"}"#)
        Self.send(to: driver)
        Self.expectRejected(driver)
        let enriched = try driver.readKeyed(from: "orders-enriched", as: EnrichedOrder.self)
        #expect(enriched.map(\.value.orderID) == ["ORD-4"], "\(enriched.map(\.value))")
        #expect(enriched.first?.value.tier == "gold")
    }
}
