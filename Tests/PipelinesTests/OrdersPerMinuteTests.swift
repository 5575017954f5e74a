import Foundation
import Testing
import Sluice
@testable import pipeline

@Suite("orders-per-minute, in the test driver")
struct OrdersPerMinuteTests {
    func order(_ id: Int, _ customer: String, at time: String) -> String {
        #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":1.00,"timestamp":"\#(time)"}"#
    }

    @Test("a window is emitted once, final, after the watermark passes its end plus grace")
    func finalCounts() throws {
        let driver = PipelineTestDriver(OrdersPerMinute())
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(1, "CUST-1", at: "2025-06-11T12:00:05Z"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(2, "CUST-1", at: "2025-06-11T12:00:59Z"))
        driver.sendRaw(to: "orders", key: "CUST-2", value: order(3, "CUST-2", at: "2025-06-11T12:00:30Z"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(4, "CUST-1", at: "2025-06-11T12:01:05Z"))
        #expect(driver.records(in: "orders-per-minute").isEmpty, "12:01:05 is within the 10 s grace of the 12:00 window")
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(5, "CUST-1", at: "2025-06-11T12:00:50Z"))
        driver.sendRaw(to: "orders", key: "CUST-2", value: order(6, "CUST-2", at: "2025-06-11T12:01:10Z"))
        let emitted = try driver.read(from: "orders-per-minute", as: CustomerMinute.self)
        #expect(emitted == [
            CustomerMinute(customerID: "CUST-1", windowStart: "2025-06-11T12:00:00Z", windowEnd: "2025-06-11T12:01:00Z", orders: 3),
            CustomerMinute(customerID: "CUST-2", windowStart: "2025-06-11T12:00:00Z", windowEnd: "2025-06-11T12:01:00Z", orders: 1),
        ])
        #expect(driver.failures.isEmpty)
        // A record for the closed window is late: refused, not counted, not silently dropped.
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(7, "CUST-1", at: "2025-06-11T12:00:10Z"))
        #expect(driver.failures.count == 1)
        #expect(driver.failures.first?.errorType == "LateRecord")
        driver.sendRaw(to: "orders", key: "CUST-3", value: order(8, "CUST-3", at: "2025-06-11T12:03:00Z"))
        let later = try driver.read(from: "orders-per-minute", as: CustomerMinute.self)
        #expect(later.count == 4, "the 12:01 windows of CUST-1 and CUST-2 close when the watermark reaches 12:03:00")
        #expect(later.dropFirst(2).allSatisfy { $0.windowStart == "2025-06-11T12:01:00Z" })
        #expect(later.filter { $0.customerID == "CUST-1" && $0.windowStart == "2025-06-11T12:00:00Z" }.count == 1, "emitted once")
    }

    @Test("event times parse exactly", arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)), ("2025-06-11T12:00:00Z", Int64(1_749_643_200_000)),
        ("2025-06-11T12:00:00.250Z", Int64(1_749_643_200_250)), ("2025-06-11T14:00:00+02:00", Int64(1_749_643_200_000)),
        ("2024-02-29T23:59:59Z", Int64(1_709_251_199_000)),
    ])
    func eventTimes(text: String, milliseconds: Int64) {
        #expect(EventTime.milliseconds(iso8601: text) == milliseconds)
        if milliseconds % 1000 == 0 && !text.contains("+") { #expect(EventTime.iso8601(milliseconds: milliseconds) == text) }
    }

    @Test("bad timestamps are refused", arguments: ["", "2025-06-11", "2025-13-01T00:00:00Z", "2025-06-11T12:00:00", "2025-06-11T12:00:00Zjunk", "yesterday"])
    func badTimestamps(text: String) {
        #expect(EventTime.milliseconds(iso8601: text) == nil)
    }
}
