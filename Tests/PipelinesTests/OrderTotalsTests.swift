import Foundation
import Testing
import Sluice
import StreamCore
@testable import pipeline

@Suite("order-totals, in the test driver")
struct OrderTotalsTests {
    func order(_ id: Int, _ customer: String, _ amount: String) -> String {
        #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
    }

    @Test("every update carries the customer's running count and exact total", arguments: [1, 4])
    func runningTotals(partitions: Int) throws {
        let driver = PipelineTestDriver(OrderTotals(), partitions: partitions)
        driver.sendRaw(to: "orders", key: "CUST-4567", value: order(1, "CUST-4567", "12.50"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(2, "CUST-1", "0.10"))
        driver.sendRaw(to: "orders", key: "CUST-4567", value: order(3, "CUST-4567", "12.50"))
        driver.sendRaw(to: "orders", key: "CUST-4567", value: order(4, "CUST-4567", "12.50"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(5, "CUST-1", "0.20"))
        #expect(driver.failures.isEmpty)
        let updates = try driver.readKeyed(from: "customer-totals", as: CustomerTotal.self)
        let last = Dictionary(updates.map { ($0.key, $0.value) }, uniquingKeysWith: { _, new in new })
        #expect(last["CUST-4567"] == CustomerTotal(customerID: "CUST-4567", orders: 3, totalCents: 3750))
        #expect(last["CUST-1"] == CustomerTotal(customerID: "CUST-1", orders: 2, totalCents: 30), "0.10 + 0.20 is exactly 30 cents")
        #expect(updates.filter { $0.key == "CUST-4567" }.map(\.value.orders) == [1, 2, 3])
    }

    @Test("the output is the contract's JSON, byte for byte")
    func outputFormat() throws {
        let driver = PipelineTestDriver(OrderTotals())
        for id in 0..<3 { driver.sendRaw(to: "orders", key: "CUST-4567", value: order(id, "CUST-4567", "12.50")) }
        let last = try #require(driver.records(in: "customer-totals").last)
        #expect(String(decoding: last.value ?? [], as: UTF8.self) == #"{"customer_id":"CUST-4567","orders":3,"total_cents":3750}"#)
        #expect(last.key == Array("CUST-4567".utf8))
    }

    @Test("totals stay exact over many random amounts (seeded)")
    func exactSums() throws {
        var random = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0..<UInt64.max, using: &random)
        var generator = SeededRandom(seed: seed)
        let driver = PipelineTestDriver(OrderTotals(), partitions: 3)
        var expected: [String: (Int64, Int64)] = [:]
        for id in 0..<500 {
            let customer = "CUST-\(generator.next() % 20)"
            let cents = Int64(generator.next() % 100_000)
            driver.sendRaw(to: "orders", key: customer, value: order(id, customer, "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"))
            expected[customer, default: (0, 0)].0 += 1
            expected[customer, default: (0, 0)].1 += cents
        }
        let last = Dictionary(try driver.readKeyed(from: "customer-totals", as: CustomerTotal.self).map { ($0.key, $0.value) }, uniquingKeysWith: { _, new in new })
        for (customer, (count, cents)) in expected {
            #expect(last[customer] == CustomerTotal(customerID: customer, orders: count, totalCents: cents), "seed \(seed)")
        }
    }

    @Test("bad orders are refused with their stage and never counted")
    func badOrders() throws {
        let driver = PipelineTestDriver(OrderTotals())
        driver.sendRaw(to: "orders", key: "CUST-1", value: "{not json")
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(1, "CUST-1", "-5.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(2, "", "5.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(3, "CUST-1", "1.005"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(4, "CUST-1", "5.00"))
        #expect(driver.failures.map(\.stage) == [.decode, .process, .process, .process])
        #expect(driver.failures.allSatisfy { $0.source?.topic == "orders" })
        let totals = try driver.read(from: "customer-totals", as: CustomerTotal.self)
        #expect(totals == [CustomerTotal(customerID: "CUST-1", orders: 1, totalCents: 500)])
    }

    @Test("an order that would overflow the customer's 64-bit total is refused at the process stage; the total stays and later orders add")
    func overflowingAmount() throws {
        let driver = PipelineTestDriver(OrderTotals())
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(1, "CUST-1", "50000000000000000.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(2, "CUST-1", "50000000000000000.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(3, "CUST-1", "0.01"))
        #expect(driver.failures.map(\.stage) == [.process])
        #expect(driver.failures.first?.errorType == "OrderRejected")
        #expect(driver.failures.first?.source?.offset == 1)
        let totals = try driver.read(from: "customer-totals", as: CustomerTotal.self)
        #expect(totals == [CustomerTotal(customerID: "CUST-1", orders: 1, totalCents: 5_000_000_000_000_000_000),
                           CustomerTotal(customerID: "CUST-1", orders: 2, totalCents: 5_000_000_000_000_000_001)])
    }
}

@Suite("order-totals-codable, the same pipeline through the default JSON serde")
struct OrderTotalsCodableTests {
    @Test("it writes order-totals' records byte for byte, on seeded orders of every shape")
    func sameRecordsAsOrderTotals() throws {
        var random = SeededRandom(seed: 14)
        let handWritten = PipelineTestDriver(OrderTotals(), partitions: 3)
        let codable = PipelineTestDriver(OrderTotalsCodable(), partitions: 3)
        for id in 0..<600 {
            let customer = ["CUST-\(random.next() % 25)", "CUST-\\u00e9", "CUST-ü"][Int(random.next() % 10 == 0 ? random.next() % 3 : 0)]
            let cents = Int64(random.next() % 100_000)
            let amount = ["\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)", "\(cents / 100)", "1e2", "-3.25", "0.001", "\"12\""][Int(random.next() % 12 < 7 ? 0 : random.next() % 6)]
            var line = #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
            if random.next() % 10 == 0 { line = line.replacingOccurrences(of: ",", with: " , ") }
            let key = customer.replacingOccurrences(of: "\\u00e9", with: "é")
            handWritten.sendRaw(to: "orders", key: key, value: line)
            codable.sendRaw(to: "orders", key: key, value: line)
        }
        let expected = handWritten.records(in: "customer-totals")
        let actual = codable.records(in: "customer-totals-codable")
        #expect(expected.count > 400)
        #expect(actual.map(\.key) == expected.map(\.key))
        #expect(actual.map(\.value) == expected.map(\.value))
        #expect(codable.failures.count == handWritten.failures.count)
        #expect(codable.failures.map(\.stage) == handWritten.failures.map(\.stage))
    }
}
