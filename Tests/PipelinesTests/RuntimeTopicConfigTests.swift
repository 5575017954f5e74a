import Foundation
import Testing
import Sluice
import StreamCore
import LogStorage
import Transactions
import Simulation
import PipelineRuntime
import EngineTestSupport
@testable import pipeline

/// Writes the latest value per key to a compacted topic and an audit copy kept 90 days.
private struct DeclaredSinkTopics: PipelineDefinition {
    let name = "declared-sinks"
    let summary = "events → latest (compacted), audit (90 days)"
    var body: Topology {
        Source("events", value: .string).sink("latest", value: .string, topic: .compacted)
        Source("events", value: .string).sink("audit", value: .string, topic: SinkTopic(retention: .seconds(90 * 86_400)))
        Source("events", value: .string).sink("plain", value: .string)
    }
}

/// The configuration the runtime gives the topics it creates (issue 10.2): sinks and dead-letter
/// topics get delete cleanup and the topic defaults whatever the sources are; repartition topics
/// delete cleanup with no retention, purged below the pipeline's committed offsets.
@Suite("topics the runtime creates")
struct RuntimeTopicConfigTests {
    @Test("order-enrichment (a compacted table sorts first) gets delete-cleanup output and dead-letter topics with the defaults")
    func sinksDoNotInheritATableSource() throws {
        let engine = try TestEngine()
        var table = TopicConfig.compacted(partitionCount: 2)
        table.segmentBytesMax = 1 << 20
        table.batchBytesMax = 256 << 10
        try engine.log.createTopic(TopicName(rawValue: "customers")!, config: table)
        var stream = TopicConfig(partitionCount: 2, retentionMilliseconds: 3_600_000)
        stream.retentionBytes = 1 << 20
        try engine.log.createTopic(TopicName(rawValue: "orders")!, config: stream)
        _ = try PipelineRunner(pipeline: OrderEnrichment(), log: engine.log, coordinator: engine.coordinator)
        let defaults = TopicConfig(partitionCount: 2)
        for name in ["orders-enriched", "order-enrichment.dlq"] {
            let config = try engine.log.topic(TopicName(rawValue: name)!).config
            #expect(config.cleanupPolicy == .delete, "\(name)")
            #expect(config.retentionMilliseconds == defaults.retentionMilliseconds, "\(name)")
            #expect(config.retentionBytes == defaults.retentionBytes, "\(name)")
            #expect(config.partitionCount == 2, "\(name)")
        }
    }

    @Test("a sink's declared topic settings are what the runtime creates it with")
    func declaredSinkSettings() throws {
        let engine = try TestEngine()
        try engine.log.createTopic(TopicName(rawValue: "events")!, config: TopicConfig(partitionCount: 3, retentionMilliseconds: 60_000))
        #expect(DeclaredSinkTopics().topology.sinkTopicSettings == ["latest": .compacted, "audit": SinkTopic(retention: .seconds(90 * 86_400))])
        _ = try PipelineRunner(pipeline: DeclaredSinkTopics(), log: engine.log, coordinator: engine.coordinator)
        func config(_ name: String) throws -> TopicConfig { try engine.log.topic(TopicName(rawValue: name)!).config }
        #expect(try config("latest").cleanupPolicy == .compact && config("latest").retentionMilliseconds == -1)
        #expect(try config("audit").cleanupPolicy == .delete && config("audit").retentionMilliseconds == 90 * 86_400_000)
        #expect(try config("plain").cleanupPolicy == .delete && config("plain").retentionMilliseconds == TopicConfig(partitionCount: 1).retentionMilliseconds)
        #expect(try ["latest", "audit", "plain"].allSatisfy { try config($0).partitionCount == 3 })
    }

    @Test("a repartition topic has no retention and loses its consumed prefix, never an unconsumed record, after commits")
    func repartitionTopicIsPurgedBelowTheCommittedOffset() throws {
        let engine = try TestEngine()
        var short = TopicConfig(partitionCount: 2, retentionMilliseconds: 60_000)
        short.retentionBytes = 64 << 10
        let views = TopicName(rawValue: "views")!
        try engine.log.createTopic(views, config: short)
        let runner = try PipelineRunner(pipeline: PageViewCounts(), log: engine.log, coordinator: engine.coordinator, pollRecordsMax: 50)
        let repartition = TopicName(rawValue: PageViewCounts().topology.internalTopics[0])!
        let config = try engine.log.topic(repartition).config
        #expect(config.cleanupPolicy == .delete && config.retentionMilliseconds == -1 && config.retentionBytes == -1)

        var expected: [String: Int] = [:]
        var purged = false
        for round in 0..<6 {
            let producer = try engine.producer("input-\(round)")
            try producer.beginTransaction()
            for index in 0..<200 {
                let page = "/page/\((round * 200 + index) % 7)"
                expected[page, default: 0] += 1
                try producer.send(topic: views, key: Array("user-\(index % 13)".utf8),
                                  value: Array(#"{"user":"user-\#(index % 13)","page":"\#(page)"}"#.utf8))
            }
            try producer.commitTransaction()
            for _ in 0..<200 where !runner.isIdle {
                try runner.step()
                engine.clock.advance(byMilliseconds: 5_000)
                // Never below the log start: every unconsumed record of the repartition topic is still there.
                for partition in try engine.log.topic(repartition).partitions {
                    let committed = engine.log.offsets.committed(group: "page-view-counts", partition.topicPartition)?.offset ?? Offset(0)
                    #expect(partition.logStartOffset <= committed)
                    if partition.logStartOffset > Offset(0) { purged = true }
                }
            }
            #expect(runner.isIdle)
        }
        #expect(purged, "no repartition partition was purged")
        var counts: [String: Int] = [:]
        for entry in runner.committedEntries(of: "views-per-page") {
            counts[String(decoding: entry.key, as: UTF8.self)] = Int(try Serde<Int64>.int64.decode(entry.value))
        }
        #expect(counts == expected)
    }
}
