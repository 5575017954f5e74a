#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One HTTP/1.1 exchange over a fresh loopback TCP connection (`Connection: close`), blocking:
/// the status, the headers (names lower-cased) and the body as the server sent them.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: String
    /// The body as a JSON value.
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    var errorCode: Int? { (json as? [String: Any])?["error_code"] as? Int }
}

struct HTTPTestError: Error, CustomStringConvertible { var description: String }

func http(port: Int, _ method: String, _ path: String, body: [UInt8] = [], declaredLength: Int? = nil) throws -> HTTPAnswer {
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: \(declaredLength ?? body.count)\r\n\r\n"
    let text = String(decoding: try exchange(port: port, Array(request.utf8) + body), as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw HTTPTestError(description: "no HTTP answer: \(text)") }
    let headLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = headLines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HTTPTestError(description: "bad status line \(headLines[0])") }
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPAnswer(status: status, headers: headers, body: String(text[split.upperBound...]))
}

/// Sends `bytes` on a fresh loopback connection and returns everything the server sends until it
/// closes (or, with `readAnswer` false, closes at once after sending).
@discardableResult
func exchange(port: Int, _ bytes: [UInt8], readAnswer: Bool = true) throws -> [UInt8] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HTTPTestError(description: "socket failed") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HTTPTestError(description: "connect to \(port) failed") }
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // the server may close early (a refused body); read its answer
        sent += n
    }
    var received: [UInt8] = []
    guard readAnswer else { return received }
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received.append(contentsOf: buffer[0..<n])
    }
    return received
}

/// A connection opened and left idle (it holds one of the server's connection slots).
final class IdleConnection {
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw HTTPTestError(description: "connect to \(port) failed") }
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

func jsonBody(_ object: [String: Any]) -> [UInt8] {
    Array(try! JSONSerialization.data(withJSONObject: object))
}
