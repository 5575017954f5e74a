import EngineTestSupport
import Testing
import StreamCore
import StateStores

@Suite struct WindowStoreTests {
    private func ts(_ milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds) }

    @Test func windowKeyEncodingIsKeyThenBigEndianStart() {
        let key = WindowKey(key: [0x61, 0x62], windowStart: ts(0x0102_0304_0506_0708))
        #expect(key.encoded == [0x61, 0x62, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        #expect(WindowKey(encoded: key.encoded) == key)
        #expect(WindowKey(encoded: [1, 2, 3]) == nil)
        let empty = WindowKey(key: [], windowStart: ts(-1))
        #expect(empty.encoded == [UInt8](repeating: 0xFF, count: 8))
        #expect(WindowKey(encoded: empty.encoded) == empty)
    }

    @Test func fetchSeesStagedWritesAndAbortDropsThem() {
        let store = WindowStore(name: "w")
        store.put(key: [UInt8]("a"), windowStart: ts(0), value: [UInt8]("1"))
        store.put(key: [UInt8]("a"), windowStart: ts(100), value: [UInt8]("2"))
        store.put(key: [UInt8]("b"), windowStart: ts(0), value: [UInt8]("3"))
        store.commit()
        store.put(key: [UInt8]("a"), windowStart: ts(200), value: [UInt8]("4"))
        store.delete(key: [UInt8]("a"), windowStart: ts(0))
        #expect(store.fetch(key: [UInt8]("a"), from: ts(0), to: ts(1000)).map { text($0.value)! } == ["2", "4"])
        #expect(store.fetch(key: [UInt8]("a"), from: ts(100), to: ts(100)).map(\.windowStart) == [ts(100)])
        store.abort()
        #expect(store.fetch(key: [UInt8]("a"), from: ts(0), to: ts(1000)).map { text($0.value)! } == ["1", "2"])
        #expect(store.committedCount == 3)
    }

    @Test func expireStagesTombstonesForOldWindows() {
        let store = WindowStore(name: "w")
        for start in [0, 100, 200] as [Int64] {
            store.put(key: [UInt8]("a"), windowStart: ts(start), value: [UInt8]("\(start)"))
        }
        store.commit()
        store.put(key: [UInt8]("b"), windowStart: ts(50), value: [UInt8]("staged"))
        #expect(store.expire(before: ts(150)) == 3)
        #expect(store.fetch(key: [UInt8]("a"), from: ts(0), to: ts(1000)).map(\.windowStart) == [ts(200)])
        #expect(store.fetch(key: [UInt8]("b"), from: ts(0), to: ts(1000)).isEmpty)
        #expect(store.stagedChanges == [
            ChangelogRecord(key: WindowKey(key: [UInt8]("a"), windowStart: ts(0)).encoded, value: nil),
            ChangelogRecord(key: WindowKey(key: [UInt8]("a"), windowStart: ts(100)).encoded, value: nil),
            ChangelogRecord(key: WindowKey(key: [UInt8]("b"), windowStart: ts(50)).encoded, value: nil),
        ])
        store.commit()
        #expect(store.committedCount == 1)
        #expect(store.expire(before: ts(150)) == 0)
    }

    @Test func appliedChangelogRebuildsTheCommittedState() throws {
        let store = WindowStore(name: "w")
        store.put(key: [UInt8]("a"), windowStart: ts(0), value: [UInt8]("1"))
        store.put(key: [UInt8]("c"), windowStart: ts(10), value: [UInt8]("2"))
        store.commit()
        store.delete(key: [UInt8]("a"), windowStart: ts(0))
        let changes = store.stagedChanges
        store.commit()
        let copy = WindowStore(name: "w")
        for record in [ChangelogRecord(key: WindowKey(key: [UInt8]("a"), windowStart: ts(0)).encoded, value: [UInt8]("1")),
                       ChangelogRecord(key: WindowKey(key: [UInt8]("c"), windowStart: ts(10)).encoded, value: [UInt8]("2"))] + changes {
            try copy.applyCommitted(record)
        }
        #expect(copy.committedRecords() == store.committedRecords())
        #expect(throws: StateStoreError.self) { try copy.applyCommitted(ChangelogRecord(key: [1], value: nil)) }
    }
}
