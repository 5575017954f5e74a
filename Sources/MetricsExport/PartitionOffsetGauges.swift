package import LogStorage
package import Prometheus
import NIOConcurrencyHelpers
import StreamCore

/// `sluice_log_end_offset{topic,partition}` and `sluice_last_stable_offset{topic,partition}` for
/// every partition of the served data directory's topics (internal ones included), read from the
/// log on each scrape. Gauges of deleted topics are unregistered.
///
/// Thread-safety: `update` may be called from any thread; calls are serialized.
package final class PartitionOffsetGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let log: LogManager
    private let gauges = NIOLockedValueBox([TopicPartition: (end: Gauge, stable: Gauge)]())

    package init(registry: PrometheusCollectorRegistry, log: LogManager) {
        self.registry = registry
        self.log = log
    }

    /// Sets every partition's offsets now.
    package func update() {
        var offsets: [(TopicPartition, end: Offset, stable: Offset)] = []
        for topic in log.topicNames(includeInternal: true) {
            guard let count = try? log.topic(topic).partitionCount else { continue }
            for index in 0..<count {
                let topicPartition = TopicPartition(topic, PartitionID(Int32(index)))
                guard let partition = try? log.partition(topicPartition) else { continue }
                offsets.append((topicPartition, partition.logEndOffset, partition.lastStableOffset))
            }
        }
        let end = SluiceMetricsFactory.descriptor(MetricFamilies.logEndOffset)
        let stable = SluiceMetricsFactory.descriptor(MetricFamilies.lastStableOffset)
        gauges.withLockedValue { gauges in
            var seen = Set<TopicPartition>()
            for (topicPartition, endOffset, stableOffset) in offsets {
                seen.insert(topicPartition)
                let labels = [("topic", topicPartition.topic.rawValue), ("partition", String(topicPartition.partition.rawValue))]
                let pair = gauges[topicPartition]
                    ?? (registry.makeGauge(descriptor: end, labels: labels), registry.makeGauge(descriptor: stable, labels: labels))
                gauges[topicPartition] = pair
                pair.end.set(Double(endOffset.rawValue))
                pair.stable.set(Double(stableOffset.rawValue))
            }
            for (topicPartition, pair) in gauges where !seen.contains(topicPartition) {
                registry.unregisterGauge(pair.end)
                registry.unregisterGauge(pair.stable)
                gauges[topicPartition] = nil
            }
        }
    }
}
