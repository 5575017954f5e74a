import Testing
import EngineTestSupport
import CoreMetrics
import Prometheus
import StreamCore
import LogStorage
import MetricsExport

@Suite("Prometheus export: help texts, histograms, lag gauges")
struct PrometheusExportTests {
    @Test("families recorded through the factory have HELP and TYPE lines and their values")
    func helpAndType() {
        let registry = PrometheusCollectorRegistry()
        let factory = SluiceMetricsFactory(registry: registry)
        let counter = factory.makeCounter(label: "sluice_records_in_total", dimensions: [("pipeline", "p"), ("topic", "orders"), ("partition", "0")])
        counter.increment(by: 10_000)
        let timer = factory.makeTimer(label: "sluice_commit_latency_seconds", dimensions: [("pipeline", "p")])
        timer.recordNanoseconds(3_000_000)
        timer.recordNanoseconds(20_000_000_000)
        let text = registry.emitToString()
        #expect(text.contains("# HELP sluice_records_in_total Input records whose processing committed"))
        #expect(text.contains("# TYPE sluice_records_in_total counter"))
        #expect(text.contains(#"sluice_records_in_total{pipeline="p",topic="orders",partition="0"} 10000"#))
        #expect(text.contains("# TYPE sluice_commit_latency_seconds histogram"))
        #expect(text.contains(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="0.005"} 1"#))
        #expect(text.contains(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="30.0"} 2"#)
                || text.contains(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="30"} 2"#))
        #expect(text.contains(#"sluice_commit_latency_seconds_count{pipeline="p"} 2"#))
    }

    @Test("a family the catalog does not name still gets a HELP line")
    func unknownFamily() {
        let registry = PrometheusCollectorRegistry()
        SluiceMetricsFactory(registry: registry).makeCounter(label: "sluice_something_total", dimensions: []).increment(by: 1)
        #expect(registry.emitToString().contains("# HELP sluice_something_total "))
    }

    @Test("lag gauges follow the groups: set on each render, gone when the group's offsets are")
    func lagGauges() throws {
        let engine = try TestEngine()
        let topic = try engine.createTopic("orders")
        let orders = TopicPartition(topic, PartitionID(0))
        let plain = LogProducer(log: engine.log)
        for index in 0..<7 { try plain.send(topic: topic, key: nil, value: [UInt8]("o\(index)"), partition: PartitionID(0)) }
        try plain.flush()
        try engine.log.offsets.commit(group: "billing", offsets: [orders: CommittedOffset(offset: Offset(2))])
        let export = PrometheusExport(log: engine.log)
        let first = try export.render()
        #expect(first.contains("# TYPE sluice_consumer_lag_records gauge"))
        #expect(first.contains(#"sluice_consumer_lag_records{group="billing",topic="orders",partition="0"} 5"#))
        try engine.log.offsets.commit(group: "billing", offsets: [orders: CommittedOffset(offset: Offset(7))])
        #expect(try export.render().contains(#"sluice_consumer_lag_records{group="billing",topic="orders",partition="0"} 0"#))
        try engine.log.offsets.deleteGroup("billing")
        #expect(!(try export.render()).contains(#"group="billing""#))
    }
}
