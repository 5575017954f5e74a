/// One changelog record of a store: a key and its new value, or `nil` for a tombstone (the
/// key was deleted).
///
/// For a ``KeyValueStore`` the key is the user key; for a ``WindowStore`` it is the encoded
/// window key (see ``WindowKey``).
package struct ChangelogRecord: Hashable, Sendable {
    /// The record key.
    package var key: [UInt8]
    /// The new value; nil is a tombstone.
    package var value: [UInt8]?
    /// A record setting `key` to `value` (nil: deleting it).
    package init(key: [UInt8], value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// What ``StoreChangelog`` and ``StoreCheckpoint`` need from a store: its staged changes as
/// changelog records, commit and abort of the transaction buffer, and its committed state as
/// changelog records (for checkpoints and restore).
///
/// Every store keeps two layers: the committed state and the writes staged by the current
/// transaction. Reads see the staged writes first.
///
/// - Invariant: the committed state equals the fold of the committed changelog (each key's
///   last record wins; a tombstone removes the key).
/// Thread-safety: a store is owned by one worker thread; no method is thread-safe.
package protocol StateStore: AnyObject {
    /// The store's name, part of its changelog topic and checkpoint path.
    var name: String { get }
    /// The changelog records of the current transaction: the last write per key, in key
    /// order (bytewise).
    var stagedChanges: [ChangelogRecord] { get }
    /// Whether the current transaction staged anything.
    var hasStagedChanges: Bool { get }
    /// Applies the staged writes to the committed state (after the transaction committed).
    func commit()
    /// Drops the staged writes (after the transaction aborted).
    func abort()
    /// The committed state as changelog records (no tombstones), in key order.
    func committedRecords() -> [ChangelogRecord]
    /// Drops everything, committed and staged (before a restore).
    func reset()
    /// Applies one committed changelog record directly to the committed state (restore).
    /// - Throws: `.corruptChangelog` when the record's key cannot belong to this store.
    func applyCommitted(_ record: ChangelogRecord) throws(StateStoreError)
}

/// Bytewise lexicographic order of byte strings (the order of changelog records and checkpoint
/// entries; a prefix sorts first).
@inline(__always)
package func bytesPrecede(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    lhs.lexicographicallyPrecedes(rhs)
}
