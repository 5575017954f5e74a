import Foundation
import Testing
import EngineTestSupport
import StreamCore
import LogStorage
import Transactions
import StateStores

/// The RocksDB-backed store: the same transactional semantics as the in-memory store, its own
/// durability (state + changelog offset in one batch), and restores that replay only the
/// changelog after its offset.
@Suite struct RocksDBStoreTests {
    /// A fresh database directory, removed at the end of the test process's temp cleanup.
    private func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-rocksdb-\(UUID().uuidString)").appendingPathComponent("0.rocksdb").path
    }

    private func contents(_ store: RocksDBStore) -> [String: String] {
        var result: [String: String] = [:]
        for record in store.committedRecords() { result[text(record.key)!] = text(record.value)! }
        return result
    }

    @Test func stagedWritesAreSeenAndCommitOrAbortDecides() throws {
        let store = try RocksDBStore(name: "s", path: databasePath())
        store.put([UInt8]("a"), [UInt8]("1"))
        #expect(text(store.get([UInt8]("a"))) == "1")
        #expect(store.committedValue([UInt8]("a")) == nil)
        try store.commit(reflecting: Offset(1))
        store.delete([UInt8]("a"))
        store.put([UInt8]("b"), [UInt8]("2"))
        #expect(store.get([UInt8]("a")) == nil, "a staged delete shadows the committed value")
        #expect(store.stagedChanges == [ChangelogRecord(key: [UInt8]("a"), value: nil), ChangelogRecord(key: [UInt8]("b"), value: [UInt8]("2"))])
        store.abort()
        #expect(contents(store) == ["a": "1"])
        #expect(store.durableChangelogOffset == Offset(1))
    }

    /// `sluice_state_store_keys` of a RocksDB store: RocksDB's estimate, without the offset key.
    @Test func committedKeyCountIsRocksDBsEstimateOfTheDataKeys() throws {
        let store = try RocksDBStore(name: "s", path: databasePath())
        #expect(store.committedKeyCount == 0)
        for index in 0..<250 { store.put([UInt8]("k\(index)"), [UInt8]("v")) }
        #expect(store.committedKeyCount == 0, "staged writes are not committed keys")
        try store.commit(reflecting: Offset(1))
        #expect(store.committedKeyCount == 250)
        let inMemory = KeyValueStore(name: "m")
        for index in 0..<7 { inMemory.put([UInt8]("k\(index)"), [UInt8]("v")) }
        inMemory.commit()
        inMemory.delete([UInt8]("k0"))
        inMemory.commit()
        #expect(inMemory.committedKeyCount == 6, "exact in memory")
    }

    @Test func stateAndOffsetSurviveReopening() throws {
        let path = databasePath()
        do {
            let store = try RocksDBStore(name: "s", path: path)
            #expect(store.durableChangelogOffset == nil)
            for index in 0..<1000 { store.put([UInt8]("k\(index)"), [UInt8]("v\(index)")) }
            try store.commit(reflecting: Offset(17))
            store.put([UInt8]("staged"), [UInt8]("never committed"))
            store.close()
        }
        let reopened = try RocksDBStore(name: "s", path: path)
        #expect(reopened.durableChangelogOffset == Offset(17))
        #expect(contents(reopened).count == 1000)
        #expect(reopened.get([UInt8]("staged")) == nil)
        reopened.reset()
        #expect(reopened.durableChangelogOffset == nil)
        #expect(contents(reopened).isEmpty)
    }

    /// Range scans equal a sorted filter of a reference, across commits, aborts and reopening.
    @Test(arguments: [3, 4, 5] as [UInt64])
    func rangeScansMatchASortedReference(seed: UInt64) throws {
        let path = databasePath()
        var store = try RocksDBStore(name: "s", path: path)
        try checkRangeScans(seed: seed, rounds: 200, store: { store }, commit: { round in try store.commit(reflecting: Offset(Int64(round))) }) { round in
            if round == 100 {
                store.close()
                store = try RocksDBStore(name: "s", path: path)
            }
        }
    }

    /// Through the changelog: a crash after a transaction committed but before the store
    /// applied it leaves the database one transaction behind; the restore replays just that
    /// transaction from the store's own offset. A database from elsewhere (offset beyond the
    /// changelog) is wiped and rebuilt from the whole changelog.
    @Test func restoreReplaysOnlyTheChangelogAfterTheStoresOffset() throws {
        let engine = try TestEngine()
        let producer = try engine.producer()
        let path = databasePath()
        var store = try RocksDBStore(name: "counts", path: path)
        var changelog = try StoreChangelog(log: engine.log, application: "app", store: store, partition: PartitionID(0), partitionCount: 1)
        #expect(try changelog.restore().start == .changelogStart(reason: "a new store"))
        for round in 0..<5 {
            try producer.beginTransaction()
            store.put([UInt8]("round"), [UInt8]("\(round)"))
            store.put([UInt8]("key-\(round)"), [UInt8]("x"))
            try changelog.send(through: producer)
            try producer.commitTransaction()
            if round < 4 { try changelog.transactionCommitted() }
        }
        let behind = store.durableChangelogOffset
        store.close()

        store = try RocksDBStore(name: "counts", path: path)
        #expect(contents(store)["round"] == "3", "the store missed the last committed transaction")
        changelog = try StoreChangelog(log: engine.log, application: "app", store: store, partition: PartitionID(0), partitionCount: 1)
        let summary = try changelog.restore()
        #expect(summary.start == .checkpoint(behind!))
        #expect(summary.changelogRecords == 2, "only the missed transaction is replayed")
        #expect(contents(store) == ["round": "4", "key-0": "x", "key-1": "x", "key-2": "x", "key-3": "x", "key-4": "x"])
        #expect(store.durableChangelogOffset == changelog.changelogOffset)

        try store.commit(reflecting: Offset(1_000_000))
        store.put([UInt8]("stray"), [UInt8]("y"))
        try store.commit(reflecting: Offset(1_000_000))
        store.close()
        store = try RocksDBStore(name: "counts", path: path)
        changelog = try StoreChangelog(log: engine.log, application: "app", store: store, partition: PartitionID(0), partitionCount: 1)
        let rebuilt = try changelog.restore()
        guard case .changelogStart = rebuilt.start else {
            Issue.record("a store ahead of its changelog must be rebuilt, got \(rebuilt.start)")
            return
        }
        #expect(contents(store) == ["round": "4", "key-0": "x", "key-1": "x", "key-2": "x", "key-3": "x", "key-4": "x"])
    }

    @Test func anUnopenableDatabaseIsAClearError() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-not-a-dir-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        #expect {
            _ = try RocksDBStore(name: "s", path: file.appendingPathComponent("0.rocksdb").path)
        } throws: { error in
            guard let error = error as? StateStoreError else { return false }
            return error.message.contains("store 's'")
        }
    }
}
