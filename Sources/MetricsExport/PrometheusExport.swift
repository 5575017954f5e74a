package import LogStorage
import CoreMetrics
package import Prometheus

/// What a process that serves `/metrics` exports: the swift-metrics families recorded into one
/// swift-prometheus registry (``SluiceMetricsFactory``), plus consumer lag for every group of
/// the data directory, computed on each scrape (``ConsumerLagGauges``).
///
/// Thread-safety: thread-safe.
package final class PrometheusExport: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let lag: ConsumerLagGauges?
    private let partitionOffsets: PartitionOffsetGauges?

    /// An export over its own registry, not yet the process's swift-metrics backend.
    /// - Parameter servesPartitions: whether each partition's log end and last stable offsets
    ///   are exported too (``PartitionOffsetGauges``), as `pipeline serve` does.
    package init(log: LogManager?, servesPartitions: Bool = false) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        lag = log.map { ConsumerLagGauges(registry: registry, log: $0) }
        partitionOffsets = servesPartitions ? log.map { PartitionOffsetGauges(registry: registry, log: $0) } : nil
    }

    /// Makes this export the process's swift-metrics backend: every `Counter`, `Timer` and
    /// `Recorder` created from then on records into ``registry``.
    /// - Precondition: called at most once per process (swift-metrics' rule), before the
    ///   pipelines create their metrics.
    package func bootstrap() {
        MetricsSystem.bootstrap(SluiceMetricsFactory(registry: registry))
    }

    /// The Prometheus text of every family, lag and partition offsets updated first.
    /// - Throws: a storage failure while computing the lag.
    package func render() throws(LogError) -> String {
        try lag?.update()
        partitionOffsets?.update()
        return registry.emitToString()
    }

    /// The listener's routes: `GET /metrics`.
    package var routes: [String: @Sendable () -> MetricsResponse] {
        ["/metrics": { [self] in
            do {
                return MetricsResponse(contentType: MetricsResponse.prometheusContentType, body: try render())
            } catch {
                return MetricsResponse(status: 500, contentType: "text/plain; charset=utf-8", body: "cannot compute consumer lag: \(error)\n")
            }
        }]
    }
}
