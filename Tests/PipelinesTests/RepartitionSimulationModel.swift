import Foundation
import Sluice
import StreamCore
import LogStorage
import PipelineRuntime
@testable import pipeline

/// Counts orders per bucket (the order number modulo 5) from `orders` keyed by customer: the
/// count follows a change of key, so every order crosses a repartition topic.
struct OrderBucketCounts: PipelineDefinition {
    let name = "order-buckets"
    let summary = "orders per bucket, through a repartition topic"
    var body: Topology {
        Source("orders", value: .json(OrderCreated.self))
            .filter { _, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                return true
            }
            .key(by: { OrderBucketCounts.bucket(of: $0.orderID) })
            .groupByKey()
            .count(store: "bucket-counts")
            .mapValues { String($0) }
            .sink("bucket-counts", value: .string)
    }

    static func bucket(of orderID: String) -> String { "B\((Int(orderID.dropFirst(4)) ?? 0) % 5)" }
}

/// `order-buckets` under crashes: the repartition topic (read-committed) holds exactly one
/// record per good order of the committed input; each bucket's committed updates count exactly
/// 1…n where n is the number of the bucket's repartition records below the group's committed
/// offsets; the stores equal the last committed updates; the DLQ holds exactly the poison.
struct OrderBucketCountsModel: SimulationModel {
    var pipeline: any PipelineDefinition { OrderBucketCounts() }

    func order(index: Int, customer: String, random: inout SeededRandom) -> String {
        let value = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":1.00,"timestamp":"2025-06-11T12:00:00Z"}"#
        switch random.next() % 30 {
        case 0: return "{not json \(index)"
        case 1: return value.replacingOccurrences(of: #""customer_id":"\#(customer)","#, with: "")
        default: return value
        }
    }

    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String] {
        var problems: [String] = []
        var good: [String] = []
        var poison: Set<String> = []
        for (topicPartition, records) in committedInput {
            for record in records {
                if let order = try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value)), !order.customerID.isEmpty {
                    good.append(order.orderID)
                } else {
                    poison.insert("\(topicPartition.partition):\(record.offset)")
                }
            }
        }
        let repartitionTopic = pipeline.topology.internalTopics[0]
        let repartitioned = try readCommitted(repartitionTopic)
        let crossed = try repartitioned.map { try JSONDecoder().decode(OrderCreated.self, from: Data($0.value ?? [])).orderID }
        if crossed.sorted() != good.sorted() {
            problems.append("the repartition topic holds \(crossed.count) orders (\(Set(crossed).count) distinct), not the \(good.count) good committed ones")
        }
        var consumed: [String: Int64] = [:]
        for record in repartitioned {
            let committed = log.offsets.committed(group: pipeline.name, record.topicPartition)?.offset ?? Offset(0)
            if record.offset < committed { consumed[String(decoding: record.key ?? [], as: UTF8.self), default: 0] += 1 }
            if String(decoding: record.key ?? [], as: UTF8.self) != OrderBucketCounts.bucket(of: (try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value ?? [])).orderID) ?? "") {
                problems.append("repartition record \(record.offset) is keyed by the wrong bucket")
            }
        }
        var updates: [String: [Int64]] = [:]
        for record in try readCommitted("bucket-counts") {
            updates[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(Int64(String(decoding: record.value ?? [], as: UTF8.self)) ?? -1)
        }
        for bucket in Set(updates.keys).union(consumed.keys) {
            let count = consumed[bucket] ?? 0
            if updates[bucket] ?? [] != Array(stride(from: Int64(1), through: count, by: 1)) {
                problems.append("bucket \(bucket)'s committed updates \(updates[bucket] ?? []) are not 1…\(count)")
            }
        }
        var stored: [String: Int64] = [:]
        for entry in runner.committedEntries(of: "bucket-counts") {
            stored[String(decoding: entry.key, as: UTF8.self)] = entry.value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        if stored != consumed.filter({ $0.value > 0 }) { problems.append("stores \(stored) differ from the consumed counts \(consumed)") }
        let letters = try readCommitted("order-buckets.dlq").map { "\(header("dlq.source.partition", of: $0)):\(header("dlq.source.offset", of: $0))" }
        if letters.count != Set(letters).count || Set(letters) != poison {
            problems.append("dead letters \(letters.sorted()) are not exactly the poison records \(poison.sorted())")
        }
        return problems
    }
}
