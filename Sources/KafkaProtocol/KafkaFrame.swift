/// Whole requests and responses as they travel in frames: a size-prefixed header and body.
///
/// ```
///  frame     size i32 (bytes that follow) | header | body
/// ```
///
/// The frames here exclude the size prefix; `KafkaFrameSplitter` strips it and
/// `KafkaFrame.sizePrefixed` adds it. Thread-safe (pure functions).
package enum KafkaFrame {
    /// `payload` with its big-endian int32 size in front.
    ///
    /// - Precondition: `payload` is under 2 GiB.
    package static func sizePrefixed(_ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= Int(Int32.max), "frame of \(payload.count) bytes")
        var writer = KafkaWireWriter()
        writer.writeInt32(Int32(payload.count))
        writer.writeBytes(payload)
        return writer.bytes
    }

    /// A request frame: the header for `header.apiKey` at `header.apiVersion`, then `body`.
    ///
    /// - Precondition: the header's api key is known and `body` is a request of it.
    package static func encodeRequest(header: KafkaRequestHeader, body: KafkaStruct) throws(KafkaProtocolError) -> [UInt8] {
        guard let api = KafkaAPI(rawValue: header.apiKey) else { preconditionFailure("unknown api key \(header.apiKey)") }
        var writer = KafkaWireWriter()
        try header.encode(into: &writer)
        try KafkaCodec.encode(body, as: api.requestSchema, version: header.apiVersion, into: &writer)
        return writer.bytes
    }

    /// A response frame for `api` at `version`: the response header its version calls for
    /// (v0 always for ApiVersions), then `body`.
    package static func encodeResponse(
        _ api: KafkaAPI, version: Int16, header: KafkaResponseHeader, body: KafkaStruct
    ) throws(KafkaProtocolError) -> [UInt8] {
        var writer = KafkaWireWriter()
        var headerValue = KafkaStruct(defaultsOf: KafkaMessageSchema.responseHeader.body)
        headerValue.set("correlationId", header.correlationId)
        headerValue.unknownTaggedFields = header.taggedFields
        try KafkaCodec.encode(
            headerValue, as: .responseHeader, version: KafkaResponseHeader.version(for: api, apiVersion: version), into: &writer)
        try KafkaCodec.encode(body, as: api.responseSchema, version: version, into: &writer)
        return writer.bytes
    }

    /// Decodes a response frame of `api` at `version` (the client's side, and the tests').
    package static func decodeResponse(
        _ api: KafkaAPI, version: Int16, frame: [UInt8]
    ) throws(KafkaProtocolError) -> (header: KafkaResponseHeader, body: KafkaStruct) {
        var reader = KafkaWireReader(frame)
        let headerValue = try KafkaCodec.decode(
            .responseHeader, version: KafkaResponseHeader.version(for: api, apiVersion: version), from: &reader)
        let body = try KafkaCodec.decode(api.responseSchema, version: version, from: &reader)
        guard reader.remaining == 0 else {
            throw KafkaProtocolError(
                .trailingBytes, "\(reader.remaining) bytes after the message", byteOffset: reader.position,
                message: api.responseSchema.name, version: version)
        }
        return (KafkaResponseHeader(correlationId: headerValue.int32("correlationId"), taggedFields: headerValue.unknownTaggedFields), body)
    }
}
