package import Logging
import NIOConcurrencyHelpers
package import NIOCore
import NIOHTTP1
package import NIOPosix

/// One answer of the metrics listener.
/// Thread-safety: a value.
package struct MetricsResponse: Sendable, Equatable {
    /// Prometheus' text exposition format, version 0.0.4.
    package static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    package var status: Int
    package var contentType: String
    package var body: String

    package init(status: Int = 200, contentType: String, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    package static let notFound = MetricsResponse(status: 404, contentType: "text/plain; charset=utf-8", body: "not found\n")
    package static let methodNotAllowed = MetricsResponse(status: 405, contentType: "text/plain; charset=utf-8", body: "only GET\n")
}

/// The routes of the metrics listener: path → the function that answers a GET of it, called on
/// NIO's blocking thread pool (a scrape reads batch headers for the lag). Any other path is 404,
/// any other method 405.
/// Thread-safety: a value of `@Sendable` functions.
package struct MetricsRoutes: Sendable {
    package var routes: [String: @Sendable () -> MetricsResponse]

    package init(_ routes: [String: @Sendable () -> MetricsResponse]) {
        self.routes = routes
    }

    /// The answer to `method` (`GET`, `HEAD`…) of `target` (a path, maybe with a query).
    package func respond(method: String, target: String) -> MetricsResponse {
        let path = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard let route = routes[path] else { return .notFound }
        guard method == "GET" || method == "HEAD" else { return .methodNotAllowed }
        return route()
    }
}

/// The HTTP/1.1 listener of `--metrics HOST:PORT`: `GET /metrics` (and the other
/// ``MetricsRoutes``). Request bodies are ignored; each connection answers its requests in order.
///
/// ```
///  socket → HTTP/1.1 decoder → MetricsHTTPHandler: head → thread pool: route → response
/// ```
///
/// Thread-safe: `start` once, then `shutdown` once, from any thread.
package final class MetricsServer: Sendable {
    /// The most connections open at once; more are closed on accept (scrapers hold one or two).
    package static let connectionsMax = 64

    private let host: String
    private let requestedPort: Int
    private let routes: MetricsRoutes
    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var shuttingDown = false
    }

    /// A listener that is not yet listening; port 0 picks a free one (see ``port``).
    package init(host: String, port: Int, routes: MetricsRoutes, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                 threadPool: NIOThreadPool = .singleton, logger: Logger = Logger(label: "sluice.metrics")) {
        self.host = host
        self.requestedPort = port
        self.routes = routes
        self.group = group
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Binds the listener; returns once it accepts connections.
    package func start() async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in self.initialize(channel) }
        let channel = try await bootstrap.bind(host: host, port: requestedPort).get()
        state.withLockedValue { $0.serverChannel = channel }
    }

    /// The bound port, once started.
    package var port: Int? { state.withLockedValue { $0.serverChannel?.localAddress?.port } }

    /// Stops accepting and closes every connection.
    package func shutdown() async throws {
        let (server, connections) = state.withLockedValue { state in
            state.shuttingDown = true
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }

    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.shuttingDown, state.connections.count < Self.connectionsMax else { return false }
            state.connections[id] = channel
            return true
        }
        guard admitted else { return channel.close() }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
        let (routes, threadPool, logger) = (self.routes, self.threadPool, self.logger)
        return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
            try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(routes: routes, threadPool: threadPool, logger: logger))
        }
    }
}

/// One connection's requests, answered in order through the routes on the thread pool.
///
/// Thread-safety: confined to its channel's event loop.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: MetricsRoutes
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private var head: HTTPRequestHead?

    init(routes: MetricsRoutes, threadPool: NIOThreadPool, logger: Logger) {
        self.routes = routes
        self.threadPool = threadPool
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let routes = self.routes
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            threadPool.runIfActive(eventLoop: context.eventLoop) { routes.respond(method: head.method.rawValue, target: head.uri) }
                .whenComplete { result in
                    let (handler, context) = loopBound.value
                    switch result {
                    case .success(let answer):
                        handler.write(answer, head: head, context: context)
                    case .failure(let error):
                        handler.write(MetricsResponse(status: 500, contentType: "text/plain; charset=utf-8", body: "\(error)\n"),
                                      head: head, context: context)
                    }
                }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("metrics connection closed: \(error)")
        context.close(promise: nil)
    }

    private func write(_ answer: MetricsResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: answer.contentType)
        headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
            buffer.writeString(answer.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}
