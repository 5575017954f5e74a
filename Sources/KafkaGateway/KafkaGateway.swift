import StreamCore
package import LogStorage
package import Transactions
package import KafkaProtocol
package import KafkaServer
package import KafkaBroker
package import Logging
import Dispatch

/// The Kafka protocol's requests answered by one engine: the glue between the wire
/// (`KafkaProtocol`'s decoded messages, `KafkaServer`'s connections) and the broker's semantics
/// (`KafkaBroker`'s data plane, `GroupCoordinatorService`'s groups and offsets).
///
/// Each API is a ``KafkaRoute``: the versions it is served at and how a request becomes a
/// response. The routes come from the data plane (``dataPlaneRoutes``) and the groups
/// (``groupRoutes``); the ApiVersions table is exactly the routes' versions.
///
/// Requests run off the event loop on serial work queues, one chosen per connection, so one
/// connection's requests are handled in the order they arrived (as Kafka's broker does: an
/// idempotent producer's pipelined batches reach the log in sequence order), while connections
/// on other queues proceed in parallel. A route may answer later (a long-poll Fetch, a parked
/// JoinGroup) from any thread.
///
/// - Invariant: every request is answered exactly once (the shell's contract).
/// Thread-safety: safe from any thread.
package final class KafkaGateway: KafkaRequestHandler, @unchecked Sendable {
    package let broker: KafkaBroker
    package let groups: GroupCoordinatorService
    package let logger: Logger
    let routes: [KafkaAPI: KafkaRoute]
    private let workQueues: [DispatchQueue]
    package let servedVersions: KafkaServedVersions
    /// Work started when the gateway is (timers for parked group requests); stopped by ``close()``.
    let lifecycle = GatewayLifecycle()
    /// Long-poll Fetches waiting for data; answered at once by ``close()``.
    let parkedFetches = ParkedFetches()
    /// The group requests parked with the coordinator, and the timer that drives them.
    let groupAnswers = GroupAnswerDelivery()
    /// Group commit for acks=all Produce: one flush group for the requests waiting together.
    let groupSync: GroupSync

    /// A gateway over `log` and `coordinator`, which stay the caller's to close (after ``close()``).
    package init(
        log: LogManager, coordinator: TransactionCoordinator, brokerConfig: KafkaBrokerConfig = KafkaBrokerConfig(),
        groupConfig: GroupCoordinatorConfig = GroupCoordinatorConfig(), workQueueCount: Int = 8,
        logger: Logger = Logger(label: "sluice.kafka-gateway")
    ) throws(LogError) {
        broker = try KafkaBroker(log: log, coordinator: coordinator, config: brokerConfig)
        groupSync = GroupSync(log: log, label: "sluice.kafka-gateway.group-sync")
        groups = GroupCoordinatorService(log: log, transactions: coordinator, config: groupConfig)
        self.logger = logger
        var routes = Self.dataPlaneRoutes
        for (api, route) in Self.groupRoutes {
            precondition(routes[api] == nil, "\(api) routed twice")
            routes[api] = route
        }
        self.routes = routes
        var ranges = routes.mapValues(\.versions)
        // ApiVersions v0–v3, as Kafka 3.x serves it (a newer client retries at v3).
        ranges[.apiVersions] = 0...min(3, KafkaAPI.apiVersions.requestSchema.validVersions.highest)
        servedVersions = KafkaServedVersions(ranges)
        workQueues = (0..<max(1, workQueueCount)).map { DispatchQueue(label: "sluice.kafka-gateway.work.\($0)") }
        lifecycle.onStop { [parkedFetches] in parkedFetches.answerAll() }
        start()
    }

    /// Runs `request`'s route on the connection's work queue.
    package func handle(_ request: KafkaRequest, context: KafkaConnectionContext, respond: @escaping @Sendable (KafkaResponse?) -> Void) {
        guard let route = routes[request.api] else {
            preconditionFailure("the shell passed \(request.api), which servedVersions does not list")
        }
        workQueues[Int(context.connectionId % UInt64(workQueues.count))].async { [self] in
            route.answer(self, request, context, respond)
        }
    }

    /// Stops the gateway's own work (timers); requests still parked are answered as their
    /// routes decide (long-poll Fetches at once, with what they can read). The log and
    /// coordinator stay open; close them after this.
    package func close() {
        lifecycle.stop()
    }
}

/// How one API is answered: the versions served and the answer.
/// Thread-safe (a value of sendable parts).
package struct KafkaRoute: Sendable {
    /// The request versions served (within the codec's valid versions).
    package var versions: ClosedRange<Int16>
    /// Answers `request` by calling `respond` exactly once (now or later, from any thread).
    package var answer: @Sendable (KafkaGateway, KafkaRequest, KafkaConnectionContext, @escaping @Sendable (KafkaResponse?) -> Void) -> Void

    package init(
        versions: ClosedRange<Int16>,
        answer: @escaping @Sendable (KafkaGateway, KafkaRequest, KafkaConnectionContext, @escaping @Sendable (KafkaResponse?) -> Void) -> Void
    ) {
        self.versions = versions
        self.answer = answer
    }

    /// A route answered at once with the body `body` computes.
    package static func immediate(
        _ versions: ClosedRange<Int16>, _ body: @escaping @Sendable (KafkaGateway, KafkaRequest, KafkaConnectionContext) -> KafkaStruct
    ) -> KafkaRoute {
        KafkaRoute(versions: versions) { gateway, request, context, respond in
            respond(KafkaResponse(body: body(gateway, request, context)))
        }
    }
}

/// Start and stop hooks for the gateway's background work, run once each.
/// Thread-safety: safe from any thread.
package final class GatewayLifecycle: @unchecked Sendable {
    private let lock = Lock()
    private var stopActions: [@Sendable () -> Void] = []
    private var stopped = false

    /// Registers `action` to run at ``stop()`` (at once when already stopped).
    func onStop(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if stopped {
            lock.unlock()
            action()
            return
        }
        stopActions.append(action)
        lock.unlock()
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        let actions = stopped ? [] : stopActions
        stopped = true
        stopActions = []
        lock.unlock()
        for action in actions { action() }
    }
}
