/// One transaction's writes to a store, as both store backends stage them: per key the last
/// value written, or nil for a delete. Reads see them before the committed state.
///
/// A savepoint (``setSavepoint()``) marks the writes so far as kept; ``rollBackToSavepoint()``
/// undoes every write after it, so a record that fails leaves none of its writes staged. The
/// worker sets one after each record it processed. The undo log holds one entry per write since
/// the savepoint (the key and what was staged for it before), so a write costs one hash lookup,
/// as without savepoints, plus one append.
///
/// - Invariant: at most one entry per key (the last write).
/// - Invariant: applying `undo` from last to first to `writes` gives the writes at the savepoint.
/// Thread-safety: owned by one worker thread.
struct StagedWrites {
    /// Per key: the value written, or nil for a staged delete.
    private(set) var writes: [StoreKey: [UInt8]?] = [:]
    /// The writes since the savepoint, oldest first: the key and its staged write before (nil
    /// when it had none).
    private var undo: [(key: StoreKey, previous: [UInt8]??)] = []

    var isEmpty: Bool { writes.isEmpty }

    /// The staged write of `key`: nil when none; `.some(nil)` for a staged delete.
    func write(of key: StoreKey) -> [UInt8]?? { writes[key] }

    mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        let storeKey = StoreKey(key)
        undo.append((storeKey, writes.updateValue(.some(value), forKey: storeKey)))
    }

    mutating func delete(_ key: [UInt8]) {
        let storeKey = StoreKey(key)
        undo.append((storeKey, writes.updateValue([UInt8]?.none, forKey: storeKey)))
    }

    /// Drops every staged write (after a commit applied them, or an abort).
    mutating func removeAll() {
        writes = [:]
        undo.removeAll(keepingCapacity: true)
    }

    /// Keeps the writes so far: a later ``rollBackToSavepoint()`` undoes only writes after this.
    /// - Complexity: O(1) amortized (the undo log is emptied, its storage kept).
    mutating func setSavepoint() {
        if !undo.isEmpty { undo.removeAll(keepingCapacity: true) }
    }

    /// Undoes every write since the last savepoint (or since the transaction began).
    /// - Complexity: O(w) for w writes since the savepoint.
    mutating func rollBackToSavepoint() {
        while let entry = undo.popLast() {
            if let previous = entry.previous {
                writes.updateValue(previous, forKey: entry.key)
            } else {
                writes.removeValue(forKey: entry.key)
            }
        }
    }

    /// The writes as changelog records, in key order (tombstones as nil values).
    /// - Complexity: O(s log s).
    var changes: [ChangelogRecord] {
        writes.map { ChangelogRecord(key: $0.key.bytes, value: $0.value) }.sorted { bytesPrecede($0.key, $1.key) }
    }

    /// The transaction's view of `lower <= key < upper`: `committed` (the committed entries in
    /// that range, in key order) without the keys staged here, plus the staged values in range,
    /// in key order.
    /// - Complexity: O(k + s) when nothing staged falls in the range, else O((k + s) log(k + s)).
    func view(ofCommitted committed: [(key: [UInt8], value: [UInt8])], from lower: [UInt8], to upper: [UInt8])
        -> [(key: [UInt8], value: [UInt8])] {
        guard !writes.isEmpty else { return committed }
        let unshadowed = committed.filter { writes[StoreKey($0.key)] == nil }
        let stagedInRange = writes.compactMap { entry -> (key: [UInt8], value: [UInt8])? in
            guard let value = entry.value, !bytesPrecede(entry.key.bytes, lower), bytesPrecede(entry.key.bytes, upper) else { return nil }
            return (entry.key.bytes, value)
        }
        guard !stagedInRange.isEmpty else { return unshadowed }
        return (unshadowed + stagedInRange).sorted { bytesPrecede($0.key, $1.key) }
    }
}

/// A store key: bytes hashed in one call (`Hasher.combine(bytes:)`), where `[UInt8]`'s own
/// `Hashable` feeds the hasher one byte at a time — the difference is most of a lookup's cost.
struct StoreKey: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: StoreKey, rhs: StoreKey) -> Bool { lhs.bytes == rhs.bytes }
}
