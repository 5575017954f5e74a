package import KafkaProtocol

/// What the server hands a request to: the broker's logic, behind the network shell.
///
/// `handle` is called on the connection's event loop for every decoded request except
/// ApiVersions (which the shell answers from `servedVersions`) and requests outside
/// `servedVersions` (which the shell refuses). The handler may answer later and from any
/// thread — a long-poll Fetch or a parked JoinGroup — by calling `respond` exactly once: with
/// a response body, or with nil for a request that gets no response (Produce with acks=0).
/// Responses are written in request order per connection whatever order they complete in.
///
/// - Invariant: `respond` is called exactly once per request (twice is a programming error).
/// Implementations must be thread-safe: one handler serves every connection.
package protocol KafkaRequestHandler: Sendable {
    /// The APIs and version ranges this handler serves; ApiVersions answers with them.
    var servedVersions: KafkaServedVersions { get }

    /// Handles one request; `respond` delivers its answer.
    func handle(_ request: KafkaRequest, context: KafkaConnectionContext, respond: @escaping @Sendable (KafkaResponse?) -> Void)
}

/// A response body; the shell encodes it at the request's version with the request's
/// correlation id. Thread-safe (a value).
package struct KafkaResponse: Sendable {
    /// The response body, a value of the request's API's response schema.
    package var body: KafkaStruct

    /// A response.
    package init(body: KafkaStruct) {
        self.body = body
    }
}

/// Who sent a request: the connection's id, the peer's address and the client id.
/// Thread-safe (a value).
package struct KafkaConnectionContext: Sendable, Equatable {
    /// Unique per connection for the life of the server, in accept order from 1.
    package var connectionId: UInt64
    /// The peer's address as text (`127.0.0.1:54321`).
    package var remoteAddress: String
    /// The request header's client id.
    package var clientId: String?

    /// A context.
    package init(connectionId: UInt64, remoteAddress: String, clientId: String?) {
        self.connectionId = connectionId
        self.remoteAddress = remoteAddress
        self.clientId = clientId
    }
}

/// The version range served per API: the ApiVersions table.
///
/// - Invariant: every range lies within the codec's valid versions for its API, and the
///   table includes ApiVersions itself.
/// Thread-safe (a value).
package struct KafkaServedVersions: Sendable {
    /// The served ranges, by API.
    package let ranges: [KafkaAPI: ClosedRange<Int16>]

    /// A table of served versions.
    ///
    /// - Precondition: each range is within the codec's valid versions; ApiVersions is served.
    package init(_ ranges: [KafkaAPI: ClosedRange<Int16>]) {
        for (api, range) in ranges {
            let valid = api.requestSchema.validVersions
            precondition(valid.contains(range.lowerBound) && valid.contains(range.upperBound), "\(api) \(range) outside \(valid)")
        }
        precondition(ranges[.apiVersions] != nil, "ApiVersions must be served")
        self.ranges = ranges
    }

    /// Whether `api` is served at `version`.
    package func serves(_ api: KafkaAPI, version: Int16) -> Bool { ranges[api]?.contains(version) ?? false }

    /// The ApiVersions response body at `version` (errorCode set by the caller): one entry
    /// per served API, in api-key order.
    package func apiVersionsResponse(errorCode: Int16) -> KafkaStruct {
        var response = KafkaStruct.response(.apiVersions)
        response.set("errorCode", errorCode)
        let entries = ranges.sorted { $0.key.rawValue < $1.key.rawValue }.map { api, range in
            var entry = response.makeElement("apiKeys")
            entry.set("apiKey", api.rawValue)
            entry.set("minVersion", range.lowerBound)
            entry.set("maxVersion", range.upperBound)
            return entry
        }
        response.set("apiKeys", entries)
        return response
    }
}
