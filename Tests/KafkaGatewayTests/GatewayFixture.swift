import Foundation
import StreamCore
import LogStorage
import Transactions
import KafkaProtocol
import KafkaServer
@testable import KafkaGateway

/// A gateway over a fresh data directory in a temporary folder, and a way to answer one
/// request through it synchronously (as the shell would).
final class GatewayFixture: @unchecked Sendable {
    let directory: String
    let log: LogManager
    let coordinator: TransactionCoordinator
    let gateway: KafkaGateway

    init() throws {
        directory = NSTemporaryDirectory() + "sluice-gateway-\(UUID().uuidString)"
        log = try LogManager.open(directory: directory)
        coordinator = try TransactionCoordinator(log: log)
        gateway = try KafkaGateway(log: log, coordinator: coordinator)
    }

    /// The response `request` gets, waiting up to `timeout` seconds for a parked answer.
    func answer(_ api: KafkaAPI, version: Int16, _ body: KafkaStruct, connection: UInt64 = 1, timeout: Double = 10) -> KafkaStruct? {
        let header = KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: 1, clientId: "test")
        let request = KafkaRequest(header: header, api: api, body: body)
        let done = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        gateway.handle(request, context: KafkaConnectionContext(connectionId: connection, remoteAddress: "127.0.0.1:1", clientId: "test")) {
            box.set($0?.body)
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.value
    }

    func close() {
        gateway.close()
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: KafkaStruct?
    func set(_ value: KafkaStruct?) { lock.lock(); stored = value; lock.unlock() }
    var value: KafkaStruct? { lock.lock(); defer { lock.unlock() }; return stored }
}
