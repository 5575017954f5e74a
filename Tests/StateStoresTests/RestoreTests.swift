import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import StateStores
import Simulation

/// Restore = checkpoint + committed changelog tail, on the simulated disk.
@Suite struct RestoreTests {
    let application = "app"
    let partition = PartitionID(1)

    /// Runs one transaction of `writes` (nil value = delete) through the producer and changelog;
    /// commits or aborts it.
    private func transaction(
        _ writes: [(String, String?)], store: KeyValueStore, changelog: StoreChangelog, producer: TransactionalProducer, commit: Bool = true
    ) throws {
        try producer.beginTransaction()
        for (key, value) in writes {
            if let value { store.put([UInt8](key), [UInt8](value)) } else { store.delete([UInt8](key)) }
        }
        try changelog.send(through: producer)
        if commit {
            try producer.commitTransaction()
            try changelog.transactionCommitted()
        } else {
            try producer.abortTransaction()
            changelog.transactionAborted()
        }
    }

    /// A fresh store restored from the engine's disk.
    private func restored(_ engine: TestEngine) throws -> (KeyValueStore, RestoreSummary) {
        let store = KeyValueStore(name: "counts")
        let changelog = try StoreChangelog(log: engine.log, application: application, store: store, partition: partition, partitionCount: 3)
        let summary = try changelog.restore()
        return (store, summary)
    }

    private func setUp() throws -> (TestEngine, KeyValueStore, StoreChangelog, TransactionalProducer) {
        let engine = try TestEngine()
        let producer = try engine.producer()
        let store = KeyValueStore(name: "counts")
        let changelog = try StoreChangelog(log: engine.log, application: application, store: store, partition: partition, partitionCount: 3)
        try changelog.restore()
        return (engine, store, changelog, producer)
    }

    @Test func createsACompactedChangelogTopic() throws {
        let (engine, _, changelog, _) = try setUp()
        let topic = try engine.log.topic(TopicName(rawValue: "app-counts-changelog")!)
        #expect(topic.partitionCount == 3)
        #expect(topic.config.cleanupPolicy == .compact)
        #expect(changelog.topicPartition == TopicPartition(topic.name, partition))
        #expect(throws: StateStoreError.self) {
            try StoreChangelog.ensureTopic(log: engine.log, application: application, store: "counts", partitionCount: 2)
        }
        #expect(throws: StateStoreError.self) { try StoreChangelog.topicName(application: "bad name", store: "s") }
    }

    @Test func checkpointPlusChangelogTailEqualsCommittedState() throws {
        let (engine, store, changelog, producer) = try setUp()
        try transaction([("a", "1"), ("b", "1")], store: store, changelog: changelog, producer: producer)
        try transaction([("a", "2"), ("c", "1")], store: store, changelog: changelog, producer: producer)
        try changelog.checkpoint()
        let checkpointOffset = changelog.changelogOffset
        try transaction([("b", nil), ("d", "1")], store: store, changelog: changelog, producer: producer)
        try transaction([("a", "3")], store: store, changelog: changelog, producer: producer)
        store.put([UInt8]("staged"), [UInt8]("never committed"))
        try changelog.checkpoint() // only committed state goes into a checkpoint
        try transaction([("e", "1")], store: store, changelog: changelog, producer: producer, commit: false)
        let expected = ["a": "3", "c": "1", "d": "1"]
        #expect(contents(store) == expected)

        try engine.crashAndReopen()
        let (fromCheckpoint, summary) = try restored(engine)
        #expect(contents(fromCheckpoint) == expected)
        guard case .checkpoint(let offset) = summary.start else {
            Issue.record("expected a restore from the checkpoint, got \(summary.start)")
            return
        }
        #expect(offset > checkpointOffset)
        #expect(summary.checkpointEntries == 3)
        #expect(summary.changelogRecords == 0)
    }

    @Test func tailAfterAnOlderCheckpointIsApplied() throws {
        let (engine, store, changelog, producer) = try setUp()
        try transaction([("a", "1"), ("b", "1")], store: store, changelog: changelog, producer: producer)
        try changelog.checkpoint()
        try transaction([("b", nil), ("c", "1")], store: store, changelog: changelog, producer: producer)
        try transaction([("x", "1")], store: store, changelog: changelog, producer: producer, commit: false)
        try transaction([("a", "2")], store: store, changelog: changelog, producer: producer)
        try engine.crashAndReopen()
        let (restoredStore, summary) = try restored(engine)
        #expect(contents(restoredStore) == ["a": "2", "c": "1"])
        #expect(summary.checkpointEntries == 2)
        #expect(summary.changelogRecords == 3)
        if case .checkpoint = summary.start {} else { Issue.record("expected a checkpoint start, got \(summary.start)") }
    }

    @Test func missingCheckpointFallsBackToTheFullChangelog() throws {
        let (engine, store, changelog, producer) = try setUp()
        try transaction([("a", "1"), ("b", "1")], store: store, changelog: changelog, producer: producer)
        try transaction([("b", nil), ("c", "1")], store: store, changelog: changelog, producer: producer)
        let (restoredStore, summary) = try restored(engine)
        #expect(contents(restoredStore) == ["a": "1", "c": "1"])
        #expect(summary.start == .changelogStart(reason: "no checkpoint"))
    }

    @Test(arguments: [0, 5, 9, 15, 30] as [Int64])
    func corruptedCheckpointFallsBackToTheFullChangelog(position: Int64) throws {
        let (engine, store, changelog, producer) = try setUp()
        try transaction([("a", "1"), ("b", "1")], store: store, changelog: changelog, producer: producer)
        try changelog.checkpoint()
        try transaction([("b", nil), ("c", "1")], store: store, changelog: changelog, producer: producer)
        engine.disk.corruptByte(path: changelog.checkpointFile.path, position: position)
        let (restoredStore, summary) = try restored(engine)
        #expect(contents(restoredStore) == ["a": "1", "c": "1"])
        guard case .changelogStart(let reason) = summary.start, reason.contains("corrupt") else {
            Issue.record("expected a fallback for corruption, got \(summary.start)")
            return
        }
    }

    @Test func checkpointBeyondTheChangelogEndIsDiscarded() throws {
        let (engine, store, changelog, producer) = try setUp()
        try transaction([("a", "1")], store: store, changelog: changelog, producer: producer)
        // A checkpoint claiming state the changelog does not have (the changelog was lost).
        try changelog.checkpointFile.write(changelogOffset: Offset(1000), records: [ChangelogRecord(key: [UInt8]("ghost"), value: [1])])
        let (restoredStore, summary) = try restored(engine)
        #expect(contents(restoredStore) == ["a": "1"])
        guard case .changelogStart(let reason) = summary.start, reason.contains("beyond") else {
            Issue.record("expected a fallback for a checkpoint beyond the end, got \(summary.start)")
            return
        }
    }

    @Test func abortedTransactionsNeverReachARestoredStore() throws {
        let engine = try TestEngine()
        // Tiny batches: every send flushes the previous record, so open transactions reach the log.
        let producer = try engine.producer(batchBytesMax: 64)
        let store = KeyValueStore(name: "counts")
        let changelog = try StoreChangelog(log: engine.log, application: application, store: store, partition: partition, partitionCount: 3)
        try changelog.restore()
        try transaction([("a", "1")], store: store, changelog: changelog, producer: producer)
        try transaction([("a", "aborted"), ("z", "aborted"), ("y", "aborted")], store: store, changelog: changelog, producer: producer, commit: false)
        try transaction([("b", "1")], store: store, changelog: changelog, producer: producer)
        // An open transaction when the process dies: aborted by the next holder's initTransactions.
        try producer.beginTransaction()
        for key in ["open1", "open2", "open3"] { store.put([UInt8](key), [UInt8]("x")) }
        try changelog.send(through: producer)
        let changelogPartition = try engine.log.partition(changelog.topicPartition)
        #expect(changelogPartition.lastStableOffset < changelogPartition.logEndOffset)
        try engine.crashAndReopen()
        let early = KeyValueStore(name: "counts")
        let earlyChangelog = try StoreChangelog(log: engine.log, application: application, store: early, partition: partition, partitionCount: 3)
        let reopened = try engine.log.partition(changelog.topicPartition)
        if reopened.lastStableOffset < reopened.logEndOffset {
            // Restoring while the previous holder's transaction is open is refused.
            #expect(throws: StateStoreError.self) { try earlyChangelog.restore() }
        }
        _ = try engine.producer()
        let (restoredStore, summary) = try restored(engine)
        #expect(contents(restoredStore) == ["a": "1", "b": "1"])
        #expect(summary.changelogRecords == 2)
    }

    @Test func windowStoreRestoresFromCheckpointAndChangelog() throws {
        let engine = try TestEngine()
        let producer = try engine.producer()
        let store = WindowStore(name: "windows")
        let changelog = try StoreChangelog(log: engine.log, application: application, store: store, partition: partition, partitionCount: 3)
        try changelog.restore()
        func commit(_ body: () -> Void) throws {
            try producer.beginTransaction()
            body()
            try changelog.send(through: producer)
            try producer.commitTransaction()
            try changelog.transactionCommitted()
        }
        try commit {
            store.put(key: [UInt8]("a"), windowStart: Timestamp(milliseconds: 0), value: [1])
            store.put(key: [UInt8]("a"), windowStart: Timestamp(milliseconds: 60_000), value: [2])
        }
        try changelog.checkpoint()
        try commit {
            store.put(key: [UInt8]("b"), windowStart: Timestamp(milliseconds: 60_000), value: [3])
            store.expire(before: Timestamp(milliseconds: 30_000))
        }
        try engine.crashAndReopen()
        let copy = WindowStore(name: "windows")
        let copyChangelog = try StoreChangelog(log: engine.log, application: application, store: copy, partition: partition, partitionCount: 3)
        try copyChangelog.restore()
        #expect(copy.committedRecords() == store.committedRecords())
        #expect(copy.fetch(key: [UInt8]("a"), from: Timestamp(milliseconds: 0), to: Timestamp(milliseconds: 100_000)).map(\.value) == [[2]])
    }
}
