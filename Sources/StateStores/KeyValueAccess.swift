package import StreamCore

/// What operators do with a key-value store, whichever backend holds its committed state: reads
/// see the current transaction's staged writes first; writes are staged until the transaction
/// commits (see ``StateStore``).
///
/// Thread-safety: owned by one worker thread; not thread-safe.
package protocol KeyValueAccess: StateStore {
    /// The value of `key` as the transaction sees it.
    func get(_ key: [UInt8]) -> [UInt8]?
    /// Stages `key` → `value`.
    func put(_ key: [UInt8], _ value: [UInt8])
    /// Stages the deletion of `key`.
    func delete(_ key: [UInt8])
    /// The live entries with `from <= key < to` (bytewise) as the transaction sees them, in key
    /// order.
    func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])]
    /// Keeps the transaction's writes so far (see ``StagedWrites/setSavepoint()``).
    func setSavepoint()
    /// Undoes the transaction's writes since the last savepoint, so a failed record leaves none
    /// of its writes staged.
    func rollBackToSavepoint()
    /// How many keys the committed state holds (for `sluice_state_store_keys`): exact in
    /// memory; RocksDB's own estimate (`rocksdb.estimate-num-keys`, as Kafka Streams reports it),
    /// which counts a key written twice before a compaction twice.
    var committedKeyCount: Int { get }
}

extension KeyValueStore: KeyValueAccess {
    package var committedKeyCount: Int { committedCount }
}

/// A store whose committed state survives restarts on its own, together with the changelog
/// offset it reflects, so a restore replays only the changelog after that offset (instead of a
/// checkpoint file plus the changelog).
///
/// - Invariant: ``durableChangelogOffset`` and the committed state are written atomically: after
///   any crash the store holds exactly the fold of the committed changelog below that offset.
package protocol DurableStateStore: StateStore {
    /// The changelog offset the durable committed state reflects; nil for a new or wiped store.
    var durableChangelogOffset: Offset? { get }
    /// Applies the staged writes and records `changelogOffset`, atomically.
    func commit(reflecting changelogOffset: Offset) throws(StateStoreError)
    /// Records that the committed state (after a restore) reflects `changelogOffset`.
    func markRestored(at changelogOffset: Offset) throws(StateStoreError)
}
