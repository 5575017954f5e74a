/// A request's header (Kafka's `RequestHeader`), decoded from the start of a frame.
///
/// ```
///  v1 (non-flexible requests)   api key i16 | api version i16 | correlation id i32 | client id (int16-length string, nullable)
///  v2 (flexible requests)       the same, then a tagged-field section
/// ```
///
/// The client id is never compact, even in v2, so that any broker can read the header of an
/// ApiVersions request from a newer client. Thread-safe (a value).
package struct KafkaRequestHeader: Sendable, Equatable {
    /// The api key as sent (possibly one this codec does not know).
    package var apiKey: Int16
    /// The api version as sent.
    package var apiVersion: Int16
    /// The id the response must carry.
    package var correlationId: Int32
    /// The client's id, or nil.
    package var clientId: String?
    /// The header's tagged fields (v2), kept raw.
    package var taggedFields: [KafkaTaggedField]

    /// A header.
    package init(apiKey: Int16, apiVersion: Int16, correlationId: Int32, clientId: String?, taggedFields: [KafkaTaggedField] = []) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.taggedFields = taggedFields
    }

    /// The request header version for `api` at `version`: 2 when the request is flexible, else 1.
    /// Open-ended flexible ranges make a too-new version of a known API use v2, as Kafka does.
    package static func version(for api: KafkaAPI, apiVersion: Int16) -> Int16 {
        api.requestSchema.isFlexible(apiVersion) ? 2 : 1
    }

    /// Appends this header, at the version its api and api version call for.
    ///
    /// - Precondition: `apiKey` is a known API.
    func encode(into writer: inout KafkaWireWriter) throws(KafkaProtocolError) {
        guard let api = KafkaAPI(rawValue: apiKey) else { preconditionFailure("unknown api key \(apiKey)") }
        var value = KafkaStruct(defaultsOf: KafkaMessageSchema.requestHeader.body)
        value.set("requestApiKey", apiKey)
        value.set("requestApiVersion", apiVersion)
        value.set("correlationId", correlationId)
        value.set("clientId", clientId)
        value.unknownTaggedFields = taggedFields
        try KafkaCodec.encode(
            value, as: .requestHeader, version: Self.version(for: api, apiVersion: apiVersion), into: &writer)
    }
}

/// A response's header (Kafka's `ResponseHeader`).
///
/// ```
///  v0   correlation id i32
///  v1   correlation id i32 | tagged-field section      (flexible responses, except ApiVersions)
/// ```
///
/// ApiVersions responses always use v0, whatever their version, so that a client that does
/// not yet know the broker's versions can parse the answer. Thread-safe (a value).
package struct KafkaResponseHeader: Sendable, Equatable {
    /// The request's correlation id.
    package var correlationId: Int32
    /// The header's tagged fields (v1), kept raw.
    package var taggedFields: [KafkaTaggedField]

    /// A header.
    package init(correlationId: Int32, taggedFields: [KafkaTaggedField] = []) {
        self.correlationId = correlationId
        self.taggedFields = taggedFields
    }

    /// The response header version for `api` at `version`: 0 for ApiVersions, 1 for other
    /// flexible responses, else 0.
    package static func version(for api: KafkaAPI, apiVersion: Int16) -> Int16 {
        if api == .apiVersions { return 0 }
        return api.responseSchema.isFlexible(apiVersion) ? 1 : 0
    }
}
