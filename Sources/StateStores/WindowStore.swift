package import StreamCore

/// A window store entry's identity: the user key and the window's start.
///
/// Changelog and checkpoint key encoding:
/// ```
/// ┌──────────────────────────────┬───────────────────────────────────────────┐
/// │ key bytes (0...n bytes)      │ windowStart: i64 big-endian (8 bytes, ms) │
/// └──────────────────────────────┴───────────────────────────────────────────┘
/// ```
/// The key has no length prefix: the last 8 bytes are always the window start. For
/// non-negative window starts, bytewise order of encoded keys of one user key is window order.
package struct WindowKey: Hashable, Sendable {
    /// The user key.
    package var key: [UInt8]
    /// The window's start (inclusive), in milliseconds.
    package var windowStart: Timestamp

    /// A window of `key` starting at `windowStart`.
    package init(key: [UInt8], windowStart: Timestamp) {
        self.key = key
        self.windowStart = windowStart
    }

    /// The changelog key: key bytes, then the window start as 8 big-endian bytes.
    package var encoded: [UInt8] {
        var bytes = key
        bytes.reserveCapacity(key.count + 8)
        let start = UInt64(bitPattern: windowStart.rawValue)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: start >> UInt64(shift))) }
        return bytes
    }

    /// Decodes a changelog key; nil when it is shorter than the 8-byte window start.
    package init?(encoded bytes: [UInt8]) {
        guard bytes.count >= 8 else { return nil }
        var start: UInt64 = 0
        for byte in bytes[(bytes.count - 8)...] { start = start << 8 | UInt64(byte) }
        self.key = Array(bytes[..<(bytes.count - 8)])
        self.windowStart = Timestamp(milliseconds: Int64(bitPattern: start))
    }
}

/// A transactional in-memory store of windowed values: (key, windowStart) → value.
///
/// Same transaction semantics as ``KeyValueStore``: ``put(key:windowStart:value:)``,
/// ``delete(key:windowStart:)`` and ``expire(before:)`` stage writes; ``fetch(key:from:to:)``
/// sees them first; ``commit()`` applies them and ``abort()`` drops them. Changelog keys are
/// ``WindowKey/encoded``.
///
/// - Invariant: the committed state equals the fold of the committed changelog.
/// - Invariant: `staged` holds at most one entry per (key, windowStart).
/// Thread-safety: owned by one worker thread; not thread-safe.
package final class WindowStore: StateStore {
    /// The store's name (its changelog topic is `<application>-<name>-changelog`).
    package let name: String
    /// Committed windows per user key, by window start in milliseconds.
    private var committed: [[UInt8]: [Int64: [UInt8]]] = [:]
    /// The transaction's writes per user key: a value, or nil for a staged delete.
    private var staged: [[UInt8]: [Int64: [UInt8]?]] = [:]

    /// An empty store.
    package init(name: String) {
        self.name = name
    }

    /// The value of one window, seeing staged writes first.
    package func get(key: [UInt8], windowStart: Timestamp) -> [UInt8]? {
        if let write = staged[key]?[windowStart.rawValue] { return write }
        return committed[key]?[windowStart.rawValue]
    }

    /// The windows of `key` with `from <= windowStart <= to`, as the transaction sees them,
    /// ordered by window start.
    /// - Complexity: O(w log w) for the w windows of the key.
    package func fetch(key: [UInt8], from: Timestamp, to: Timestamp) -> [(windowStart: Timestamp, value: [UInt8])] {
        var merged = committed[key] ?? [:]
        for (start, write) in staged[key] ?? [:] { merged[start] = write }
        return merged
            .filter { $0.key >= from.rawValue && $0.key <= to.rawValue }
            .sorted { $0.key < $1.key }
            .map { (windowStart: Timestamp(milliseconds: $0.key), value: $0.value) }
    }

    /// Stages (key, windowStart) → value.
    package func put(key: [UInt8], windowStart: Timestamp, value: [UInt8]) {
        staged[key, default: [:]][windowStart.rawValue] = .some(value)
    }

    /// Stages the deletion of one window.
    package func delete(key: [UInt8], windowStart: Timestamp) {
        staged[key, default: [:]][windowStart.rawValue] = .some(nil)
    }

    /// Stages the deletion of every window (of every key) starting before `cutoff`, as the
    /// transaction sees them; the deletions reach the changelog as tombstones.
    /// - Returns: how many windows were deleted.
    /// - Complexity: O(all windows).
    @discardableResult
    package func expire(before cutoff: Timestamp) -> Int {
        var expired: [WindowKey] = []
        for (key, windows) in committed {
            for start in windows.keys where start < cutoff.rawValue {
                if let write = staged[key]?[start], write == nil { continue }
                expired.append(WindowKey(key: key, windowStart: Timestamp(milliseconds: start)))
            }
        }
        for (key, windows) in staged {
            for (start, write) in windows where start < cutoff.rawValue && write != nil && committed[key]?[start] == nil {
                expired.append(WindowKey(key: key, windowStart: Timestamp(milliseconds: start)))
            }
        }
        for window in expired { delete(key: window.key, windowStart: window.windowStart) }
        return expired.count
    }

    /// The number of committed windows.
    package var committedCount: Int { committed.values.reduce(0) { $0 + $1.count } }

    // MARK: StateStore

    /// The transaction's changelog records, keyed by ``WindowKey/encoded``, in key order.
    package var stagedChanges: [ChangelogRecord] {
        var records: [ChangelogRecord] = []
        for (key, windows) in staged {
            for (start, write) in windows {
                records.append(ChangelogRecord(key: WindowKey(key: key, windowStart: Timestamp(milliseconds: start)).encoded, value: write))
            }
        }
        return records.sorted { bytesPrecede($0.key, $1.key) }
    }

    /// Whether the current transaction staged anything.
    package var hasStagedChanges: Bool { !staged.isEmpty }

    /// Applies the staged writes to the committed state; call after the transaction committed.
    package func commit() {
        for (key, windows) in staged {
            var current = committed[key] ?? [:]
            for (start, write) in windows { current[start] = write }
            committed[key] = current.isEmpty ? nil : current
        }
        staged = [:]
    }

    /// Drops the staged writes; call after the transaction aborted.
    package func abort() {
        staged = [:]
    }

    /// The committed windows as changelog records (no tombstones), in key order.
    package func committedRecords() -> [ChangelogRecord] {
        var records: [ChangelogRecord] = []
        for (key, windows) in committed {
            for (start, value) in windows {
                records.append(ChangelogRecord(key: WindowKey(key: key, windowStart: Timestamp(milliseconds: start)).encoded, value: value))
            }
        }
        return records.sorted { bytesPrecede($0.key, $1.key) }
    }

    /// Drops committed and staged state (before a restore).
    package func reset() {
        committed = [:]
        staged = [:]
    }

    /// Applies one committed changelog record to the committed state (restore).
    /// - Throws: `.corruptChangelog` when the key is shorter than the 8-byte window start.
    package func applyCommitted(_ record: ChangelogRecord) throws(StateStoreError) {
        guard let window = WindowKey(encoded: record.key) else {
            throw StateStoreError(.corruptChangelog, "window store '\(name)': changelog key of \(record.key.count) bytes has no 8-byte window start")
        }
        var current = committed[window.key] ?? [:]
        current[window.windowStart.rawValue] = record.value
        committed[window.key] = current.isEmpty ? nil : current
    }
}
