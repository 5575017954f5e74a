import Foundation
import LogStorage
import Logging
import NIOPosix
import SchemaRegistry
import SchemaRegistryServer
import Simulation
import StreamCore
import Testing

/// The REST API over a real socket: Confluent's shapes and error bodies, unknown paths, malformed
/// bodies and the body bound.
@Suite("SchemaRegistryServer")
struct RegistryHTTPTests {
    static let v1 = #"{"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}]}"#
    static let v2 = #"{"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\u0000"}]}"#

    /// Runs `body` with a server on a free loopback port over a registry on a simulated disk.
    private func withServer(bodyBytesMax: Int = 64 * 1024, connectionsMax: Int = 256, _ body: (Int) throws -> Void) async throws {
        let disk = SimulatedDisk(seed: 5)
        var options = LogOptions()
        options.offsetsTopicPartitions = 1
        let log = try LogManager.open(
            directory: "/data", storage: disk, clock: SimulatedClock(start: Timestamp(milliseconds: 1_700_000_000_000)), options: options,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { log.close() }
        let registry = try SchemaRegistry(log: log, rules: .avro)
        let server = SchemaRegistryServer(
            configuration: SchemaRegistryServerConfiguration(
                host: "127.0.0.1", port: 0, requestBodyBytesMax: bodyBytesMax, connectionsMax: connectionsMax), registry: registry,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await server.start()
        do {
            try body(try #require(server.port))
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    @Test("register, fetch by id and by subject, in Confluent's shapes and content type")
    func shapes() async throws {
        try await withServer { port in
            let registered = try http(port: port, "POST", "/subjects/orders-value/versions", body: jsonBody(["schema": Self.v1]))
            #expect(registered.status == 200 && registered.body == #"{"id":1}"#)
            #expect(registered.headers["content-type"] == "application/vnd.schemaregistry.v1+json")
            #expect(try http(port: port, "POST", "/subjects/orders-value/versions", body: jsonBody(["schema": Self.v1, "schemaType": "AVRO"])).body == #"{"id":1}"#)
            let byID = try #require(try http(port: port, "GET", "/schemas/ids/1").json as? [String: Any])
            let schema = try #require(byID["schema"] as? String)
            #expect(byID.count == 1 && schema.contains("OrderCreated"))
            let latest = try #require(try http(port: port, "GET", "/subjects/orders-value/versions/latest").json as? [String: Any])
            #expect(latest["subject"] as? String == "orders-value" && latest["version"] as? Int == 1 && latest["id"] as? Int == 1)
            #expect(latest["schema"] as? String == schema && latest["schemaType"] == nil)
            #expect(try http(port: port, "GET", "/subjects/orders-value/versions/1/schema").body == schema)
            #expect(try http(port: port, "GET", "/subjects").body == #"["orders-value"]"#)
            #expect(try http(port: port, "GET", "/subjects/orders-value/versions").body == "[1]")
            #expect(try http(port: port, "GET", "/schemas/ids/1/versions").body == #"[{"subject":"orders-value","version":1}]"#)
            #expect(try http(port: port, "GET", "/config").body == #"{"compatibilityLevel":"BACKWARD"}"#)
            #expect(try http(port: port, "PUT", "/config", body: jsonBody(["compatibility": "FULL"])).body == #"{"compatibility":"FULL"}"#)
            let check = try http(port: port, "POST", "/compatibility/subjects/orders-value/versions/latest?verbose=true", body: jsonBody(["schema": Self.v2]))
            #expect(check.body == #"{"is_compatible":true,"messages":[]}"#)
            // A subject named with an encoded '/'.
            #expect(try http(port: port, "POST", "/subjects/team%2Forders/versions", body: jsonBody(["schema": Self.v1])).body == #"{"id":1}"#)
            #expect(try http(port: port, "GET", "/subjects").body == #"["orders-value","team/orders"]"#)
            #expect(try http(port: port, "DELETE", "/subjects/orders-value").body == "[1]")
            #expect(try http(port: port, "GET", "/subjects?deleted=true").body == #"["orders-value","team/orders"]"#)
        }
    }

    @Test("errors: Confluent's codes and bodies; unknown paths 404 and other methods 405 in the same form")
    func errors() async throws {
        try await withServer { port in
            _ = try http(port: port, "POST", "/subjects/s/versions", body: jsonBody(["schema": Self.v1]))
            let cases: [(String, String, [UInt8], Int, Int)] = [
                ("GET", "/subjects/nope/versions", [], 404, 40401),
                ("GET", "/subjects/s/versions/5", [], 404, 40402),
                ("GET", "/subjects/s/versions/five", [], 422, 42202),
                ("GET", "/schemas/ids/77", [], 404, 40403),
                ("POST", "/subjects/s/versions", jsonBody(["schema": #"{"type":"recrod"}"#]), 422, 42201),
                ("POST", "/subjects/s/versions", jsonBody(["schemaType": "AVRO"]), 422, 42201),
                ("POST", "/subjects/s/versions", Array("{\"schema\": ".utf8), 400, 400),
                ("POST", "/subjects/s/versions", Array("[1,2]".utf8), 422, 422),
                ("GET", "/config/s", [], 404, 40408),
                ("GET", "/associations/resources/orders?resourceNamespace=-", [], 404, 404),
                ("GET", "/no/such/path", [], 404, 404),
                ("PATCH", "/subjects", [], 405, 405),
            ]
            for (method, path, body, status, code) in cases {
                let answer = try http(port: port, method, path, body: body)
                #expect(answer.status == status && answer.errorCode == code, "\(method) \(path): \(answer)")
                #expect(answer.headers["content-type"] == "application/vnd.schemaregistry.v1+json", "\(method) \(path)")
                #expect(((answer.json as? [String: Any])?["message"] as? String)?.isEmpty == false, "\(method) \(path): \(answer.body)")
            }
            let missing = try http(port: port, "GET", "/subjects/nope/versions")
            #expect(missing.body == #"{"error_code":40401,"message":"Subject 'nope' not found."}"#)
        }
    }

    @Test("a body over the bound is answered 413 and nothing is registered; the server keeps serving")
    func bodyBound() async throws {
        try await withServer(bodyBytesMax: 1024) { port in
            let big = jsonBody(["schema": Self.v1 + String(repeating: " ", count: 4096)])
            let answer = try http(port: port, "POST", "/subjects/big/versions", body: big)
            #expect(answer.status == 413 && answer.errorCode == 413, "\(answer)")
            #expect(try http(port: port, "GET", "/subjects").body == "[]")
            // A head that declares too long a body is refused before any of it is sent.
            let declared = try http(port: port, "POST", "/subjects/big/versions", body: [], declaredLength: 1 << 30)
            #expect(declared.status == 413 && declared.errorCode == 413, "\(declared)")
            #expect(try http(port: port, "POST", "/subjects/small/versions", body: jsonBody(["schema": Self.v1])).status == 200)
        }
    }

    @Test("pipelined keep-alive requests are answered in order on one connection")
    func pipelining() async throws {
        try await withServer { port in
            let body = String(decoding: jsonBody(["schema": Self.v1]), as: UTF8.self)
            var requests = ""
            for subject in ["a", "b", "c"] {
                requests += "POST /subjects/\(subject)/versions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            requests += "GET /subjects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let answer = String(decoding: try exchange(port: port, Array(requests.utf8)), as: UTF8.self)
            #expect(answer.components(separatedBy: "HTTP/1.1 200 OK").count == 5, "\(answer)")
            #expect(answer.hasSuffix(#"["a","b","c"]"#), "\(answer)")
            #expect(answer.components(separatedBy: #"{"id":1}"#).count == 4, "\(answer)")
        }
    }

    @Test("garbage instead of HTTP and clients that vanish mid-request harm no one else")
    func misbehavingClients() async throws {
        try await withServer { port in
            let started = Date()
            let garbage = String(decoding: try exchange(port: port, Array("\u{01}\u{02} NOT HTTP\r\n\r\n".utf8)), as: UTF8.self)
            #expect(garbage.hasPrefix("HTTP/1.1 400"), "\(garbage)")
            #expect(Date().timeIntervalSince(started) < 10, "the server must close a connection it cannot parse")
            let body = String(decoding: jsonBody(["schema": Self.v1]), as: UTF8.self)
            for n in 0..<20 {
                // Sent whole and abandoned at once, or cut off inside the body.
                let request = "POST /subjects/gone-\(n)/versions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                try exchange(port: port, Array(request.utf8.prefix(n % 2 == 0 ? request.utf8.count : request.utf8.count - 10)), readAnswer: false)
            }
            let answer = try http(port: port, "POST", "/subjects/after/versions", body: jsonBody(["schema": Self.v1]))
            #expect(answer.status == 200 && answer.body == #"{"id":1}"#, "\(answer)")
            let subjects = try #require(try http(port: port, "GET", "/subjects").json as? [String])
            #expect(subjects.contains("after") && !subjects.contains { $0.hasPrefix("gone-") && Int($0.dropFirst(5))! % 2 == 1 }, "\(subjects)")
        }
    }

    @Test("connections beyond the bound are closed on accept; a freed slot serves again")
    func connectionBound() async throws {
        try await withServer(connectionsMax: 2) { port in
            let held = try (0..<2).map { _ in try IdleConnection(port: port) }
            Thread.sleep(forTimeInterval: 0.2)
            let refused = try exchange(port: port, Array("GET /subjects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(refused.isEmpty, "a third connection must be closed unanswered")
            held[0].close()
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try http(port: port, "GET", "/subjects").body == "[]")
            held[1].close()
        }
    }

    @Test("Expect: 100-continue is answered 100 Continue before the request's answer")
    func expectContinue() async throws {
        try await withServer { port in
            let body = String(decoding: jsonBody(["schema": Self.v1]), as: UTF8.self)
            let request = "POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let answer = String(decoding: try exchange(port: port, Array(request.utf8)), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(answer)")
            #expect(answer.hasSuffix(#"{"id":1}"#), "\(answer)")
        }
    }
}
