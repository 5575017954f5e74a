import Foundation
import Testing
import StreamCore
import LogStorage
import Transactions
import KafkaProtocol
import KafkaServer
import KafkaBroker
@testable import KafkaGateway

/// A gateway over a fresh data directory with group settings short enough for tests (session
/// timeouts from 100 ms, no initial rebalance delay), and requests sent as a client at a given
/// version would send them: the body is encoded and decoded at that version (so fields the
/// version lacks arrive at their defaults), and the answer is encoded and decoded at it too (so a
/// field the route set that the version cannot carry fails the test, as it would fail the shell).
final class GroupsGatewayFixture: @unchecked Sendable {
    let directory: String
    let log: LogManager
    let coordinator: TransactionCoordinator
    let gateway: KafkaGateway

    static var testGroupConfig: GroupCoordinatorConfig {
        var config = GroupCoordinatorConfig()
        config.sessionTimeoutMinMilliseconds = 100
        config.initialRebalanceDelayMilliseconds = 0
        config.memberIDSeed = 7
        return config
    }

    init(
        groupConfig: GroupCoordinatorConfig = GroupsGatewayFixture.testGroupConfig, brokerConfig: KafkaBrokerConfig = KafkaBrokerConfig(),
        topics: [String: Int] = ["orders": 3]
    ) throws {
        directory = NSTemporaryDirectory() + "sluice-gateway-groups-\(UUID().uuidString)"
        log = try LogManager.open(directory: directory)
        for (name, partitions) in topics {
            try log.createTopic(TopicName(rawValue: name)!, config: TopicConfig(partitionCount: partitions))
        }
        coordinator = try TransactionCoordinator(log: log)
        gateway = try KafkaGateway(log: log, coordinator: coordinator, brokerConfig: brokerConfig, groupConfig: groupConfig)
    }

    func close() {
        gateway.close()
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sends a request built by `build` and returns the answer to come.
    func send(
        _ api: KafkaAPI, version: Int16, connection: UInt64 = 1, clientID: String = "test",
        _ build: (inout KafkaStruct) -> Void
    ) throws -> PendingAnswer {
        var body = KafkaStruct.request(api)
        build(&body)
        let decoded = try KafkaCodec.decodeRequest(api, version: version, from: try KafkaCodec.encodeRequest(body, api, version: version))
        let header = KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: 1, clientId: clientID)
        let pending = PendingAnswer(api: api, version: version)
        gateway.handle(KafkaRequest(header: header, api: api, body: decoded),
                       context: KafkaConnectionContext(connectionId: connection, remoteAddress: "127.0.0.1:5\(connection)", clientId: clientID)) {
            pending.fulfil($0)
        }
        return pending
    }

    /// Sends a request and waits for its answer (as the client would read it).
    func call(
        _ api: KafkaAPI, version: Int16, connection: UInt64 = 1, clientID: String = "test", timeout: Double = 10,
        sourceLocation: SourceLocation = #_sourceLocation, _ build: (inout KafkaStruct) -> Void
    ) throws -> KafkaStruct {
        try #require(try send(api, version: version, connection: connection, clientID: clientID, build).wait(timeout: timeout),
                     "no answer to \(api) v\(version)", sourceLocation: sourceLocation)
    }
}

/// An answer that may come later, from any thread.
final class PendingAnswer: @unchecked Sendable {
    let api: KafkaAPI
    let version: Int16
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var responses: [KafkaResponse?] = []

    init(api: KafkaAPI, version: Int16) {
        self.api = api
        self.version = version
    }

    func fulfil(_ response: KafkaResponse?) {
        lock.lock()
        responses.append(response)
        lock.unlock()
        done.signal()
    }

    /// How many times the request was answered (exactly once is the contract).
    var answerCount: Int {
        lock.lock(); defer { lock.unlock() }
        return responses.count
    }

    /// Whether it was answered already.
    var isAnswered: Bool { answerCount > 0 }

    /// The answer as the client decodes it, waiting up to `timeout` seconds; nil when none came.
    func wait(timeout: Double = 10) throws -> KafkaStruct? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        done.signal()
        lock.lock()
        let response = responses.first
        lock.unlock()
        guard let body = response??.body else { return nil }
        return try KafkaCodec.decodeResponse(api, version: version, from: try KafkaCodec.encodeResponse(body, api, version: version))
    }
}
