/// A transactional in-memory key-value store of byte strings, the default store of a worker.
///
/// Writes (``put(_:_:)``, ``delete(_:)``) are staged in the current transaction's buffer;
/// ``get(_:)`` sees them first, so a staged delete shadows the committed value. The staged
/// changes go to the changelog inside the transaction (``stagedChanges``, sent by
/// ``StoreChangelog``); after the transaction commits, ``commit()`` applies them; after an
/// abort, ``abort()`` drops them.
///
/// - Invariant: the committed state equals the fold of the committed changelog.
/// - Invariant: `staged` holds at most one entry per key (the last write).
/// Thread-safety: owned by one worker thread; not thread-safe.
package final class KeyValueStore: StateStore {
    /// The store's name (its changelog topic is `<application>-<name>-changelog`).
    package let name: String
    private var committed: [StoreKey: [UInt8]] = [:]
    /// The transaction's writes: a value, or nil for a staged delete.
    private var staged = StagedWrites()
    /// The committed keys in bytewise order, for range scans; brought up to date lazily (from
    /// ``keysAdded`` and ``keysRemoved``) by the first scan after commits changed the key set.
    /// - Invariant: once brought up to date, equals `committed.keys` sorted.
    private var sortedKeys: [[UInt8]] = []
    private var keysAdded: Set<StoreKey> = []
    private var keysRemoved: Set<StoreKey> = []
    /// Whether ``sortedKeys`` must be rebuilt from scratch (after a restore).
    private var sortedKeysStale = false

    /// An empty store.
    package init(name: String) {
        self.name = name
    }

    /// The value of `key`, seeing staged writes first (a staged delete gives nil).
    /// - Complexity: O(1) expected.
    package func get(_ key: [UInt8]) -> [UInt8]? {
        let storeKey = StoreKey(key)
        if let write = staged.write(of: storeKey) { return write }
        return committed[storeKey]
    }

    /// Stages `key` → `value` in the current transaction.
    package func put(_ key: [UInt8], _ value: [UInt8]) {
        staged.put(key, value)
    }

    /// Stages the deletion of `key` (a tombstone in the changelog), shadowing its committed value.
    package func delete(_ key: [UInt8]) {
        staged.delete(key)
    }

    /// Keeps the writes staged so far (the worker calls this after each record it processed).
    package func setSavepoint() { staged.setSavepoint() }

    /// Undoes the writes staged since the last savepoint (a failed record's writes).
    package func rollBackToSavepoint() { staged.rollBackToSavepoint() }

    /// Every live entry as the transaction sees it (committed with staged writes applied), in
    /// key order.
    /// - Complexity: O(n log n).
    package func all() -> [(key: [UInt8], value: [UInt8])] {
        var merged = committed
        for (key, write) in staged.writes { merged[key] = write }
        return merged.map { (key: $0.key.bytes, value: $0.value) }.sorted { bytesPrecede($0.key, $1.key) }
    }

    /// The live entries with `from <= key < to` (bytewise), as the transaction sees them, in
    /// key order.
    /// - Complexity: O(log n + k + s log s) for k committed keys in the range and s staged
    ///   writes, once the sorted key index is up to date (O(n) after commits that added or
    ///   removed keys, O(n log n) after a restore).
    package func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        refreshSortedKeys()
        var committedInRange: [(key: [UInt8], value: [UInt8])] = []
        var index = lowerBound(lower)
        while index < sortedKeys.count, bytesPrecede(sortedKeys[index], upper) {
            if let value = committed[StoreKey(sortedKeys[index])] { committedInRange.append((sortedKeys[index], value)) }
            index += 1
        }
        return staged.view(ofCommitted: committedInRange, from: lower, to: upper)
    }

    /// The index in ``sortedKeys`` of the first key not below `key`.
    private func lowerBound(_ key: [UInt8]) -> Int {
        var low = 0
        var high = sortedKeys.count
        while low < high {
            let middle = (low + high) / 2
            if bytesPrecede(sortedKeys[middle], key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func refreshSortedKeys() {
        if sortedKeysStale {
            sortedKeys = committed.keys.map(\.bytes).sorted(by: bytesPrecede)
            sortedKeysStale = false
            keysAdded = []
            keysRemoved = []
            return
        }
        if !keysRemoved.isEmpty {
            sortedKeys.removeAll { keysRemoved.contains(StoreKey($0)) }
            keysRemoved = []
        }
        if !keysAdded.isEmpty {
            let added = keysAdded.map(\.bytes).sorted(by: bytesPrecede)
            keysAdded = []
            var merged: [[UInt8]] = []
            merged.reserveCapacity(sortedKeys.count + added.count)
            var i = 0
            var j = 0
            while i < sortedKeys.count || j < added.count {
                if j == added.count || (i < sortedKeys.count && bytesPrecede(sortedKeys[i], added[j])) {
                    merged.append(sortedKeys[i])
                    i += 1
                } else {
                    merged.append(added[j])
                    j += 1
                }
            }
            sortedKeys = merged
        }
    }

    /// The number of committed entries (staged writes not counted).
    package var committedCount: Int { committed.count }

    /// The committed value of `key`, ignoring staged writes.
    package func committedValue(_ key: [UInt8]) -> [UInt8]? { committed[StoreKey(key)] }

    // MARK: StateStore

    /// The transaction's changelog records: last write per key, tombstones as nil, in key order.
    /// - Complexity: O(s log s) for s staged keys.
    package var stagedChanges: [ChangelogRecord] {
        staged.changes
    }

    /// Whether the current transaction staged anything.
    package var hasStagedChanges: Bool { !staged.isEmpty }

    /// Applies the staged writes to the committed state; call after the transaction committed.
    package func commit() {
        for (key, write) in staged.writes {
            let existed = committed[key] != nil
            committed[key] = write
            guard !sortedKeysStale else { continue }
            if write != nil && !existed {
                if keysRemoved.remove(key) == nil { keysAdded.insert(key) }
            } else if write == nil && existed {
                if keysAdded.remove(key) == nil { keysRemoved.insert(key) }
            }
        }
        staged.removeAll()
    }

    /// Drops the staged writes; call after the transaction aborted.
    package func abort() {
        staged.removeAll()
    }

    /// The committed entries (no tombstones) in key order, for a checkpoint.
    package func committedRecords() -> [ChangelogRecord] {
        committed.map { ChangelogRecord(key: $0.key.bytes, value: $0.value) }.sorted { bytesPrecede($0.key, $1.key) }
    }

    /// Drops committed and staged state (before a restore).
    package func reset() {
        committed = [:]
        staged.removeAll()
        sortedKeys = []
        keysAdded = []
        keysRemoved = []
        sortedKeysStale = false
    }

    /// Applies one committed changelog record to the committed state (restore); never throws here.
    package func applyCommitted(_ record: ChangelogRecord) throws(StateStoreError) {
        committed[StoreKey(record.key)] = record.value
        sortedKeysStale = true
    }
}
