/// One transaction's writes to a store, as both store backends stage them: per key the last
/// value written, or nil for a delete. Reads see them before the committed state.
///
/// - Invariant: at most one entry per key (the last write).
/// Thread-safety: owned by one worker thread.
struct StagedWrites {
    /// Per key: the value written, or nil for a staged delete.
    private(set) var writes: [StoreKey: [UInt8]?] = [:]

    var isEmpty: Bool { writes.isEmpty }

    /// The staged write of `key`: nil when none; `.some(nil)` for a staged delete.
    func write(of key: StoreKey) -> [UInt8]?? { writes[key] }

    mutating func put(_ key: [UInt8], _ value: [UInt8]) { writes[StoreKey(key)] = .some(value) }
    mutating func delete(_ key: [UInt8]) { writes[StoreKey(key)] = .some(nil) }
    mutating func removeAll() { writes = [:] }

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
