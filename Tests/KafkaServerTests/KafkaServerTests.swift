import Foundation
import KafkaProtocol
import KafkaServer
import Testing

/// The network shell against real TCP clients: raw sockets, kafka-python and confluent-kafka.
@Suite("Kafka server shell", .serialized)
struct KafkaServerTests {
    private func withServer(
        _ configuration: KafkaServerConfiguration = KafkaServerConfiguration(port: 0),
        _ body: (KafkaServer, TestHandler, Int) async throws -> Void
    ) async throws {
        let handler = TestHandler()
        let server = KafkaServer(configuration: configuration, handler: handler)
        try await server.start()
        let port = try #require(server.port)
        handler.port = port
        do {
            try await body(server, handler, port)
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    @Test("ApiVersions is answered by the shell from the served table, with response header v0")
    func apiVersions() async throws {
        try await withServer { _, handler, port in
            let socket = try TestSocket(port: port)
            try socket.send(.apiVersions, version: 3, correlationId: 5, body: .request(.apiVersions))
            let frame = try #require(socket.receiveFrame())
            let (header, body) = try KafkaFrame.decodeResponse(.apiVersions, version: 3, frame: frame)
            #expect(header.correlationId == 5 && body.int16("errorCode") == 0)
            let table = body.array("apiKeys").map { ($0.int16("apiKey"), $0.int16("minVersion"), $0.int16("maxVersion")) }
            #expect(table.map(\.0) == [0, 1, 3, 10, 12, 18])
            #expect(table.first { $0.0 == 3 }.map { $0.2 } == 12)
            #expect(handler.received.isEmpty, "ApiVersions never reaches the handler")
        }
    }

    @Test("ApiVersions too new for the server: v0 with UNSUPPORTED_VERSION and the table")
    func apiVersionsTooNew() async throws {
        try await withServer { _, _, port in
            let socket = try TestSocket(port: port)
            // v9 does not exist yet: header v2, a body the server cannot read.
            socket.send(KafkaFrame.sizePrefixed(bytes(hex: "0012 0009 00000007 0001 78 00 0778797a 00")))
            let frame = try #require(socket.receiveFrame())
            let (header, body) = try KafkaFrame.decodeResponse(.apiVersions, version: 0, frame: frame)
            #expect(header.correlationId == 7 && body.int16("errorCode") == 35)
            #expect(body.array("apiKeys").count == 6)
        }
    }

    @Test("an unserved version gets UNSUPPORTED_VERSION where the response has an error code, else the connection closes")
    func unsupportedVersions() async throws {
        try await withServer { _, handler, port in
            let socket = try TestSocket(port: port)
            var heartbeat = KafkaStruct.request(.heartbeat)
            heartbeat.set("groupId", "0")
            try socket.send(.heartbeat, version: 4, correlationId: 1, body: heartbeat)
            let frame = try #require(socket.receiveFrame())
            let (header, body) = try KafkaFrame.decodeResponse(.heartbeat, version: 4, frame: frame)
            #expect(header.correlationId == 1 && body.int16("errorCode") == 35)
            #expect(handler.received.isEmpty)
            // Produce v10 is not served, and its response has no top-level error code: closed.
            try socket.send(.produce, version: 10, correlationId: 2, body: .request(.produce))
            #expect(socket.receiveFrame() == nil)
            let unknownKey = try TestSocket(port: port)
            unknownKey.send(KafkaFrame.sizePrefixed(bytes(hex: "0063 0000 00000003 ffff")))
            #expect(unknownKey.receiveFrame() == nil)
        }
    }

    @Test("an oversize frame closes only its own connection")
    func oversizeFrame() async throws {
        try await withServer(KafkaServerConfiguration(port: 0, requestBytesMax: 1_024)) { server, _, port in
            let bad = try TestSocket(port: port)
            let good = try TestSocket(port: port)
            bad.send([0x00, 0x00, 0x04, 0x01])  // 1,025 bytes announced
            #expect(bad.receiveFrame() == nil, "closed")
            let negative = try TestSocket(port: port)
            negative.send([0xFF, 0xFF, 0xFF, 0xF0])
            #expect(negative.receiveFrame() == nil, "closed")
            try good.send(.metadata, version: 12, correlationId: 9, body: .request(.metadata))
            let frame = try #require(good.receiveFrame())
            #expect(correlationId(frame) == 9)
            try await eventually { server.connectionCount == 1 }
        }
    }

    @Test("pipelined requests are answered in request order, whatever order the handler answers in")
    func pipelinedInOrder() async throws {
        try await withServer { _, _, port in
            let socket = try TestSocket(port: port)
            let delays = ["0.4", "0.1", "0.3", "0", "0.2"]
            for (index, delay) in delays.enumerated() {
                var heartbeat = KafkaStruct.request(.heartbeat)
                heartbeat.set("groupId", delay)
                try socket.send(.heartbeat, version: 3, correlationId: Int32(index), body: heartbeat)
            }
            let order = (0..<delays.count).compactMap { _ in socket.receiveFrame().map(correlationId) }
            #expect(order == [0, 1, 2, 3, 4])
        }
    }

    @Test("a request the handler answers with nil (Produce acks=0) gets no response, and the next one still does")
    func requestWithoutResponse() async throws {
        try await withServer { _, handler, port in
            let socket = try TestSocket(port: port)
            var produce = KafkaStruct.request(.produce)
            produce.set("acks", 0)
            try socket.send(.produce, version: 9, correlationId: 1, body: produce)
            try socket.send(.metadata, version: 12, correlationId: 2, body: .request(.metadata))
            #expect(socket.receiveFrame().map(correlationId) == 2)
            #expect(handler.received.map(\.api) == [.produce, .metadata])
        }
    }

    @Test("at the in-flight bound the server stops reading that connection until responses go out")
    func inFlightBound() async throws {
        try await withServer(KafkaServerConfiguration(port: 0, inFlightRequestsMax: 2)) { _, handler, port in
            let socket = try TestSocket(port: port)
            for index in 0..<6 {
                try socket.send(.findCoordinator, version: 2, correlationId: Int32(index), body: .request(.findCoordinator))
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(handler.received.count == 2, "read only up to the bound")
            var answered: [Int32] = []
            while answered.count < 6 {
                handler.releaseParked()
                guard let frame = socket.receiveFrame() else { break }
                answered.append(correlationId(frame))
                if answered.count % 2 == 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(answered == [0, 1, 2, 3, 4, 5])
            #expect(handler.received.count == 6)
        }
    }

    @Test("a client that does not read its responses stops the server reading its requests")
    func writeBackPressure() async throws {
        try await withServer(KafkaServerConfiguration(port: 0, inFlightRequestsMax: 1_000)) { _, handler, port in
            let socket = try TestSocket(port: port)
            let requests = 200
            // Paced, as a producing client sends: requests that arrive in one read are all taken
            // (up to the in-flight bound) before any answer is written, so 200 frames sent at once
            // would test the read size, not the back-pressure.
            for index in 0..<requests {
                try socket.send(.fetch, version: 4, correlationId: Int32(index), body: .request(.fetch))
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .seconds(1))
            let readWhileBlocked = handler.received.count
            // 200 MiB of answers would be buffered without back-pressure; the socket holds a few.
            #expect(readWhileBlocked < 50, "\(readWhileBlocked) requests read while the client did not read")
            var answered: [Int32] = []
            while answered.count < requests, let frame = socket.receiveFrame() { answered.append(correlationId(frame)) }
            #expect(answered == Array(0..<Int32(requests)))
        }
    }

    @Test("random and mutated frames get a response or a closed connection, and the server keeps serving")
    func mutatedFramesOverTheWire() async throws {
        try await withServer(KafkaServerConfiguration(port: 0, requestBytesMax: 4_096)) { _, _, port in
            var metadata = KafkaStruct.request(.metadata)
            var topic = metadata.makeElement("topics")
            topic.set("name", "orders")
            metadata.set("topics", [topic])
            let seeds: [[UInt8]] = [
                try KafkaRequest(
                    header: KafkaRequestHeader(apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "fuzz"), api: .apiVersions,
                    body: .request(.apiVersions)).encode(),
                try KafkaRequest(
                    header: KafkaRequestHeader(apiKey: 3, apiVersion: 12, correlationId: 2, clientId: "fuzz"), api: .metadata,
                    body: metadata).encode(),
            ]
            var random = SplitMix(state: 20_251_202)
            var outcomes = (answered: 0, closed: 0)
            for index in 0..<300 {
                var frame = seeds[index % seeds.count]
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if index % 5 == 0 { frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &random))) }
                let socket = try TestSocket(port: port)
                socket.send(KafkaFrame.sizePrefixed(frame))
                socket.shutdownWrite()
                if socket.receiveFrame() != nil { outcomes.answered += 1 } else { outcomes.closed += 1 }
            }
            #expect(outcomes.answered > 0 && outcomes.closed > 0, "\(outcomes)")
            let check = try TestSocket(port: port)
            try check.send(.metadata, version: 12, correlationId: 99, body: .request(.metadata))
            #expect(check.receiveFrame().map(correlationId) == 99)
        }
    }

    @Test("connections beyond --max-connections are closed on accept")
    func maxConnections() async throws {
        try await withServer(KafkaServerConfiguration(port: 0, connectionsMax: 2)) { server, _, port in
            let first = try TestSocket(port: port)
            let second = try TestSocket(port: port)
            try first.send(.metadata, version: 1, correlationId: 1, body: .request(.metadata))
            try second.send(.metadata, version: 1, correlationId: 2, body: .request(.metadata))
            #expect(first.receiveFrame() != nil && second.receiveFrame() != nil)
            let third = try TestSocket(port: port)
            try third.send(.metadata, version: 1, correlationId: 3, body: .request(.metadata))
            #expect(third.receiveFrame() == nil, "refused")
            #expect(server.connectionCount == 2)
        }
    }

    @Test("shutdown stops accepting, answers what is in flight, then closes")
    func cleanShutdown() async throws {
        let handler = TestHandler()
        let server = KafkaServer(configuration: KafkaServerConfiguration(port: 0), handler: handler)
        try await server.start()
        let port = try #require(server.port)
        let socket = try TestSocket(port: port)
        try socket.send(.findCoordinator, version: 2, correlationId: 41, body: .request(.findCoordinator))
        while handler.received.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        let stopping = Task { try await server.shutdown() }
        try await Task.sleep(for: .milliseconds(200))
        #expect((try? TestSocket(port: port)) == nil, "no longer accepting")
        handler.releaseParked()
        #expect(socket.receiveFrame().map(correlationId) == 41, "the parked request was answered")
        #expect(socket.receiveFrame() == nil, "then closed")
        try await stopping.value
    }

    @Test("kafka-python connects: ApiVersions from the shell, Metadata from the handler",
          .enabled(if: pythonHas("kafka")))
    func kafkaPython() async throws {
        try await withServer { _, handler, port in
            let result = try runPython("""
                from kafka import KafkaConsumer
                consumer = KafkaConsumer(bootstrap_servers='127.0.0.1:\(port)', client_id='kp-test', request_timeout_ms=10000)
                print(sorted(consumer.topics()))
                print(consumer.config['api_version'])
                consumer.close()
                """)
            #expect(result.status == 0, "\(result.output)")
            #expect(handler.received.contains { $0.api == .metadata && $0.header.clientId == "kp-test" })
        }
    }

    @Test("Debian's kcat (librdkafka 2.0.2) lists metadata through the shell",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat")))
    func kcat() async throws {
        try await withServer { _, handler, port in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
            process.arguments = ["-b", "127.0.0.1:\(port)", "-L", "-m", "10", "-X", "client.id=kcat-test"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            process.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(output)")
            #expect(output.contains("1 brokers:"), "\(output)")
            #expect(handler.received.contains { $0.api == .metadata && $0.header.clientId == "kcat-test" })
        }
    }

    @Test("confluent-kafka's AdminClient.list_topics works against the shell",
          .enabled(if: pythonHas("confluent_kafka")))
    func confluentKafka() async throws {
        try await withServer { _, handler, port in
            let result = try runPython("""
                from confluent_kafka.admin import AdminClient
                admin = AdminClient({'bootstrap.servers': '127.0.0.1:\(port)', 'client.id': 'ck-test'})
                metadata = admin.list_topics(timeout=10)
                print(metadata.cluster_id, list(metadata.brokers))
                """)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("test-cluster"), "\(result.output)")
            #expect(handler.received.contains { $0.api == .metadata && $0.header.clientId == "ck-test" })
        }
    }
}

/// Waits up to 5 s for `condition`.
func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    #expect(condition(), sourceLocation: sourceLocation)
}

func bytes(hex text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
