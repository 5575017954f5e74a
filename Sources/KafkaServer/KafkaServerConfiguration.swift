/// The server's listener and its named bounds.
/// Thread-safe (a value).
package struct KafkaServerConfiguration: Sendable {
    /// The address to listen on.
    package var host: String
    /// The port to listen on; 0 picks a free one (see `KafkaServer.port`).
    package var port: Int
    /// The largest request frame accepted (`--max-request-bytes`); a larger one closes its
    /// connection.
    package var requestBytesMax: Int
    /// The most connections open at once (`--max-connections`); more are closed on accept.
    package var connectionsMax: Int
    /// The most requests of one connection awaiting their responses; at the bound the server
    /// stops reading from that connection until responses go out.
    package var inFlightRequestsMax: Int

    /// A configuration; the defaults are Kafka's (`socket.request.max.bytes` 100 MiB) or
    /// generous bounds (1,000 connections, 100 in-flight requests per connection).
    ///
    /// - Precondition: the bounds are positive.
    package init(
        host: String = "127.0.0.1", port: Int = 9092, requestBytesMax: Int = 100 * 1024 * 1024,
        connectionsMax: Int = 1_000, inFlightRequestsMax: Int = 100
    ) {
        precondition(requestBytesMax > 0 && connectionsMax > 0 && inFlightRequestsMax > 0)
        self.host = host
        self.port = port
        self.requestBytesMax = requestBytesMax
        self.connectionsMax = connectionsMax
        self.inFlightRequestsMax = inFlightRequestsMax
    }
}
