import CoreMetrics
package import KafkaProtocol
import NIOCore

/// The server's families, recorded through swift-metrics: `sluice_broker_requests_total{api}`,
/// `sluice_broker_request_latency_seconds{api}` (from a request's decoding to its response
/// being handed to the connection), `sluice_broker_bytes_in_total` and
/// `sluice_broker_bytes_out_total` (every byte read from and written to client sockets, frame
/// sizes included), and `sluice_broker_connections` (open now). `api` is Kafka's name of the
/// request (`Produce`, `Fetch`, …).
///
/// The handles of every API are made once, at init, so recording takes no lock of its own.
/// Thread-safety: thread-safe (immutable; the swift-metrics handles are thread-safe).
package final class KafkaServerMetrics: Sendable {
    package static let requestsName = "sluice_broker_requests_total"
    package static let requestLatencyName = "sluice_broker_request_latency_seconds"
    package static let bytesInName = "sluice_broker_bytes_in_total"
    package static let bytesOutName = "sluice_broker_bytes_out_total"
    package static let connectionsName = "sluice_broker_connections"

    private let requests: [KafkaAPI: Counter]
    private let latencies: [KafkaAPI: Timer]
    private let bytesIn = Counter(label: KafkaServerMetrics.bytesInName)
    private let bytesOut = Counter(label: KafkaServerMetrics.bytesOutName)
    private let connections = Gauge(label: KafkaServerMetrics.connectionsName)

    /// Handles for every API the codec knows; `MetricsSystem` must be bootstrapped first.
    package init() {
        var requests: [KafkaAPI: Counter] = [:]
        var latencies: [KafkaAPI: Timer] = [:]
        for api in KafkaAPI.allCases {
            requests[api] = Counter(label: Self.requestsName, dimensions: [("api", api.description)])
            latencies[api] = Timer(label: Self.requestLatencyName, dimensions: [("api", api.description)])
        }
        self.requests = requests
        self.latencies = latencies
        connections.record(0)
    }

    func received(bytes: Int) { bytesIn.increment(by: bytes) }

    func sent(bytes: Int) { bytesOut.increment(by: bytes) }

    func connectionsOpen(_ count: Int) { connections.record(count) }

    /// A request of `api` answered (or released without an answer, as acks=0 Produce is),
    /// decoded at `started`.
    func answered(_ api: KafkaAPI, since started: NIODeadline) {
        requests[api]?.increment()
        latencies[api]?.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
    }
}
