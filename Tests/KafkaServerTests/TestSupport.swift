import Foundation
import KafkaProtocol
import KafkaServer
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// A handler for the shell's tests: answers Metadata from defaults plus this one broker,
/// Heartbeat after a per-request delay, Fetch with 1 MiB of records, Produce with acks=0 with
/// no response, and parks FindCoordinator (and other Produce) until released.
final class TestHandler: KafkaRequestHandler {
    let servedVersions = KafkaServedVersions([
        .apiVersions: 0...4, .metadata: 0...12, .heartbeat: 0...3, .findCoordinator: 0...4, .fetch: 4...12, .produce: 3...9,
    ])
    private let state = NIOLockedValueBox(State())
    private struct State {
        var received: [KafkaRequest] = []
        var parked: [@Sendable (KafkaResponse?) -> Void] = []
        var port = 0
    }

    var port: Int {
        get { state.withLockedValue { $0.port } }
        set { state.withLockedValue { $0.port = newValue } }
    }

    var received: [KafkaRequest] { state.withLockedValue { $0.received } }

    func handle(_ request: KafkaRequest, context: KafkaConnectionContext, respond: @escaping @Sendable (KafkaResponse?) -> Void) {
        let port = state.withLockedValue { state in
            state.received.append(request)
            return state.port
        }
        switch request.api {
        case .metadata:
            var response = KafkaStruct.response(.metadata)
            var broker = response.makeElement("brokers")
            broker.set("nodeId", 1)
            broker.set("host", "127.0.0.1")
            broker.set("port", port)
            response.set("brokers", [broker])
            response.set("clusterId", "test-cluster")
            response.set("controllerId", 1)
            respond(KafkaResponse(body: response))
        case .heartbeat:
            // The group id says how long to wait: answers complete out of order.
            let delay = Double(request.body.string("groupId")) ?? 0
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) { respond(KafkaResponse(body: .response(.heartbeat))) }
        case .produce where request.body.int16("acks") == 0:
            respond(nil)
        case .fetch:
            // 1 MiB of records per answer: a client that does not read fills the socket.
            var response = KafkaStruct.response(.fetch)
            var topic = response.makeElement("responses")
            var partition = topic.makeElement("partitions")
            partition.set("records", bytes: [UInt8](repeating: 0x5A, count: 1 << 20))
            topic.set("partitions", [partition])
            response.set("responses", [topic])
            respond(KafkaResponse(body: response))
        default:
            state.withLockedValue { $0.parked.append(respond) }
        }
    }

    /// Answers every parked request.
    func releaseParked() {
        let parked = state.withLockedValue { state in
            defer { state.parked = [] }
            return state.parked
        }
        for respond in parked { respond(KafkaResponse(body: .response(.findCoordinator))) }
    }
}

/// A blocking TCP client over a POSIX socket, with a receive timeout.
final class TestSocket {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Half-closes: the server sees the end of the stream after what was sent.
    func shutdownWrite() { _ = shutdown(descriptor, Int32(SHUT_WR)) }

    /// Sends a request frame.
    func send(_ api: KafkaAPI, version: Int16, correlationId: Int32, body: KafkaStruct) throws {
        let request = KafkaRequest(
            header: KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: correlationId, clientId: "test"),
            api: api, body: body)
        send(KafkaFrame.sizePrefixed(try request.encode()))
    }

    /// The next response frame (without its size), or nil when the server closed the connection.
    func receiveFrame() -> [UInt8]? {
        guard let size = receive(4) else { return nil }
        let length = Int(size[0]) << 24 | Int(size[1]) << 16 | Int(size[2]) << 8 | Int(size[3])
        return receive(length)
    }

    private func receive(_ count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = result[offset...].withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received <= 0 { return nil }
            offset += received
        }
        return result
    }
}

/// The correlation id at the start of a response frame.
func correlationId(_ frame: [UInt8]) -> Int32 {
    Int32(bitPattern: UInt32(frame[0]) << 24 | UInt32(frame[1]) << 16 | UInt32(frame[2]) << 8 | UInt32(frame[3]))
}

/// Runs a Python snippet; returns its exit status and output.
func runPython(_ script: String, timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (process.terminationStatus, output)
}

/// Whether `python3` can import `module`.
func pythonHas(_ module: String) -> Bool {
    (try? runPython("import \(module)", timeout: 30).status) == 0
}
