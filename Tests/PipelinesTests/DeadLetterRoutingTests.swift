import Foundation
import Testing
import Sluice
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import EngineTestSupport
@testable import pipeline

/// Decode failures and missing customers go to `orders.rejected`, negative amounts to
/// `orders.refused`; nothing to the default `routed.dlq`.
struct RoutedOrders: PipelineDefinition {
    let name = "routed"
    let summary = "dead letters to chosen topics"
    var body: Topology {
        Source("orders", value: OrderCreatedFastDecoding.serde)
            .deadLetters(to: "orders.rejected")
            .filter { _, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                return true
            }
            .deadLetters(to: "orders.refused")
            .mapValues { order in String(try order.amountInCents()) }
            .sink("cents", value: .string)
    }
}

@Suite("dead-letter topics per source and operator")
struct DeadLetterRoutingTests {
    static func order(_ id: Int, customer: String = "CUST-1", amount: String = "1.00") -> String {
        #"{"event_type":"OrderCreated","order_id":"ORD-\#(id)","customer_id":"\#(customer)","amount":\#(amount),"timestamp":"2025-06-11T12:00:00Z"}"#
    }

    @Test("in the test driver: the nearest deadLetters(to:) upstream of a failure chooses its topic; right after a source it takes decode failures")
    func routingInTheDriver() {
        let driver = PipelineTestDriver(RoutedOrders())
        driver.sendRaw(to: "orders", key: "CUST-1", value: "{not json")
        driver.sendRaw(to: "orders", key: "CUST-1", value: Self.order(1, customer: ""))
        driver.sendRaw(to: "orders", key: "CUST-1", value: Self.order(2, amount: "-1.00"))
        driver.sendRaw(to: "orders", key: "CUST-1", value: Self.order(3))
        #expect(driver.failures.map(\.deadLetterTopic) == ["orders.rejected", "orders.rejected", "orders.refused"])
        #expect(driver.failures.map(\.stage) == [.decode, .process, .process])
        #expect(driver.records(in: "cents").count == 1)
        #expect(RoutedOrders().topology.deadLetterTopics == ["orders.rejected", "orders.refused"])
    }

    @Test("in the runtime: dead letters land in their chosen topics, the dlq tools read them all, and a redrive takes each once")
    func routingInTheRuntime() throws {
        let engine = try TestEngine()
        let orders = try engine.createTopic("orders", partitions: 2)
        let producer = try engine.producer("input")
        try producer.beginTransaction()
        let values = ["{not json", Self.order(1, customer: ""), Self.order(2, amount: "-1.00"), Self.order(3), "[]", Self.order(4, amount: "-2.50")]
        for value in values { try producer.send(topic: orders, key: Array("CUST-1".utf8), value: Array(value.utf8)) }
        try producer.commitTransaction()
        let runner = try PipelineRunner(pipeline: RoutedOrders(), log: engine.log, coordinator: engine.coordinator)
        for _ in 0..<50 where !runner.isIdle { try runner.step() }
        #expect(runner.isIdle)

        #expect(try engine.values(TopicName(rawValue: "orders.rejected")!).count == 3)
        #expect(try engine.values(TopicName(rawValue: "orders.refused")!).count == 2)
        #expect(try engine.values(TopicName(rawValue: "routed.dlq")!).isEmpty)
        #expect(try engine.values(TopicName(rawValue: "cents")!) == ["100"])

        let otherTopics = RoutedOrders().topology.deadLetterTopics
        let report = try DeadLetterReport.make(log: engine.log, pipeline: "routed", otherTopics: otherTopics)
        #expect(report.total == 5)
        #expect(report.rows.first { $0.stage == "decode" }?.count == 2)

        let target = try engine.createTopic("fixed")
        var options = RedriveOptions(pipeline: "routed", target: target)
        options.otherTopics = otherTopics
        let first = try DeadLetterRedrive.run(log: engine.log, coordinator: engine.coordinator, options: options)
        #expect(first.redriven == 5)
        let again = try DeadLetterRedrive.run(log: engine.log, coordinator: engine.coordinator, options: options)
        #expect(again.redriven == 0 && again.alreadyRedriven == 5)
        #expect(try engine.values(target).sorted() == values.filter { $0 != Self.order(3) }.sorted())
    }
}
