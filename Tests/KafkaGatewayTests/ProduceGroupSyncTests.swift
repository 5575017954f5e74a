import Foundation
import Synchronization
import Testing
import StreamCore
import LogStorage
import Transactions
import KafkaProtocol
import KafkaServer
import KafkaBroker
import Simulation
@testable import KafkaGateway

/// acks=all through the gateway: the answer waits for a sync, the connection does not, and
/// requests waiting together share the sync.
@Suite struct ProduceGroupSyncTests {
    @Test("while an acks=all Produce waits for its sync, the same connection's next request is answered, and a second producer's wait shares the next sync")
    func theConnectionGoesOnWhileTheSyncRuns() throws {
        let storage = SyncGateStorage(disk: SimulatedDisk(seed: 11))
        let log = try LogManager.open(directory: "/data", storage: storage)
        let coordinator = try TransactionCoordinator(log: log)
        let gateway = try KafkaGateway(log: log, coordinator: coordinator)
        defer { gateway.close(); log.close() }
        let fixture = Exchange(gateway: gateway)
        #expect(fixture.createTopic("orders"))

        storage.holdNextLogSync()
        let first = fixture.send(.produce, version: 9, Requests.produce("orders", clientBatch(["a"])), connection: 1)
        #expect(storage.waitUntilHeld(seconds: 10), "the first Produce's sync reached the disk")
        let metadata = fixture.send(.metadata, version: 12, .request(.metadata), connection: 1)
        #expect(metadata.wait(seconds: 10) != nil, "the connection's next request was answered while the sync ran")
        let second = fixture.send(.produce, version: 9, Requests.produce("orders", clientBatch(["b"])), connection: 2)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!first.isAnswered && !second.isAnswered, "neither acks=all answer goes out before its sync")
        let syncsBeforeRelease = storage.logSyncs
        storage.release()
        let firstAnswer = try #require(first.wait(seconds: 10))
        let secondAnswer = try #require(second.wait(seconds: 10))
        #expect(firstAnswer.firstPartition.int16("errorCode") == 0)
        #expect(firstAnswer.firstPartition.int64("baseOffset") == 0)
        #expect(secondAnswer.firstPartition.int16("errorCode") == 0)
        #expect(secondAnswer.firstPartition.int64("baseOffset") == 1)
        #expect(storage.logSyncs == syncsBeforeRelease + 1, "the second Produce's wait cost one more sync")
    }

    @Test("a failed sync answers the acks=all Produce KAFKA_STORAGE_ERROR, and the directory takes no more writes")
    func aFailedSyncIsAStorageError() throws {
        let disk = SimulatedDisk(seed: 12)
        let log = try LogManager.open(directory: "/data", storage: disk)
        let coordinator = try TransactionCoordinator(log: log)
        let gateway = try KafkaGateway(log: log, coordinator: coordinator)
        defer { gateway.close(); log.close() }
        let fixture = Exchange(gateway: gateway)
        #expect(fixture.createTopic("orders"))
        disk.faults = .init(syncFailureProbability: 1)
        let refused = try #require(fixture.send(.produce, version: 9, Requests.produce("orders", clientBatch(["a"]))).wait(seconds: 10))
        #expect(refused.firstPartition.int16("errorCode") == 56)
        disk.faults = .none
        let after = try #require(fixture.send(.produce, version: 9, Requests.produce("orders", clientBatch(["b"]), acks: 1)).wait(seconds: 10))
        #expect(after.firstPartition.int16("errorCode") == 56)
    }
}

/// Requests sent to a gateway and their answers, waited for one by one.
private struct Exchange {
    let gateway: KafkaGateway

    func createTopic(_ name: String) -> Bool {
        let created = gateway.broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: name, numPartitions: 1)]))
        return created.topics[0].errorCode == .none
    }

    func send(_ api: KafkaAPI, version: Int16, _ body: KafkaStruct, connection: UInt64 = 1) -> AwaitedAnswer {
        let pending = AwaitedAnswer()
        let header = KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: 1, clientId: "test")
        gateway.handle(KafkaRequest(header: header, api: api, body: body),
                       context: KafkaConnectionContext(connectionId: connection, remoteAddress: "127.0.0.1:1", clientId: "test")) {
            pending.set($0?.body)
        }
        return pending
    }
}

private final class AwaitedAnswer: Sendable {
    private let answer = Mutex<KafkaStruct?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func set(_ body: KafkaStruct?) {
        answer.withLock { $0 = body }
        done.signal()
    }

    var isAnswered: Bool { answer.withLock { $0 != nil } }

    func wait(seconds: Double) -> KafkaStruct? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        done.signal()
        return answer.withLock { $0 }
    }
}

/// A ``Storage`` over a ``SimulatedDisk`` that can hold the next sync of topic `orders`'s `.log`
/// at a gate, and counts those syncs.
private final class SyncGateStorage: Storage {
    let disk: SimulatedDisk
    private let armed = Mutex(false)
    private let syncs = Mutex(0)
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    init(disk: SimulatedDisk) { self.disk = disk }

    func holdNextLogSync() { armed.withLock { $0 = true } }
    func waitUntilHeld(seconds: Double) -> Bool { held.wait(timeout: .now() + seconds) == .success }
    func release() { released.signal() }
    var logSyncs: Int { syncs.withLock { $0 } }

    func willSync(_ path: String) {
        guard path.contains("orders"), path.hasSuffix(".log") else { return }
        syncs.withLock { $0 += 1 }
        let hold = armed.withLock { armed -> Bool in
            defer { armed = false }
            return armed
        }
        guard hold else { return }
        held.signal()
        released.wait()
    }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        SyncGateFile(base: try disk.openFile(path, mode: mode), owner: self)
    }
    func exists(_ path: String) -> Bool { disk.exists(path) }
    func isDirectory(_ path: String) -> Bool { disk.isDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try disk.listDirectory(path) }
    func createDirectory(_ path: String) throws(StorageError) { try disk.createDirectory(path) }
    func removeFile(_ path: String) throws(StorageError) { try disk.removeFile(path) }
    func removeDirectory(_ path: String) throws(StorageError) { try disk.removeDirectory(path) }
    func rename(_ from: String, to: String) throws(StorageError) { try disk.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { try disk.syncDirectory(path) }
    func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        try disk.lockDirectory(path, owner: owner)
    }
}

private final class SyncGateFile: StorageFile {
    let base: any StorageFile
    let owner: SyncGateStorage

    init(base: any StorageFile, owner: SyncGateStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] { try base.read(at: position, count: count) }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) { try base.write(bytes, at: position) }
    func sync() throws(StorageError) {
        owner.willSync(path)
        try base.sync()
    }
    func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
    func close() { base.close() }
}
