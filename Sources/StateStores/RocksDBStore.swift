import CRocksDB
package import StreamCore
import Foundation

/// A transactional key-value store whose committed state lives in RocksDB (Debian's librocksdb),
/// for state larger than memory. Staged writes stay in memory as in ``KeyValueStore``; a commit
/// writes them with the changelog offset they reflect in one RocksDB write batch.
///
/// Database layout (one RocksDB database per store and partition, at
/// `<data-dir>/state/<application>/<store>/<partition>.rocksdb`):
/// ```
/// 0x00 "changelog-offset"   → i64 BE: the changelog offset the committed state reflects
/// 0x01 | user key           → value
/// ```
/// RocksDB's write-ahead log makes each batch atomic and keeps a prefix of batches across a
/// process crash, so the database always holds the fold of the committed changelog below its
/// recorded offset (``DurableStateStore``).
///
/// - Invariant: `staged` holds at most one entry per key (the last write).
/// Thread-safety: owned by one worker thread; not thread-safe.
package final class RocksDBStore: KeyValueAccess, DurableStateStore {
    package let name: String
    /// The database directory.
    package let path: String
    private var database: OpaquePointer?
    private let options: OpaquePointer
    private let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private var staged = StagedWrites()

    private static let offsetKey: [UInt8] = [0x00] + Array("changelog-offset".utf8)
    private static let dataPrefix: UInt8 = 0x01

    /// `<dataDirectory>/state/<application>/<store>/<partition>.rocksdb`, beside the checkpoints
    /// of in-memory stores.
    package static func path(dataDirectory: String, application: String, store: String, partition: PartitionID) -> String {
        "\(dataDirectory)/state/\(application)/\(store)/\(partition.rawValue).rocksdb"
    }

    /// Opens (creating when missing) the database at `path`.
    /// - Throws: `.rocksDB` when RocksDB cannot open it (RocksDB's message and the path).
    package init(name: String, path: String) throws(StateStoreError) {
        self.name = name
        self.path = path
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError(.rocksDB, "store '\(name)': cannot create the directory of \(path): \(error.localizedDescription)")
        }
        database = try Self.call("opening \(path)", store: name) { error in rocksdb_open(options, path, &error) }
    }

    deinit {
        if let database { rocksdb_close(database) }
        rocksdb_options_destroy(options)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
    }

    /// Closes the database (a later use is a programming error).
    package func close() {
        if let database { rocksdb_close(database) }
        database = nil
    }

    private var db: OpaquePointer {
        guard let database else { preconditionFailure("RocksDB store '\(name)' used after close") }
        return database
    }

    // MARK: Reads and writes

    package func get(_ key: [UInt8]) -> [UInt8]? {
        if let write = staged.write(of: StoreKey(key)) { return write }
        return committedValue(key)
    }

    package func put(_ key: [UInt8], _ value: [UInt8]) { staged.put(key, value) }

    package func delete(_ key: [UInt8]) { staged.delete(key) }

    package func setSavepoint() { staged.setSavepoint() }

    package func rollBackToSavepoint() { staged.rollBackToSavepoint() }

    /// - Complexity: O(log n + k + s log s) for k committed entries in the range and s staged
    ///   writes.
    package func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        var committedInRange: [(key: [UInt8], value: [UInt8])] = []
        scanCommitted(from: lower, to: upper) { key, value in committedInRange.append((key, value)) }
        return staged.view(ofCommitted: committedInRange, from: lower, to: upper)
    }

    /// The committed value of `key`, ignoring staged writes.
    /// - Precondition: RocksDB can read (a read error on a local database is a broken disk; it
    ///   stops the worker rather than returning a wrong value).
    package func committedValue(_ key: [UInt8]) -> [UInt8]? {
        let dataKey = [Self.dataPrefix] + key
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = dataKey.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { rocksdb_get(db, readOptions, $0.baseAddress, $0.count, &length, &error) }
        }
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            preconditionFailure("RocksDB store '\(name)' at \(path) cannot read: \(message)")
        }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// Calls `visit` with each committed entry with `lower <= key < upper` (no upper bound when
    /// nil), in key order.
    private func scanCommitted(from lower: [UInt8], to upper: [UInt8]?, _ visit: ([UInt8], [UInt8]) -> Void) {
        if let upper, !bytesPrecede(lower, upper) { return }
        let iterator = rocksdb_create_iterator(db, readOptions)
        defer { rocksdb_iter_destroy(iterator) }
        let start = [Self.dataPrefix] + lower
        let end = upper.map { [Self.dataPrefix] + $0 }
        start.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
        }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let keyPointer = rocksdb_iter_key(iterator, &keyLength)
            let key = Array(UnsafeRawBufferPointer(start: keyPointer, count: keyLength))
            guard key.first == Self.dataPrefix, end.map({ bytesPrecede(key, $0) }) ?? true else { break }
            let valuePointer = rocksdb_iter_value(iterator, &valueLength)
            visit(Array(key.dropFirst()), Array(UnsafeRawBufferPointer(start: valuePointer, count: valueLength)))
            rocksdb_iter_next(iterator)
        }
    }

    // MARK: StateStore

    package var stagedChanges: [ChangelogRecord] {
        staged.changes
    }

    package var hasStagedChanges: Bool { !staged.isEmpty }

    /// Applies the staged writes without recording an offset (``commit(reflecting:)`` is what
    /// the changelog calls).
    package func commit() {
        do {
            try write(staged.writes.map { ($0.key.bytes, $0.value) }, offset: nil)
        } catch {
            preconditionFailure("\(error)")
        }
        staged.removeAll()
    }

    package func abort() { staged.removeAll() }

    /// RocksDB's estimate of its keys, less the changelog-offset key; 0 when it cannot say.
    package var committedKeyCount: Int {
        var estimate: UInt64 = 0
        guard rocksdb_property_int(db, "rocksdb.estimate-num-keys", &estimate) == 0 else { return 0 }
        let hasOffsetKey = durableChangelogOffset != nil ? 1 : 0
        return max(0, Int(clamping: estimate) - hasOffsetKey)
    }

    package func committedRecords() -> [ChangelogRecord] {
        var records: [ChangelogRecord] = []
        scanCommitted(from: [], to: nil) { key, value in records.append(ChangelogRecord(key: key, value: value)) }
        return records
    }

    /// Wipes the database (before a full restore).
    package func reset() {
        staged.removeAll()
        close()
        do {
            _ = try Self.call("destroying \(path)", store: name) { error -> Int in rocksdb_destroy_db(options, path, &error); return 0 }
            database = try Self.call("opening \(path)", store: name) { error in rocksdb_open(options, path, &error) }
        } catch {
            preconditionFailure("\(error)")
        }
    }

    package func applyCommitted(_ record: ChangelogRecord) throws(StateStoreError) {
        try write([(record.key, record.value)], offset: nil)
    }

    // MARK: DurableStateStore

    package var durableChangelogOffset: Offset? {
        let bytes = { () -> [UInt8]? in
            var length = 0
            var error: UnsafeMutablePointer<CChar>?
            let value = Self.offsetKey.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { rocksdb_get(db, readOptions, $0.baseAddress, $0.count, &length, &error) }
            }
            if let error { rocksdb_free(error); return nil }
            guard let value else { return nil }
            defer { rocksdb_free(value) }
            return Array(UnsafeRawBufferPointer(start: value, count: length))
        }()
        guard let bytes, bytes.count == 8 else { return nil }
        return Offset(bytes.reduce(Int64(0)) { $0 << 8 | Int64($1) })
    }

    package func commit(reflecting changelogOffset: Offset) throws(StateStoreError) {
        try write(staged.writes.map { ($0.key.bytes, $0.value) }, offset: changelogOffset)
        staged.removeAll()
    }

    package func markRestored(at changelogOffset: Offset) throws(StateStoreError) {
        try write([], offset: changelogOffset)
    }

    /// Writes `writes` (nil values delete) and, when given, the offset, in one batch.
    private func write(_ writes: [(key: [UInt8], value: [UInt8]?)], offset: Offset?) throws(StateStoreError) {
        let batch = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(batch) }
        for (key, value) in writes {
            let dataKey = [Self.dataPrefix] + key
            dataKey.withUnsafeBufferPointer { keyBuffer in
                keyBuffer.withMemoryRebound(to: CChar.self) { keyChars in
                    if let value {
                        value.withUnsafeBufferPointer { valueBuffer in
                            valueBuffer.withMemoryRebound(to: CChar.self) { valueChars in
                                rocksdb_writebatch_put(batch, keyChars.baseAddress, keyChars.count, valueChars.baseAddress, valueChars.count)
                            }
                        }
                    } else {
                        rocksdb_writebatch_delete(batch, keyChars.baseAddress, keyChars.count)
                    }
                }
            }
        }
        if let offset {
            let bytes = withUnsafeBytes(of: offset.rawValue.bigEndian) { Array($0) }
            Self.offsetKey.withUnsafeBufferPointer { keyBuffer in
                keyBuffer.withMemoryRebound(to: CChar.self) { keyChars in
                    bytes.withUnsafeBufferPointer { valueBuffer in
                        valueBuffer.withMemoryRebound(to: CChar.self) { valueChars in
                            rocksdb_writebatch_put(batch, keyChars.baseAddress, keyChars.count, valueChars.baseAddress, valueChars.count)
                        }
                    }
                }
            }
        }
        let database = db
        let options = writeOptions
        _ = try Self.call("writing \(path)", store: name) { error -> Int in rocksdb_write(database, options, batch, &error); return 0 }
    }

    /// Runs a RocksDB call that reports failure through an error string.
    private static func call<T>(_ action: String, store: String, _ body: (inout UnsafeMutablePointer<CChar>?) -> T?) throws(StateStoreError) -> T {
        var error: UnsafeMutablePointer<CChar>?
        let result = body(&error)
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            throw StateStoreError(.rocksDB, "store '\(store)': RocksDB failed \(action): \(message)")
        }
        guard let result else { throw StateStoreError(.rocksDB, "store '\(store)': RocksDB returned nothing \(action)") }
        return result
    }
}
