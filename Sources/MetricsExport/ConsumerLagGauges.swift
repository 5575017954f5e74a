package import LogStorage
package import Prometheus
import NIOConcurrencyHelpers
import StreamCore

/// `sluice_consumer_lag_records{group,topic,partition}` for every consumer group of a data
/// directory, computed from the log on each scrape (``ConsumerLag/all(in:group:isolation:)``):
/// read-committed, in data records. Gauges of partitions no group commits in any more are
/// unregistered, so the family lists exactly the current ones.
///
/// Thread-safety: `update` may be called from any thread; calls are serialized.
package final class ConsumerLagGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let log: LogManager
    private let gauges = NIOLockedValueBox([Key: Gauge]())

    private struct Key: Hashable {
        var group: String
        var topicPartition: TopicPartition
    }

    package init(registry: PrometheusCollectorRegistry, log: LogManager) {
        self.registry = registry
        self.log = log
    }

    /// Sets every group's lag now.
    /// - Throws: a storage failure while reading batch headers (the scrape then fails).
    package func update() throws(LogError) {
        let lags = try ConsumerLag.all(in: log)
        let descriptor = SluiceMetricsFactory.descriptor(MetricFamilies.consumerLag)
        gauges.withLockedValue { gauges in
            var seen = Set<Key>()
            for lag in lags {
                let key = Key(group: lag.group, topicPartition: lag.topicPartition)
                seen.insert(key)
                let gauge = gauges[key] ?? registry.makeGauge(descriptor: descriptor, labels: [
                    ("group", lag.group), ("topic", lag.topicPartition.topic.rawValue),
                    ("partition", String(lag.topicPartition.partition.rawValue)),
                ])
                gauges[key] = gauge
                gauge.set(Double(lag.lagRecords))
            }
            for (key, gauge) in gauges where !seen.contains(key) {
                registry.unregisterGauge(gauge)
                gauges[key] = nil
            }
        }
    }
}
