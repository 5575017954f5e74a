import NIOCore
import NIOHTTP1
import NIOPosix

/// Why a GET of the metrics listener got no answer.
package struct MetricsClientError: Error, CustomStringConvertible {
    package var description: String
}

/// One HTTP/1.1 GET against a metrics listener (``MetricsServer``), as `pipeline status --url`
/// asks for `/status`: connects, sends the request with `Connection: close`, and returns the
/// status code and body once the response has ended.
///
/// Thread-safety: stateless; ``get(host:port:path:timeoutSeconds:)`` blocks the calling thread,
/// which must not be an event loop's.
package enum MetricsClient {
    package static func get(host: String, port: Int, path: String, timeoutSeconds: Int64 = 10) throws -> (status: Int, body: [UInt8]) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: (status: Int, body: [UInt8]).self)
        let timeout = loop.scheduleTask(in: .seconds(timeoutSeconds)) {
            promise.fail(MetricsClientError(description: "no answer from \(host):\(port) within \(timeoutSeconds) s"))
        }
        defer { timeout.cancel() }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(timeoutSeconds))
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.connect(host: host, port: port).wait()
        } catch {
            promise.fail(error)
            throw MetricsClientError(description: "cannot connect to \(host):\(port): \(error)")
        }
        defer { channel.close(promise: nil) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            return try promise.futureResult.wait()
        } catch let error as MetricsClientError {
            throw error
        } catch {
            throw MetricsClientError(description: "GET http://\(host):\(port)\(path) failed: \(error)")
        }
    }
}

/// Collects one response; fails the promise when the connection ends first.
///
/// Thread-safety: confined to its channel's event loop.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(status: Int, body: [UInt8])>
    private var status = 0
    private var body: [UInt8] = []
    private var done = false

    init(promise: EventLoopPromise<(status: Int, body: [UInt8])>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            finish(.success((status, body)))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(MetricsClientError(description: "the connection closed before the response ended")))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<(status: Int, body: [UInt8]), any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}
