import Foundation
import Testing
import Sluice
@testable import pipeline

@Suite("order-enrichment, in the test driver")
struct OrderEnrichmentTests {
    func order(_ id: Int, _ customer: String, _ amount: String = "12.50") -> String {
        #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
    }

    func customer(_ id: String, _ tier: String) -> String { #"{"customer_id":"\#(id)","tier":"\#(tier)"}"# }

    func tiers(_ driver: PipelineTestDriver) throws -> [String: [String?]] {
        var result: [String: [String?]] = [:]
        for (key, value) in try driver.readKeyed(from: "orders-enriched", as: EnrichedOrder.self) {
            #expect(key == value.customerID)
            result[value.orderID, default: []].append(value.tier)
        }
        return result
    }

    @Test("each order gets its customer's tier as of the order; unknown customers get null", arguments: [1, 4])
    func enrichesWithTheTierAsOfTheOrder(partitions: Int) throws {
        let driver = PipelineTestDriver(OrderEnrichment(), partitions: partitions)
        driver.sendRaw(to: "customers", key: "CUST-1", value: customer("CUST-1", "gold"))
        driver.sendRaw(to: "customers", key: "CUST-2", value: customer("CUST-2", "silver"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(1, "CUST-1"))
        driver.sendRaw(to: "orders", key: "CUST-2", value: order(2, "CUST-2"))
        driver.sendRaw(to: "orders", key: "CUST-3", value: order(3, "CUST-3"))
        driver.sendRaw(to: "customers", key: "CUST-1", value: customer("CUST-1", "platinum"))
        driver.sendTombstone(to: "customers", key: "CUST-2")
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(4, "CUST-1"))
        driver.sendRaw(to: "orders", key: "CUST-2", value: order(5, "CUST-2"))
        #expect(driver.failures.isEmpty)
        #expect(try tiers(driver) == ["ORD-1": ["gold"], "ORD-2": ["silver"], "ORD-3": [nil], "ORD-4": ["platinum"], "ORD-5": [nil]])
        #expect(driver.store("customers").count == 1, "the tombstone deleted CUST-2")
    }

    @Test("the output is the order with its tier, byte for byte")
    func outputFormat() throws {
        let driver = PipelineTestDriver(OrderEnrichment())
        driver.sendRaw(to: "customers", key: "CUST-4567", value: customer("CUST-4567", "gold"))
        driver.sendRaw(to: "orders", key: "CUST-4567", value: order(1234, "CUST-4567"))
        driver.sendRaw(to: "orders", key: "CUST-9", value: order(9, "CUST-9", "0.10"))
        let values = driver.records(in: "orders-enriched").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(values == [
            #"{"amount":12.5,"customer_id":"CUST-4567","event_type":"OrderEnriched","order_id":"ORD-1234","tier":"gold","timestamp":"2025-06-11T12:00:00Z"}"#,
            #"{"amount":0.1,"customer_id":"CUST-9","event_type":"OrderEnriched","order_id":"ORD-9","tier":null,"timestamp":"2025-06-11T12:00:00Z"}"#,
        ])
        #expect(driver.records(in: "orders-enriched").first?.key == Array("CUST-4567".utf8))
    }

    @Test("poison orders and customers are refused with their stage; the table keeps its value")
    func poison() throws {
        let driver = PipelineTestDriver(OrderEnrichment())
        driver.sendRaw(to: "customers", key: "CUST-1", value: customer("CUST-1", "gold"))
        driver.sendRaw(to: "customers", key: "CUST-1", value: #"{"customer_id":"CUST-1"}"#)
        driver.sendRaw(to: "orders", key: "CUST-1", value: "{not json")
        driver.sendRaw(to: "orders", key: "CUST-1", value: #"{"event_type":"OrderCreated","order_id":"ORD-2","amount":1.00,"timestamp":"2025-06-11T12:00:00Z"}"#)
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(3, "CUST-1", "-1.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: order(4, "CUST-1"))
        #expect(driver.failures.map(\.stage) == [.decode, .decode, .process, .process])
        #expect(driver.failures.map { $0.source?.topic } == ["customers", "orders", "orders", "orders"])
        #expect(try tiers(driver) == ["ORD-4": ["gold"]])
    }

    @Test("it reads customers as a table and orders as a stream; tables are listed first")
    func topology() {
        let topology = OrderEnrichment().topology
        #expect(topology.sourceTopics == ["customers", "orders"])
        #expect(topology.sinkTopics == ["orders-enriched"])
        #expect(topology.storeNames == ["customers"])
        #expect(topology.internalTopics.isEmpty)
    }
}
