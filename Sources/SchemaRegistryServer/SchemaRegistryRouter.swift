package import SchemaRegistry
import Foundation

/// Confluent Schema Registry's REST API over a ``SchemaRegistry``: one table of method + path
/// pattern → handler, each from a typed request to a typed response, and every error body built
/// in one place (``RegistryResponse/error(status:code:message:)``). No I/O of its own, so it is
/// tested without a socket; ``SchemaRegistryServer`` is the HTTP shell around it.
///
/// Paths no route serves answer 404 `{"error_code":404,"message":"HTTP 404 Not Found"}`; a
/// served path with another method answers 405 in the same form.
///
/// Thread-safety: safe from any thread (the registry serializes its changes). Handlers block on
/// the registry's syncs, so the shell calls ``respond(to:)`` off the event loop.
package struct SchemaRegistryRouter: Sendable {
    package let registry: SchemaRegistry

    package init(registry: SchemaRegistry) { self.registry = registry }

    private typealias Handler = @Sendable (SchemaRegistry, RegistryRequest, [String]) throws(RouteError) -> RegistryResponse

    /// A pattern's segments: a literal, or `{}` for a parameter handed to the handler in order.
    private struct Route: Sendable {
        var method: String
        var pattern: [String]
        var handler: Handler
    }

    /// Answers one request.
    package func respond(to request: RegistryRequest) -> RegistryResponse {
        var pathMatched = false
        for route in Self.routes {
            guard let parameters = Self.match(route.pattern, request.pathSegments) else { continue }
            pathMatched = true
            guard route.method == request.method else { continue }
            do {
                return try route.handler(registry, request, parameters)
            } catch {
                switch error {
                case .registry(let failure):
                    return .error(status: failure.code.httpStatus, code: failure.code.rawValue, message: failure.message)
                case .malformed(let status, let message):
                    return .error(status: status, code: Int32(status), message: message)
                case .notFound:
                    return .notFound
                }
            }
        }
        return pathMatched ? .methodNotAllowed : .notFound
    }

    private static func match(_ pattern: [String], _ segments: [String]) -> [String]? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String] = []
        for (expected, actual) in zip(pattern, segments) {
            if expected == "{}" { parameters.append(actual) } else if expected != actual { return nil }
        }
        return parameters
    }

    private static let routes: [Route] = [
        Route(method: "GET", pattern: [], handler: { _, _, _ in RegistryResponse(body: "{}") }),
        Route(method: "GET", pattern: ["schemas", "types"], handler: { registry, _, _ in
            RegistryResponse(body: JSONOut.array([registry.rules.schemaType]))
        }),
        Route(method: "GET", pattern: ["subjects"], handler: { registry, request, _ in
            RegistryResponse(body: JSONOut.array(registry.subjectNames(includeDeleted: request.flag("deleted"))))
        }),
        Route(method: "POST", pattern: ["subjects", "{}", "versions"], handler: { registry, request, parameters throws(RouteError) in
            let body = try SchemaBody(request.body)
            let registration = try call { () throws(SchemaRegistryError) in
                try registry.register(subject: parameters[0], schema: body.schema, schemaType: body.schemaType)
            }
            return RegistryResponse(body: "{\"id\":\(registration.id)}")
        }),
        Route(method: "POST", pattern: ["subjects", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let body = try SchemaBody(request.body)
            let found = try call { () throws(SchemaRegistryError) in
                try registry.lookup(subject: parameters[0], schema: body.schema, schemaType: body.schemaType, includeDeleted: request.flag("deleted"))
            }
            return RegistryResponse(body: JSONOut.version(found))
        }),
        Route(method: "DELETE", pattern: ["subjects", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let deleted = try call { () throws(SchemaRegistryError) in try registry.deleteSubject(parameters[0], permanent: request.flag("permanent")) }
            return RegistryResponse(body: JSONOut.array(deleted))
        }),
        Route(method: "GET", pattern: ["subjects", "{}", "versions"], handler: { registry, request, parameters throws(RouteError) in
            let versions = try call { () throws(SchemaRegistryError) in try registry.versions(of: parameters[0], includeDeleted: request.flag("deleted")) }
            return RegistryResponse(body: JSONOut.array(versions.map(\.version)))
        }),
        Route(method: "GET", pattern: ["subjects", "{}", "versions", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let entry = try call { () throws(SchemaRegistryError) in
                try registry.version(VersionSelector(parsing: parameters[1]), of: parameters[0], includeDeleted: request.flag("deleted"))
            }
            return RegistryResponse(body: JSONOut.version(entry))
        }),
        Route(method: "GET", pattern: ["subjects", "{}", "versions", "{}", "schema"], handler: { registry, request, parameters throws(RouteError) in
            let entry = try call { () throws(SchemaRegistryError) in
                try registry.version(VersionSelector(parsing: parameters[1]), of: parameters[0], includeDeleted: request.flag("deleted"))
            }
            return RegistryResponse(body: entry.schema)
        }),
        Route(method: "DELETE", pattern: ["subjects", "{}", "versions", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let version = try call { () throws(SchemaRegistryError) in
                try registry.deleteVersion(VersionSelector(parsing: parameters[1]), of: parameters[0], permanent: request.flag("permanent"))
            }
            return RegistryResponse(body: String(version))
        }),
        Route(method: "GET", pattern: ["schemas", "ids", "{}"], handler: { registry, _, parameters throws(RouteError) in
            let id = try schemaID(parameters[0])
            let schema = try call { () throws(SchemaRegistryError) in try registry.schema(id: id) }
            return RegistryResponse(body: "{\"schema\":\(JSONOut.quote(schema))}")
        }),
        Route(method: "GET", pattern: ["schemas", "ids", "{}", "schema"], handler: { registry, _, parameters throws(RouteError) in
            let id = try schemaID(parameters[0])
            return RegistryResponse(body: try call { () throws(SchemaRegistryError) in try registry.schema(id: id) })
        }),
        Route(method: "GET", pattern: ["schemas", "ids", "{}", "versions"], handler: { registry, request, parameters throws(RouteError) in
            let id = try schemaID(parameters[0])
            let held = try call { () throws(SchemaRegistryError) in try registry.subjectVersions(ofID: id, includeDeleted: request.flag("deleted")) }
            let filtered = held.filter { request.query["subject"].map($0.subject.elementsEqual) ?? true }
            return RegistryResponse(body: "[" + filtered.map { "{\"subject\":\(JSONOut.quote($0.subject)),\"version\":\($0.version)}" }.joined(separator: ",") + "]")
        }),
        Route(method: "GET", pattern: ["schemas", "ids", "{}", "subjects"], handler: { registry, request, parameters throws(RouteError) in
            let id = try schemaID(parameters[0])
            let held = try call { () throws(SchemaRegistryError) in try registry.subjectVersions(ofID: id, includeDeleted: request.flag("deleted")) }
            var subjects: [String] = []
            for entry in held where subjects.last != entry.subject { subjects.append(entry.subject) }
            return RegistryResponse(body: JSONOut.array(subjects))
        }),
        Route(method: "POST", pattern: ["compatibility", "subjects", "{}", "versions", "{}"], handler: { registry, request, parameters throws(RouteError) in
            try compatibility(registry, request, subject: parameters[0], version: parameters[1])
        }),
        Route(method: "POST", pattern: ["compatibility", "subjects", "{}", "versions"], handler: { registry, request, parameters throws(RouteError) in
            try compatibility(registry, request, subject: parameters[0], version: nil)
        }),
        Route(method: "GET", pattern: ["config"], handler: { registry, _, _ in
            RegistryResponse(body: "{\"compatibilityLevel\":\"\(registry.effectiveLevel(subject: nil).rawValue)\"}")
        }),
        Route(method: "PUT", pattern: ["config"], handler: { registry, request, _ throws(RouteError) in
            let level = try ConfigBody(request.body).level
            try call { () throws(SchemaRegistryError) in try registry.setLevel(level, subject: nil) }
            return RegistryResponse(body: "{\"compatibility\":\"\(level.rawValue)\"}")
        }),
        Route(method: "DELETE", pattern: ["config"], handler: { registry, _, _ throws(RouteError) in
            let previous = try call { () throws(SchemaRegistryError) in try registry.removeGlobalLevel() }
            return RegistryResponse(body: "{\"compatibilityLevel\":\"\(previous.rawValue)\"}")
        }),
        Route(method: "GET", pattern: ["config", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let subject = parameters[0]
            let level = request.flag("defaultToGlobal") ? registry.effectiveLevel(subject: subject) : registry.configuredLevel(subject: subject)
            guard let level else {
                throw .registry(SchemaRegistryError(
                    .subjectCompatibilityNotConfigured, "Subject '\(subject)' does not have subject-level compatibility configured"))
            }
            return RegistryResponse(body: "{\"compatibilityLevel\":\"\(level.rawValue)\"}")
        }),
        Route(method: "PUT", pattern: ["config", "{}"], handler: { registry, request, parameters throws(RouteError) in
            let level = try ConfigBody(request.body).level
            try call { () throws(SchemaRegistryError) in try registry.setLevel(level, subject: parameters[0]) }
            return RegistryResponse(body: "{\"compatibility\":\"\(level.rawValue)\"}")
        }),
        Route(method: "DELETE", pattern: ["config", "{}"], handler: { registry, _, parameters throws(RouteError) in
            let previous = try call { () throws(SchemaRegistryError) in try registry.removeLevel(subject: parameters[0]) }
            return RegistryResponse(body: "{\"compatibilityLevel\":\"\(previous.rawValue)\"}")
        }),
    ]

    /// `POST /compatibility/subjects/{subject}/versions[/{version}]`: `{"is_compatible":…}`, and
    /// with `verbose=true` the reasons as `"messages"`.
    private static func compatibility(
        _ registry: SchemaRegistry, _ request: RegistryRequest, subject: String, version: String?
    ) throws(RouteError) -> RegistryResponse {
        let body = try SchemaBody(request.body)
        let problems = try call { () throws(SchemaRegistryError) in
            try registry.incompatibilities(
                of: body.schema, schemaType: body.schemaType, subject: subject, against: try version.map(VersionSelector.init(parsing:)))
        }
        var answer = "{\"is_compatible\":\(problems.isEmpty)"
        if request.flag("verbose") { answer += ",\"messages\":\(JSONOut.array(problems))" }
        return RegistryResponse(body: answer + "}")
    }

    /// A schema id in a path: a non-negative 32-bit number (anything else names no resource).
    private static func schemaID(_ text: String) throws(RouteError) -> Int32 {
        guard let id = Int32(text), id >= 0 else { throw .notFound }
        return id
    }

    private static func call<T>(_ body: () throws(SchemaRegistryError) -> T) throws(RouteError) -> T {
        do { return try body() } catch { throw .registry(error) }
    }
}

/// Why a handler did not answer 200.
enum RouteError: Error {
    case registry(SchemaRegistryError)
    /// The body is not JSON (400) or not the expected shape (422), with Confluent's codes.
    case malformed(status: Int, message: String)
    case notFound
}

/// A request body `{"schema": "...", "schemaType": "AVRO", "references": [...]}` (unknown
/// properties ignored, as Confluent's `Confluent-Accept-Unknown-Properties`).
struct SchemaBody {
    var schema: String
    var schemaType: String?

    private struct Wire: Decodable {
        var schema: String?
        var schemaType: String?
        var references: [Reference]?
        struct Reference: Decodable {}
    }

    init(_ bytes: [UInt8]) throws(RouteError) {
        let wire = try decodeBody(Wire.self, bytes)
        guard let schema = wire.schema, !schema.isEmpty else {
            throw .registry(SchemaRegistryError(.invalidSchema, "Invalid schema: the request has no \"schema\""))
        }
        if let references = wire.references, !references.isEmpty {
            throw .registry(SchemaRegistryError(.invalidSchema, "Invalid schema: schema references are not supported"))
        }
        self.schema = schema
        self.schemaType = wire.schemaType
    }
}

/// A request body `{"compatibility": "FULL"}` (Confluent's `ConfigUpdateRequest`).
struct ConfigBody {
    var level: CompatibilityLevel

    private struct Wire: Decodable { var compatibility: String? }

    init(_ bytes: [UInt8]) throws(RouteError) {
        let wire = try decodeBody(Wire.self, bytes)
        guard let text = wire.compatibility else {
            throw .registry(.invalidCompatibilityLevel(""))
        }
        do { level = try CompatibilityLevel(parsing: text) } catch { throw .registry(error) }
    }
}

/// Decodes a JSON body: 400 when it is not JSON, 422 when it is not an object of `T`'s shape
/// (rest-utils' answers to Jackson's parse and mapping errors).
private func decodeBody<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(RouteError) -> T {
    let data = Data(bytes)
    guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
        throw .malformed(status: 400, message: "Unexpected input: the request body is not JSON")
    }
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch {
        throw .malformed(status: 422, message: "Unrecognizable request body: \(error)")
    }
}
