/// A decoded request: its header, its API and its body.
/// Thread-safe (a value).
package struct KafkaRequest: Sendable, Equatable {
    /// The header as sent.
    package var header: KafkaRequestHeader
    /// The API, from the header's api key.
    package var api: KafkaAPI
    /// The body, every field the version lacks at its default.
    package var body: KafkaStruct
    /// Bytes the frame held after the body. Kafka's broker ignores them, and so does this
    /// decoder: librdkafka 2.16's all-topics Metadata v12 request ends with 3 such bytes.
    package var trailingBytes: [UInt8]

    /// A request.
    package init(header: KafkaRequestHeader, api: KafkaAPI, body: KafkaStruct, trailingBytes: [UInt8] = []) {
        self.header = header
        self.api = api
        self.body = body
        self.trailingBytes = trailingBytes
    }

    /// The request's api version.
    package var version: Int16 { header.apiVersion }

    /// Decodes one request frame (without its size prefix): the header at the version the
    /// api and api version call for, then the body; bytes after the body are kept in
    /// `trailingBytes` (Kafka's broker does not check that a body ends its frame).
    ///
    /// An api key this codec does not know, or a version outside the API's valid versions,
    /// throws `.unsupported` with what the header's fixed part said, so that the server can
    /// answer UNSUPPORTED_VERSION (and an ApiVersions request from a newer client with the
    /// version table). Anything else that is wrong throws `.malformed`.
    package static func decode(frame: [UInt8]) throws(KafkaRequestDecodingError) -> KafkaRequest {
        var reader = KafkaWireReader(frame)
        let apiKey: Int16
        let apiVersion: Int16
        let correlationId: Int32
        do {
            apiKey = try reader.readInt16()
            apiVersion = try reader.readInt16()
            correlationId = try reader.readInt32()
        } catch {
            throw .malformed(error.naming("RequestHeader", version: 1), correlationId: nil)
        }
        guard let api = KafkaAPI(rawValue: apiKey), api.requestSchema.validVersions.contains(apiVersion) else {
            // The client id is an int16-length string in every header version, so it can be
            // read even for a request this codec cannot parse further.
            let clientId: String?
            do {
                let length = Int(try reader.readInt16())
                clientId = length < 0 ? nil : try reader.readString(length)
            } catch {
                clientId = nil
            }
            throw .unsupported(
                KafkaUnsupportedRequest(apiKey: apiKey, apiVersion: apiVersion, correlationId: correlationId, clientId: clientId))
        }
        do throws(KafkaProtocolError) {
            var full = KafkaWireReader(frame)
            let headerVersion = KafkaRequestHeader.version(for: api, apiVersion: apiVersion)
            let headerValue = try KafkaCodec.decode(.requestHeader, version: headerVersion, from: &full)
            let header = KafkaRequestHeader(
                apiKey: apiKey, apiVersion: apiVersion, correlationId: correlationId,
                clientId: headerValue.nullableString("clientId"), taggedFields: headerValue.unknownTaggedFields)
            let body = try KafkaCodec.decode(api.requestSchema, version: apiVersion, from: &full)
            return KafkaRequest(header: header, api: api, body: body, trailingBytes: try full.readBytes(full.remaining))
        } catch {
            throw .malformed(error, correlationId: correlationId)
        }
    }

    /// This request as a frame (without its size prefix), trailing bytes included.
    package func encode() throws(KafkaProtocolError) -> [UInt8] {
        try KafkaFrame.encodeRequest(header: header, body: body) + trailingBytes
    }
}

/// Why a request frame could not be decoded.
/// Thread-safe (a value).
package enum KafkaRequestDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An api key or version this codec does not know; the header's fixed part was readable.
    case unsupported(KafkaUnsupportedRequest)
    /// Bytes that are not a valid request; the correlation id when the frame had one.
    case malformed(KafkaProtocolError, correlationId: Int32?)

    /// One line for the log.
    package var description: String {
        switch self {
        case .unsupported(let request):
            "unsupported request: api key \(request.apiKey) version \(request.apiVersion), correlation id \(request.correlationId)"
        case .malformed(let error, let correlationId):
            "malformed request\(correlationId.map { " (correlation id \($0))" } ?? ""): \(error)"
        }
    }
}

/// What a request this codec cannot parse said in its header's fixed part.
/// Thread-safe (a value).
package struct KafkaUnsupportedRequest: Sendable, Equatable {
    /// The api key as sent.
    package var apiKey: Int16
    /// The api version as sent.
    package var apiVersion: Int16
    /// The id a response must carry.
    package var correlationId: Int32
    /// The client id, when it could be read.
    package var clientId: String?

    /// A description of an unsupported request.
    package init(apiKey: Int16, apiVersion: Int16, correlationId: Int32, clientId: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
    }

    /// The API, when the key is known (and so only the version is unsupported).
    package var api: KafkaAPI? { KafkaAPI(rawValue: apiKey) }
}
