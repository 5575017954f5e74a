/// One HTTP request as the router sees it: the method, the path split at `/` with each segment
/// percent-decoded (so a subject may hold an encoded `/`), the query parameters and the body.
///
/// Thread-safety: a value.
package struct RegistryRequest: Sendable, Equatable {
    package var method: String
    package var pathSegments: [String]
    package var query: [String: String]
    package var body: [UInt8]

    package init(method: String, pathSegments: [String], query: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.pathSegments = pathSegments
        self.query = query
        self.body = body
    }

    /// Splits a request target (`/subjects/a%2Fb/versions?deleted=true`) into segments and query.
    /// - Returns: nil when a segment's percent-encoding is malformed.
    package init?(method: String, target: String, body: [UInt8] = []) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var segments: [String] = []
        for raw in parts[0].split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = RegistryRequest.percentDecode(raw, plusIsSpace: false) else { return nil }
            segments.append(decoded)
        }
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = RegistryRequest.percentDecode(nameValue[0], plusIsSpace: true),
                      let value = RegistryRequest.percentDecode(nameValue.count == 2 ? nameValue[1] : "", plusIsSpace: true)
                else { return nil }
                query[name] = value
            }
        }
        self.init(method: method, pathSegments: segments, query: query, body: body)
    }

    /// Whether query parameter `name` is `true` (in any case), as Confluent's boolean flags.
    package func flag(_ name: String) -> Bool { query[name]?.lowercased() == "true" }

    private static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// One HTTP response: a status and a JSON body (Confluent's content type).
///
/// Thread-safety: a value.
package struct RegistryResponse: Sendable, Equatable {
    /// Confluent's content type for every answer, errors included.
    package static let contentType = "application/vnd.schemaregistry.v1+json"

    package var status: Int
    package var body: String

    package init(status: Int = 200, body: String) {
        self.status = status
        self.body = body
    }

    /// An error in Confluent's form: `{"error_code":40401,"message":"Subject 'x' not found."}`.
    package static func error(status: Int, code: Int32, message: String) -> RegistryResponse {
        RegistryResponse(status: status, body: "{\"error_code\":\(code),\"message\":\(JSONOut.quote(message))}")
    }

    /// Jersey's answer to a path no resource serves, which Confluent's clients recognize as "absent"
    /// (confluent-kafka falls back when `GET /associations/...` answers it).
    package static let notFound = RegistryResponse.error(status: 404, code: 404, message: "HTTP 404 Not Found")
    /// Jersey's answer to a served path asked with another method.
    package static let methodNotAllowed = RegistryResponse.error(status: 405, code: 405, message: "HTTP 405 Method Not Allowed")
}
