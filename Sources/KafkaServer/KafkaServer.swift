import KafkaProtocol
package import Logging
import NIOConcurrencyHelpers
package import NIOCore
import NIOPosix

/// The Kafka wire protocol over TCP: SwiftNIO accepts connections, splits frames, decodes
/// request headers and bodies with `KafkaProtocol`, answers ApiVersions itself, and hands
/// every other request to a `KafkaRequestHandler`.
///
/// ```
///  socket → KafkaConnectionHandler: frame splitter → request decode → ApiVersions | refusal | handler
///         ← responses in request order (KafkaResponseSequencer) ← respond(...)
/// ```
///
/// Bounds: `requestBytesMax` per frame (over it: that connection closes with a log line),
/// `inFlightRequestsMax` per connection and the socket's write buffer (at either bound the
/// connection stops being read until responses drain), `connectionsMax` open connections
/// (beyond it a new connection is closed with a log line).
///
/// Thread-safe: `start` once, then `shutdown` once, from any thread.
package final class KafkaServer: Sendable {
    private let configuration: KafkaServerConfiguration
    private let handler: any KafkaRequestHandler
    private let group: any EventLoopGroup
    private let logger: Logger
    private let metrics: KafkaServerMetrics?
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [UInt64: any Channel] = [:]
        var nextConnectionId: UInt64 = 1
        var shuttingDown = false
    }

    /// A server that is not yet listening.
    /// - Parameter metrics: where requests, bytes and connections are counted; nil: nowhere.
    package init(
        configuration: KafkaServerConfiguration, handler: any KafkaRequestHandler,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sluice.kafka-server"), metrics: KafkaServerMetrics? = nil
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.handler = handler
        self.group = group
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
        logger.info("listening on \(configuration.host):\(port ?? configuration.port)")
    }

    /// The port the listener is bound to (useful with port 0), once started.
    package var port: Int? {
        state.withLockedValue { $0.serverChannel?.localAddress?.port }
    }

    /// Connections open now.
    package var connectionCount: Int {
        state.withLockedValue { $0.connections.count }
    }

    /// Stops accepting, lets every connection finish the requests it has read (their
    /// responses are written), then closes the connections.
    package func shutdown() async throws {
        let (server, connections) = state.withLockedValue { state in
            state.shuttingDown = true
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(KafkaConnectionHandler.Drain())
        }
        for connection in connections {
            try? await connection.closeFuture.get()
        }
        logger.info("stopped")
    }

    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        let remote = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        let admitted: (id: UInt64, open: Int)? = state.withLockedValue { state in
            guard !state.shuttingDown, state.connections.count < configuration.connectionsMax else { return nil }
            let id = state.nextConnectionId
            state.nextConnectionId += 1
            state.connections[id] = channel
            return (id, state.connections.count)
        }
        guard let admitted else {
            logger.warning("connection from \(remote) refused: \(configuration.connectionsMax) connections open (--max-connections)")
            return channel.close()
        }
        logger.info("connection \(admitted.id) opened from \(remote) (\(admitted.open) open)")
        metrics?.connectionsOpen(admitted.open)
        channel.closeFuture.whenComplete { [self] _ in
            let open = state.withLockedValue { state in
                state.connections[admitted.id] = nil
                return state.connections.count
            }
            logger.info("connection \(admitted.id) from \(remote) closed (\(open) open)")
            metrics?.connectionsOpen(open)
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                KafkaConnectionHandler(
                    connectionId: admitted.id, remoteAddress: remote, configuration: configuration, handler: handler,
                    logger: logger, metrics: metrics))
        }
    }
}
