import Foundation
import Testing
import EngineTestSupport
import Sluice
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import Simulation
@testable import pipeline

/// A pipeline shape and its input, for replaying it on the simulated disk.
struct ReplayShape: Sendable, CustomTestStringConvertible {
    var pipeline: any PipelineDefinition
    /// Topics created before the run (name, partitions).
    var topics: [(name: String, partitions: Int)]
    /// The input, in produce order: topic, key, value.
    var records: [(topic: String, key: String?, value: String)]

    var testDescription: String { pipeline.name }

    static let partitions = 3

    /// Orders of nine customers, every seventh one poison (no customer), with event times a few
    /// seconds apart.
    static func orders(_ count: Int) -> [(topic: String, key: String?, value: String)] {
        (0..<count).map { index in
            let customer = index % 7 == 6 ? "" : "CUST-\(index % 9)"
            let cents = 100 + index * 37 % 5000
            let stamp = EventTime.iso8601(milliseconds: 1_749_643_200_000 + Int64(index) * 4_000)
            let value = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":\#(cents / 100).\#(cents % 100 < 10 ? "0" : "")\#(cents % 100),"timestamp":"\#(stamp)"}"#
            return ("orders", customer.isEmpty ? "CUST-0" : customer, value)
        }
    }

    /// Every shipped pipeline, plus a re-keying count (`key(by:)` + `groupByKey`, through a
    /// repartition topic) and a stream–stream join.
    static let all: [ReplayShape] = [
        ReplayShape(pipeline: OrderTotals(), topics: [("orders", partitions)], records: orders(120)),
        ReplayShape(pipeline: PaymentService(), topics: [("orders", partitions)], records: orders(60)),
        ReplayShape(pipeline: OrdersPerMinute(), topics: [("orders", partitions)], records: orders(120)),
        ReplayShape(pipeline: OrderEnrichment(), topics: [("orders", partitions), ("customers", partitions)],
                    records: (0..<9).map { ("customers", "CUST-\($0)", #"{"customer_id":"CUST-\#($0)","tier":"\#(["gold", "silver", "bronze"][$0 % 3])"}"#) }
                        + orders(90)),
        ReplayShape(pipeline: OrderBucketCounts(), topics: [("orders", partitions)], records: orders(120)),
        ReplayShape(pipeline: ClickViewJoin(), topics: [("clicks", partitions), ("views", partitions)],
                    records: (0..<80).map { index in
                        (index % 2 == 0 ? "clicks" : "views", "user-\(index % 5)", "\(index % 2 == 0 ? "click" : "view")-\(index)")
                    }),
    ]
}

/// An engine on the simulated disk running one pipeline shape.
final class ReplayBench {
    let shape: ReplayShape
    let engine: TestEngine

    init(_ shape: ReplayShape, seed: UInt64 = 1) throws {
        self.shape = shape
        engine = try TestEngine(seed: seed)
        for topic in shape.topics {
            try engine.log.createTopic(TopicName(rawValue: topic.name)!, config: TopicConfig(partitionCount: topic.partitions))
        }
    }

    /// Produces `records` with record timestamps 1 s apart from the engine's clock.
    func produce(_ records: [(topic: String, key: String?, value: String)]) throws {
        var config = ProducerConfig()
        config.lingerMilliseconds = 0
        let producer = LogProducer(log: engine.log, config: config)
        let start = engine.clock.now().rawValue
        for (index, record) in records.enumerated() {
            try producer.send(topic: TopicName(rawValue: record.topic)!, key: record.key.map { Array($0.utf8) }, value: Array(record.value.utf8),
                              timestamp: Timestamp(milliseconds: start + Int64(index) * 1_000))
        }
        try producer.close()
        engine.clock.advance(byMilliseconds: Int64(records.count) * 1_000)
    }

    /// Runs the pipeline until it is idle and returns its stores' committed contents.
    @discardableResult
    func runUntilIdle() throws -> [String: [String]] {
        let runner = try PipelineRunner(pipeline: shape.pipeline, log: engine.log, coordinator: engine.coordinator, pollRecordsMax: 7)
        try runner.run(untilIdle: true)
        var stores: [String: [String]] = [:]
        for store in shape.pipeline.topology.storeNames {
            stores[store] = runner.committedEntries(of: store).map { "\($0.key)=\($0.value)" }.sorted()
        }
        return stores
    }

    func plan(_ start: ReplayStart) throws -> ReplayPlan {
        try PipelineReplay.plan(pipeline: shape.pipeline, start: start, log: engine.log, coordinator: engine.coordinator)
    }

    func replay(_ start: ReplayStart) throws {
        _ = try PipelineReplay.execute(plan(start), log: engine.log, coordinator: engine.coordinator)
    }

    /// The committed records of every sink topic, per topic and key, values in offset order.
    func committedOutput() throws -> [String: [String: [String]]] {
        var output: [String: [String: [String]]] = [:]
        let internalTopics = Set(shape.pipeline.topology.internalTopics)
        for topic in shape.pipeline.topology.sinkTopics where !internalTopics.contains(topic) {
            var config = ConsumerConfig()
            config.isolation = .readCommitted
            config.autoOffsetReset = .earliest
            let consumer = LogConsumer(log: engine.log, config: config)
            try consumer.assign(try engine.log.topic(named: topic).partitions.map(\.topicPartition))
            while true {
                let records = try consumer.poll(maxRecords: 10_000)
                if records.isEmpty { break }
                for record in records {
                    let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "(none)"
                    output[topic, default: [:]][key, default: []].append(record.value.map { String(decoding: $0, as: UTF8.self) } ?? "(null)")
                }
            }
        }
        return output
    }

    func committedOffsets() -> [TopicPartition: Offset] {
        var offsets: [TopicPartition: Offset] = [:]
        let group = shape.pipeline.configuration.consumerGroup ?? shape.pipeline.name
        for name in shape.pipeline.topology.sourceTopics {
            guard let topic = try? engine.log.topic(named: name) else { continue }
            for partition in (try? topic.partitions) ?? [] {
                offsets[partition.topicPartition] = engine.log.offsets.committed(group: group, partition.topicPartition)?.offset
            }
        }
        return offsets
    }
}

/// `pipeline replay` of every pipeline shape on the simulated disk: a replay from earliest and
/// a rerun leave exactly the state of a fresh run and emit exactly a fresh run's output again;
/// a replay that would rewind nothing, or reset state some unrewound partition built, is refused
/// and changes nothing.
@Suite("pipeline replay, every shape")
struct ReplayTests {
    @Test("replay from earliest, then a rerun: the stores equal a fresh run's, the rerun's output equals a fresh run's",
          arguments: ReplayShape.all)
    func replayFromEarliestEqualsFreshRun(shape: ReplayShape) throws {
        let fresh = try ReplayBench(shape)
        try fresh.produce(shape.records)
        let freshStores = try fresh.runUntilIdle()
        let freshOutput = try fresh.committedOutput()
        #expect(!freshOutput.isEmpty, "the fresh run emitted nothing")

        let replayed = try ReplayBench(shape)
        try replayed.produce(shape.records)
        let firstStores = try replayed.runUntilIdle()
        #expect(firstStores == freshStores)
        let firstOutput = try replayed.committedOutput()
        try replayed.replay(.earliest)
        let rerunStores = try replayed.runUntilIdle()
        #expect(rerunStores == freshStores, "stores after replay + rerun differ from a fresh run's")
        // The rerun appended its output after the first run's: per key, the first run's values
        // then the rerun's, each equal to a fresh run's.
        let output = try replayed.committedOutput()
        for (topic, keys) in freshOutput {
            for (key, values) in keys {
                let all = output[topic]?[key] ?? []
                let first = firstOutput[topic]?[key] ?? []
                #expect(Array(all.prefix(first.count)) == first, "\(topic) \(key): the first run's output changed")
                #expect(Array(all.dropFirst(first.count)) == values, "\(topic) \(key): rerun emitted \(all.dropFirst(first.count)), a fresh run \(values)")
            }
        }
        let outputCount: Int = output.values.map { $0.values.map(\.count).reduce(0, +) }.reduce(0, +)
        let freshCount: Int = freshOutput.values.map { $0.values.map(\.count).reduce(0, +) }.reduce(0, +)
        #expect(outputCount == 2 * freshCount)
    }

    @Test("a replay that rewinds no partition is refused and leaves offsets, changelog and state as they were",
          arguments: [ReplayStart.offset(Offset(99_999_999_999)), .timestamp(Timestamp(milliseconds: 4_102_444_800_000))])
    func replayThatRewindsNothing(start: ReplayStart) throws {
        let bench = try ReplayBench(ReplayShape.all[0])
        try bench.produce(ReplayShape.orders(60))
        let before = try bench.runUntilIdle()
        let offsets = bench.committedOffsets()
        #expect(throws: ReplayRefusal.self) { try bench.replay(start) }
        do {
            _ = try bench.plan(start)
        } catch let refusal as ReplayRefusal {
            #expect(refusal.code == .rewindsNothing)
            #expect(refusal.description.contains("would rewind no partition"), "\(refusal)")
        }
        #expect(bench.committedOffsets() == offsets)
        #expect(bench.engine.log.hasTopic(TopicName(rawValue: "order-totals-customer-totals-changelog")!))
        #expect(!bench.engine.log.storage.exists(PipelineReplay.markerPath(log: bench.engine.log, pipeline: "order-totals")))
        // The next run resumes with the whole state: nothing restarted from zero.
        try bench.produce(ReplayShape.orders(1))
        let after = try bench.runUntilIdle()
        let customer0Before = before["customer-totals"]?.count ?? 0
        #expect(after["customer-totals"]?.count == customer0Before)
        let good = (ReplayShape.orders(60) + ReplayShape.orders(1)).filter { $0.key == "CUST-0" && $0.value.contains(#""customer_id":"CUST-0""#) }.count
        let total = try bench.committedOutput()["customer-totals"]?["CUST-0"]?.last ?? ""
        #expect(total.contains("\"orders\":\(good)"), "CUST-0's total after the refused replay: \(total), expected \(good) orders")
    }

    @Test("a replay never moves a partition forward; one that would reset state an unrewound partition built is refused")
    func partialRewinds() throws {
        // Partition of CUST-1 gets only early orders; the later ones go to other customers.
        let early = ReplayShape.orders(30)
        let bench = try ReplayBench(ReplayShape.all[0])
        try bench.produce(early)
        try bench.runUntilIdle()
        let middle = bench.engine.clock.now()
        let lateCustomers = early.filter { $0.key == "CUST-3" }.map { (topic: $0.topic, key: $0.key, value: $0.value) }
        try bench.produce(lateCustomers)
        try bench.runUntilIdle()
        let offsets = bench.committedOffsets()
        let plan = try? bench.plan(.timestamp(middle))
        #expect(plan == nil, "a rewind of only CUST-3's partition would empty every partition's totals")
        do {
            _ = try bench.plan(.timestamp(middle))
        } catch let refusal as ReplayRefusal {
            #expect(refusal.code == .stateNotRebuilt)
            #expect(refusal.description.contains("--from earliest"), "\(refusal)")
        }
        #expect(bench.committedOffsets() == offsets)

        // A stateless pipeline rewinds what the time names and leaves the rest where it is.
        let payments = ReplayShape(pipeline: PaymentService(), topics: [("orders", ReplayShape.partitions)], records: [])
        let stateless = try ReplayBench(payments)
        try stateless.produce(early)
        try stateless.runUntilIdle()
        let middle2 = stateless.engine.clock.now()
        try stateless.produce(lateCustomers)
        try stateless.runUntilIdle()
        let before = stateless.committedOffsets()
        let partialPlan = try stateless.plan(.timestamp(middle2))
        #expect(partialPlan.partitions.filter(\.isRewound).count == 1, "\(partialPlan.partitions)")
        for partition in partialPlan.partitions where !partition.isRewound {
            #expect(partition.rewound == before[partition.topicPartition], "\(partition)")
        }
        // An offset past a lagging partition's committed offset does not skip its input.
        let forward = try stateless.plan(.offset(Offset(5)))
        for partition in forward.partitions { #expect(partition.rewound <= (before[partition.topicPartition] ?? Offset(0))) }
    }
}
