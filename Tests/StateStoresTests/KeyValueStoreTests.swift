import EngineTestSupport
import Testing
import StreamCore
import StateStores

@Suite struct KeyValueStoreTests {
    @Test func readsSeeStagedWritesAndCommitAppliesThem() {
        let store = KeyValueStore(name: "s")
        store.put([UInt8]("a"), [UInt8]("1"))
        #expect(text(store.get([UInt8]("a"))) == "1")
        #expect(store.committedValue([UInt8]("a")) == nil)
        #expect(store.hasStagedChanges)
        store.commit()
        #expect(text(store.committedValue([UInt8]("a"))) == "1")
        #expect(!store.hasStagedChanges)
        #expect(store.stagedChanges.isEmpty)
    }

    @Test func abortRestoresTheCommittedState() {
        let store = KeyValueStore(name: "s")
        store.put([UInt8]("a"), [UInt8]("1"))
        store.commit()
        store.put([UInt8]("a"), [UInt8]("2"))
        store.put([UInt8]("b"), [UInt8]("3"))
        store.delete([UInt8]("a"))
        #expect(store.get([UInt8]("a")) == nil)
        store.abort()
        #expect(contents(store) == ["a": "1"])
    }

    @Test func stagedDeleteShadowsAndBecomesATombstone() {
        let store = KeyValueStore(name: "s")
        store.put([UInt8]("a"), [UInt8]("1"))
        store.put([UInt8]("b"), [UInt8]("2"))
        store.commit()
        store.delete([UInt8]("a"))
        #expect(store.get([UInt8]("a")) == nil)
        #expect(contents(store) == ["b": "2"])
        #expect(store.stagedChanges == [ChangelogRecord(key: [UInt8]("a"), value: nil)])
        store.commit()
        #expect(store.committedCount == 1)
        #expect(store.committedRecords() == [ChangelogRecord(key: [UInt8]("b"), value: [UInt8]("2"))])
    }

    @Test func stagedChangesKeepTheLastWritePerKeyInKeyOrder() {
        let store = KeyValueStore(name: "s")
        store.put([UInt8]("b"), [UInt8]("1"))
        store.put([UInt8]("a"), [UInt8]("1"))
        store.put([UInt8]("b"), [UInt8]("2"))
        store.delete([UInt8]("c"))
        store.put([UInt8]("ab"), [UInt8]("x"))
        store.delete([UInt8]("a"))
        #expect(store.stagedChanges == [
            ChangelogRecord(key: [UInt8]("a"), value: nil),
            ChangelogRecord(key: [UInt8]("ab"), value: [UInt8]("x")),
            ChangelogRecord(key: [UInt8]("b"), value: [UInt8]("2")),
            ChangelogRecord(key: [UInt8]("c"), value: nil),
        ])
    }

    @Test func rangeIsHalfOpenAndSeesStagedWrites() {
        let store = KeyValueStore(name: "s")
        for key in ["a", "b", "c", "d"] { store.put([UInt8](key), [UInt8](key)) }
        store.commit()
        store.delete([UInt8]("b"))
        store.put([UInt8]("bb"), [UInt8]("x"))
        #expect(store.range(from: [UInt8]("b"), to: [UInt8]("d")).map { text($0.key)! } == ["bb", "c"])
    }

    /// Committed state equals the fold of the changelog of committed transactions.
    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func committedStateIsTheFoldOfCommittedChanges(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let store = KeyValueStore(name: "s")
        var changelog: [ChangelogRecord] = []
        for _ in 0..<200 {
            for _ in 0..<Int(random.next() % 6) {
                let key = [UInt8]("k\(random.next() % 9)")
                if random.next() % 4 == 0 { store.delete(key) } else { store.put(key, [UInt8]("\(random.next() % 100)")) }
            }
            if random.next() % 3 == 0 {
                store.abort()
            } else {
                changelog += store.stagedChanges
                store.commit()
            }
        }
        var fold: [[UInt8]: [UInt8]] = [:]
        for record in changelog { fold[record.key] = record.value }
        let expected = fold.map { ChangelogRecord(key: $0.key, value: $0.value) }.sorted { bytesPrecede($0.key, $1.key) }
        #expect(store.committedRecords() == expected, "seed \(seed)")
    }

    /// Range scans (served from the sorted key index) equal a sorted filter of the reference
    /// state, across commits that add, remove and re-add keys, aborts and a restore.
    @Test(arguments: [7, 8, 9, 1234] as [UInt64])
    func rangeScansMatchASortedReference(seed: UInt64) throws {
        let store = KeyValueStore(name: "s")
        try checkRangeScans(seed: seed, rounds: 300, store: { store }, commit: { _ in store.commit() }) { round in
            if round == 150 {
                let committed = store.committedRecords()
                store.reset()
                for record in committed { try store.applyCommitted(record) }
            }
        }
    }
}

/// Random writes, deletes, aborts and commits against a store, checking after each round that a
/// random range scan equals a sorted filter of a reference map of the transaction's view.
/// `afterRound` may reopen or restore the store (`store` gives the current one).
func checkRangeScans(
    seed: UInt64, rounds: Int, store: () -> any KeyValueAccess, commit: (Int) throws -> Void, afterRound: (Int) throws -> Void
) throws {
    var random = SeededRandom(seed: seed)
    var committed: [[UInt8]: [UInt8]] = [:]
    for round in 0..<rounds {
        var view = committed
        for _ in 0..<Int(random.next() % 8) {
            let key = [UInt8]("k\(random.next() % 40)")
            if random.next() % 3 == 0 {
                store().delete(key)
                view[key] = nil
            } else {
                let value = [UInt8]("\(random.next() % 100)")
                store().put(key, value)
                view[key] = value
            }
        }
        let lower = [UInt8]("k\(random.next() % 40)")
        let upper = [UInt8]("k\(random.next() % 40)")
        let expected = view.filter { !bytesPrecede($0.key, lower) && bytesPrecede($0.key, upper) }.sorted { bytesPrecede($0.key, $1.key) }
        let actual = store().range(from: lower, to: upper)
        #expect(actual.map(\.key) == expected.map(\.key) && actual.map(\.value) == expected.map(\.value), "seed \(seed) round \(round)")
        if random.next() % 4 == 0 {
            store().abort()
        } else {
            try commit(round)
            committed = view
        }
        try afterRound(round)
    }
}
