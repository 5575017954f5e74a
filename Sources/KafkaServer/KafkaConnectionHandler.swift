import KafkaProtocol
import Logging
import NIOCore

/// One connection's protocol work on its event loop: split frames, decode requests, answer
/// ApiVersions and refusals, dispatch the rest, write responses in request order, and apply
/// back-pressure.
///
/// Reading pauses (the `read` event is held back) while `inFlightRequestsMax` requests await
/// responses or while the socket's write buffer is over its high watermark; frames already
/// received wait in the splitter, which never holds more than one frame plus one read.
/// Frames that arrive in one read are dispatched (up to the in-flight bound) before any of
/// their answers is written, so the answers one connection can buffer are bounded by
/// `inFlightRequestsMax`, not by the socket alone.
///
/// Closes the connection, with a log line, on a frame over `requestBytesMax`, a negative
/// frame size, a malformed request, an unknown api key, or an unsupported version whose
/// response has no top-level error code to carry UNSUPPORTED_VERSION.
/// Not thread-safe: every method runs on the channel's event loop.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by the server's shutdown: stop reading, finish what is in flight, close.
    struct Drain: Sendable {}

    private let connectionId: UInt64
    private let remoteAddress: String
    private let configuration: KafkaServerConfiguration
    private let handler: any KafkaRequestHandler
    private let logger: Logger
    private let metrics: KafkaServerMetrics?
    private var splitter: KafkaFrameSplitter
    private var sequencer = KafkaResponseSequencer()
    private var context: ChannelHandlerContext?
    private var readHeldBack = false
    private var draining = false
    private var closing = false

    init(
        connectionId: UInt64, remoteAddress: String, configuration: KafkaServerConfiguration,
        handler: any KafkaRequestHandler, logger: Logger, metrics: KafkaServerMetrics? = nil
    ) {
        self.metrics = metrics
        self.connectionId = connectionId
        self.remoteAddress = remoteAddress
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.splitter = KafkaFrameSplitter(frameBytesMax: configuration.requestBytesMax)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard !closing, let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        metrics?.received(bytes: bytes.count)
        splitter.append(bytes)
        processFrames(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Drain {
            draining = true
            closeIfDrained(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            processFrames(context: context)
            resumeReadingIfAllowed(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if mayRead(context: context) {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("connection \(connectionId) from \(remoteAddress): \(error)")
        close(context: context)
    }

    // MARK: Requests

    private func mayRead(context: ChannelHandlerContext) -> Bool {
        !draining && !closing && sequencer.inFlightCount < configuration.inFlightRequestsMax && context.channel.isWritable
    }

    private func resumeReadingIfAllowed(context: ChannelHandlerContext) {
        if readHeldBack && mayRead(context: context) {
            readHeldBack = false
            context.read()
        }
    }

    /// Takes whole frames from the splitter while the in-flight bound and the socket allow.
    private func processFrames(context: ChannelHandlerContext) {
        while !closing && !draining && sequencer.inFlightCount < configuration.inFlightRequestsMax && context.channel.isWritable {
            let frame: [UInt8]
            do {
                guard let next = try splitter.nextFrame() else { return }
                frame = next
            } catch {
                logger.warning("connection \(connectionId) from \(remoteAddress) closed: \(error)")
                close(context: context)
                return
            }
            process(frame, context: context)
        }
    }

    private func process(_ frame: [UInt8], context: ChannelHandlerContext) {
        let request: KafkaRequest
        do {
            request = try KafkaRequest.decode(frame: frame)
        } catch .unsupported(let unsupported) {
            refuse(unsupported, context: context)
            return
        } catch {
            logger.warning("connection \(connectionId) from \(remoteAddress) closed: \(error)")
            close(context: context)
            return
        }
        let started = NIODeadline.now()
        let served = handler.servedVersions
        if request.api == .apiVersions {
            defer { metrics?.answered(.apiVersions, since: started) }
            let supported = served.serves(.apiVersions, version: request.version)
            let version = supported ? request.version : 0
            let body = served.apiVersionsResponse(errorCode: supported ? 0 : Self.unsupportedVersion)
            answer(sequencer.admit(), api: .apiVersions, version: version, correlationId: request.header.correlationId, body: body, context: context)
            return
        }
        guard served.serves(request.api, version: request.version) else {
            refuse(
                KafkaUnsupportedRequest(
                    apiKey: request.api.rawValue, apiVersion: request.version, correlationId: request.header.correlationId,
                    clientId: request.header.clientId),
                context: context)
            return
        }
        let sequence = sequencer.admit()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let api = request.api
        let version = request.version
        let correlationId = request.header.correlationId
        let connection = KafkaConnectionContext(connectionId: connectionId, remoteAddress: remoteAddress, clientId: request.header.clientId)
        let metrics = self.metrics
        handler.handle(request, context: connection) { response in
            bound.eventLoop.execute {
                metrics?.answered(api, since: started)
                let handler = bound.value
                guard let context = handler.context else { return }
                if let response {
                    handler.answer(sequence, api: api, version: version, correlationId: correlationId, body: response.body, context: context)
                } else {
                    handler.release(sequence, response: nil, context: context)
                }
            }
        }
    }

    private static let unsupportedVersion: Int16 = 35

    /// UNSUPPORTED_VERSION: ApiVersions from a newer client gets v0 with the table (KIP-511);
    /// another known API at a version the codec can encode gets its response with the
    /// top-level error code set; anything else closes the connection, as Kafka's broker does.
    private func refuse(_ request: KafkaUnsupportedRequest, context: ChannelHandlerContext) {
        if request.api == .apiVersions {
            let body = handler.servedVersions.apiVersionsResponse(errorCode: Self.unsupportedVersion)
            answer(sequencer.admit(), api: .apiVersions, version: 0, correlationId: request.correlationId, body: body, context: context)
            return
        }
        if let api = request.api, api.responseSchema.validVersions.contains(request.apiVersion),
           api.responseSchema.body.fieldIndexByName["errorCode"].map({ api.responseSchema.body.fields[$0].versions.contains(request.apiVersion) }) == true {
            var body = KafkaStruct.response(api)
            body.set("errorCode", Self.unsupportedVersion)
            logger.info("connection \(connectionId): \(api) v\(request.apiVersion) is not served; answered UNSUPPORTED_VERSION")
            answer(sequencer.admit(), api: api, version: request.apiVersion, correlationId: request.correlationId, body: body, context: context)
            return
        }
        logger.warning(
            "connection \(connectionId) from \(remoteAddress) closed: unsupported api key \(request.apiKey) version \(request.apiVersion) (correlation id \(request.correlationId))")
        close(context: context)
    }

    // MARK: Responses

    private func answer(
        _ sequence: UInt64, api: KafkaAPI, version: Int16, correlationId: Int32, body: KafkaStruct, context: ChannelHandlerContext
    ) {
        do {
            let frame = try KafkaFrame.encodeResponse(api, version: version, header: KafkaResponseHeader(correlationId: correlationId), body: body)
            release(sequence, response: KafkaFrame.sizePrefixed(frame), context: context)
        } catch {
            logger.error("connection \(connectionId) closed: the \(api) v\(version) response does not encode: \(error)")
            close(context: context)
        }
    }

    private func release(_ sequence: UInt64, response: [UInt8]?, context: ChannelHandlerContext) {
        guard !closing else { return }
        let frames = sequencer.complete(sequence, response: response)
        for frame in frames {
            metrics?.sent(bytes: frame.count)
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame)), promise: nil)
        }
        if !frames.isEmpty { context.flush() }
        if draining {
            closeIfDrained(context: context)
        } else {
            processFrames(context: context)
            resumeReadingIfAllowed(context: context)
        }
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        if sequencer.inFlightCount == 0 { close(context: context) }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension KafkaConnectionHandler: Sendable {}
