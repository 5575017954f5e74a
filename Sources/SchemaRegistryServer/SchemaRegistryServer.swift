package import Logging
import NIOConcurrencyHelpers
package import NIOCore
import NIOHTTP1
package import NIOPosix
package import SchemaRegistry

/// The HTTP listener's address and its named bounds.
/// Thread-safe (a value).
package struct SchemaRegistryServerConfiguration: Sendable {
    /// The address to listen on (loopback by default).
    package var host: String
    /// The port to listen on; 0 picks a free one (see ``SchemaRegistryServer/port``).
    package var port: Int
    /// The largest request body accepted; a larger one is answered 413 and its connection closed.
    package var requestBodyBytesMax: Int
    /// The most connections open at once; more are closed on accept.
    package var connectionsMax: Int

    /// - Precondition: the bounds are positive.
    package init(host: String = "127.0.0.1", port: Int = 8081, requestBodyBytesMax: Int = 2 * 1024 * 1024, connectionsMax: Int = 256) {
        precondition(requestBodyBytesMax > 0 && connectionsMax > 0)
        self.host = host
        self.port = port
        self.requestBodyBytesMax = requestBodyBytesMax
        self.connectionsMax = connectionsMax
    }
}

/// Confluent Schema Registry's REST API over HTTP/1.1: SwiftNIO's HTTP server pipeline (with
/// keep-alive and pipelining handled in order by NIO's `HTTPServerPipelineHandler`), a handler
/// that gathers each request's body within ``SchemaRegistryServerConfiguration/requestBodyBytesMax``,
/// and the ``SchemaRegistryRouter``, called on NIO's blocking thread pool because a change waits
/// for its fsync.
///
/// ```
///  socket → HTTP/1.1 decoder → RegistryHTTPHandler: head + body (bounded) → thread pool: router
///         ← response (Content-Type application/vnd.schemaregistry.v1+json, Content-Length) ←┘
/// ```
///
/// Thread-safe: `start` once, then `shutdown` once, from any thread.
package final class SchemaRegistryServer: Sendable {
    private let configuration: SchemaRegistryServerConfiguration
    private let router: SchemaRegistryRouter
    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var shuttingDown = false
    }

    /// A server that is not yet listening.
    package init(
        configuration: SchemaRegistryServerConfiguration, registry: SchemaRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, threadPool: NIOThreadPool = .singleton,
        logger: Logger = Logger(label: "sluice.schema-registry")
    ) {
        self.configuration = configuration
        self.router = SchemaRegistryRouter(registry: registry)
        self.group = group
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Binds the listener; returns once it accepts connections.
    package func start() async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                self.initialize(channel)
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        state.withLockedValue { $0.serverChannel = channel }
        logger.info("schema registry listening on \(configuration.host):\(port ?? configuration.port)")
    }

    /// The port the listener is bound to (useful with port 0), once started.
    package var port: Int? {
        state.withLockedValue { $0.serverChannel?.localAddress?.port }
    }

    /// Stops accepting and closes every connection once its current answer is written.
    package func shutdown() async throws {
        let (server, connections) = state.withLockedValue { state in
            state.shuttingDown = true
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        for connection in connections {
            try? await connection.closeFuture.get()
        }
    }

    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.shuttingDown, state.connections.count < configuration.connectionsMax else { return false }
            state.connections[id] = channel
            return true
        }
        guard admitted else {
            logger.warning("schema registry connection refused: \(configuration.connectionsMax) connections open")
            return channel.close()
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
        let (router, threadPool, bodyBytesMax, logger) = (self.router, self.threadPool, configuration.requestBodyBytesMax, self.logger)
        return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
            try channel.pipeline.syncOperations.addHandler(
                RegistryHTTPHandler(router: router, threadPool: threadPool, bodyBytesMax: bodyBytesMax, logger: logger))
        }
    }
}

/// One connection's requests: gathers the head and body of each, refuses a body over the bound
/// (413, then closes: the rest of it is not read), answers through the router on the thread pool.
///
/// Thread-safety: confined to its channel's event loop.
final class RegistryHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: SchemaRegistryRouter
    private let threadPool: NIOThreadPool
    private let bodyBytesMax: Int
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refusing = false
    private var quiescing = false
    private var answering = false

    init(router: SchemaRegistryRouter, threadPool: NIOThreadPool, bodyBytesMax: Int, logger: Logger) {
        self.router = router
        self.threadPool = threadPool
        self.bodyBytesMax = bodyBytesMax
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            refusing = false
            if let declared = requestHead.headers.first(name: "content-length").flatMap(Int.init), declared > bodyBytesMax {
                refuseBody(context: context)
                return
            }
            // curl and others wait (a second, for curl) for leave to send a large body.
            if requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let proceed = HTTPResponseHead(version: requestHead.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(proceed)), promise: nil)
            }
        case .body(var chunk):
            guard !refusing else { return }
            if body.count + chunk.readableBytes > bodyBytesMax {
                refuseBody(context: context)
                return
            }
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        case .end:
            guard let head, !refusing else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive && !quiescing
            let request = RegistryRequest(method: head.method.rawValue, target: head.uri, body: body)
            body = []
            guard let request else {
                write(.error(status: 400, code: 400, message: "Malformed request path"), keepAlive: keepAlive, context: context)
                return
            }
            answering = true
            let router = self.router
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            threadPool.runIfActive(eventLoop: context.eventLoop) { router.respond(to: request) }.whenComplete { result in
                let (handler, context) = loopBound.value
                handler.answering = false
                switch result {
                case .success(let answer):
                    handler.write(answer, keepAlive: keepAlive && !handler.quiescing, context: context)
                case .failure(let error):
                    handler.write(.error(status: 500, code: 50001, message: "Error while serving the request: \(error)"), keepAlive: false, context: context)
                }
            }
        }
    }

    /// A request that is not HTTP: NIO's protocol error handler has answered it 400 (`Connection:
    /// close`); the connection is closed here, as nothing after it can be parsed.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("schema registry connection closed: \(error)")
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            if !answering && head == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Answers 413 and closes: the rest of the body is never read (as soon as the head declares
    /// too long a body, or once the body read so far passes the bound).
    private func refuseBody(context: ChannelHandlerContext) {
        refusing = true
        body = []
        logger.warning("schema registry request body over \(bodyBytesMax) bytes refused")
        write(.error(status: 413, code: 413, message: "Request body larger than \(bodyBytesMax) bytes"), keepAlive: false, context: context)
    }

    private func write(_ answer: RegistryResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: RegistryResponse.contentType)
        headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        buffer.writeString(answer.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}
