package import StreamCore
import RecordFormat

/// A durable snapshot of one store's committed state for one partition, and the changelog
/// offset it reflects, at `<data-dir>/state/<application>/<store>/<partition>.checkpoint`.
///
/// File layout (integers big-endian):
/// ```
/// position  bytes  field
///  0        4      magic "SLSC" (0x53 0x4C 0x53 0x43)
///  4        2      version i16 = 1
///  6        4      crc u32: CRC-32C of every byte from position 10 to the end
/// 10        8      changelogOffset i64: one past the last changelog offset the state reflects
/// 18        4      entryCount i32
/// 22        …      entryCount × { keyLength i32, key bytes, valueLength i32, value bytes }
/// ```
/// Entries are the committed records in key order (no tombstones). A checkpoint is written to
/// `<partition>.checkpoint.tmp`, synced, then renamed over the old one, so a crash leaves the
/// old checkpoint or the new one, never a mix.
///
/// - Invariant: a checkpoint only holds committed state (``StoreChangelog/checkpoint()`` takes
///   ``StateStore/committedRecords()``).
/// Thread-safety: a value; one owner at a time writes a given path.
package struct StoreCheckpoint: Sendable {
    /// The file's magic, "SLSC".
    package static let magic: [UInt8] = Array("SLSC".utf8)
    /// The format version written and accepted.
    package static let version: Int16 = 1
    /// Bytes before the first entry.
    package static let headerBytes = 22
    /// How many times a checkpoint whose CRC fails is read again before it is called corrupt:
    /// a read error (a transient bit flip) must not discard a good checkpoint.
    package static let readAttemptsMax = 3

    /// What reading a checkpoint found.
    package enum Contents: Sendable, Equatable {
        case missing
        case corrupt(reason: String)
        case valid(changelogOffset: Offset, records: [ChangelogRecord])
    }

    /// The storage seam the checkpoint is written through.
    package let storage: any Storage
    /// The checkpoint file's path.
    package let path: String

    /// The checkpoint at `path`.
    package init(storage: any Storage, path: String) {
        self.storage = storage
        self.path = path
    }

    /// The checkpoint of `store` for `partition` in the data directory `dataDirectory`.
    package init(storage: any Storage, dataDirectory: String, application: String, store: String, partition: PartitionID) {
        self.init(storage: storage, path: StoreCheckpoint.path(dataDirectory: dataDirectory, application: application, store: store, partition: partition))
    }

    /// `<data-dir>/state/<application>/<store>/<partition>.checkpoint`.
    package static func path(dataDirectory: String, application: String, store: String, partition: PartitionID) -> String {
        joinPath(dataDirectory, "state", application, store, "\(partition.rawValue).checkpoint")
    }

    // MARK: Format

    /// The bytes of a checkpoint.
    /// - Precondition: `records` hold no tombstones.
    package static func encode(changelogOffset: Offset, records: [ChangelogRecord]) -> [UInt8] {
        precondition(changelogOffset.rawValue >= 0, "checkpoint offset \(changelogOffset) is negative")
        var body = BigEndianWriter()
        body.int64(changelogOffset.rawValue)
        body.int32(Int32(records.count))
        var bytes = body.bytes
        for record in records {
            guard let value = record.value else { preconditionFailure("a checkpoint holds no tombstones") }
            var entry = BigEndianWriter()
            entry.int32(Int32(record.key.count))
            bytes += entry.bytes
            bytes += record.key
            entry = BigEndianWriter()
            entry.int32(Int32(value.count))
            bytes += entry.bytes
            bytes += value
        }
        var header = BigEndianWriter()
        header.int16(version)
        header.int32(Int32(bitPattern: CRC32C.checksum(bytes)))
        return magic + header.bytes + bytes
    }

    /// Decodes checkpoint bytes; `.corrupt` says what is wrong.
    package static func decode(_ bytes: [UInt8]) -> Contents {
        guard bytes.count >= headerBytes else { return .corrupt(reason: "\(bytes.count) bytes, shorter than the \(headerBytes)-byte header") }
        guard Array(bytes[0..<4]) == magic else { return .corrupt(reason: "bad magic") }
        var reader = BigEndianReader(Array(bytes[4..<10]))
        guard let version = reader.int16(), version == StoreCheckpoint.version else { return .corrupt(reason: "unknown version") }
        guard let crc = reader.int32() else { return .corrupt(reason: "truncated header") }
        let computed = CRC32C.checksum(bytes[10...])
        guard UInt32(bitPattern: crc) == computed else {
            return .corrupt(reason: "CRC mismatch (stored \(UInt32(bitPattern: crc)), computed \(computed))")
        }
        reader = BigEndianReader(Array(bytes[10...]))
        guard let offset = reader.int64(), offset >= 0, let count = reader.int32(), count >= 0 else {
            return .corrupt(reason: "bad offset or entry count")
        }
        var records: [ChangelogRecord] = []
        records.reserveCapacity(Int(count))
        var position = headerBytes
        for index in 0..<Int(count) {
            guard let key = field(bytes, &position), let value = field(bytes, &position) else {
                return .corrupt(reason: "entry \(index) of \(count) is truncated")
            }
            records.append(ChangelogRecord(key: key, value: value))
        }
        guard position == bytes.count else { return .corrupt(reason: "\(bytes.count - position) bytes after the last entry") }
        return .valid(changelogOffset: Offset(offset), records: records)
    }

    private static func field(_ bytes: [UInt8], _ position: inout Int) -> [UInt8]? {
        guard position + 4 <= bytes.count else { return nil }
        var reader = BigEndianReader(Array(bytes[position..<position + 4]))
        guard let length = reader.int32(), length >= 0, position + 4 + Int(length) <= bytes.count else { return nil }
        defer { position += 4 + Int(length) }
        return Array(bytes[(position + 4)..<(position + 4 + Int(length))])
    }

    // MARK: I/O

    /// Writes the checkpoint durably: temporary file, sync, rename over the old one, sync of the
    /// directory.
    /// - Precondition: `records` hold no tombstones.
    package func write(changelogOffset: Offset, records: [ChangelogRecord], crashPoints: CrashPoints = .disabled) throws(StateStoreError) {
        let bytes = StoreCheckpoint.encode(changelogOffset: changelogOffset, records: records)
        // Both sides of the disk boundary: what is written decodes to what was meant.
        precondition(StoreCheckpoint.decode(bytes) == .valid(changelogOffset: changelogOffset, records: records))
        let temporary = path + ".tmp"
        let storage = self.storage
        try storageCall("writing checkpoint \(path)") { () throws(StorageError) in
            try storage.createDirectory(parentPath(temporary))
            let file = try storage.openFile(temporary, mode: .create)
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            try file.sync()
        }
        crashPoints.reached(.duringCheckpoint)
        try storageCall("writing checkpoint \(path)") { () throws(StorageError) in
            try storage.rename(temporary, to: path)
            try storage.syncDirectory(parentPath(path))
        }
    }

    /// Reads the checkpoint; a CRC failure is read again (up to ``readAttemptsMax`` times)
    /// before it is reported as `.corrupt`.
    /// - Throws: `.storage` when the file exists but cannot be read.
    package func read() throws(StateStoreError) -> Contents {
        guard storage.exists(path) else { return .missing }
        let storage = self.storage
        let path = self.path
        var last = Contents.missing
        for _ in 0..<StoreCheckpoint.readAttemptsMax {
            let bytes = try storageCall("reading checkpoint \(path)") { () throws(StorageError) -> [UInt8] in
                let file = try storage.openFile(path, mode: .read)
                defer { file.close() }
                return try file.readAll()
            }
            last = StoreCheckpoint.decode(bytes)
            if case .valid = last { return last }
        }
        return last
    }

    /// Removes the checkpoint (and a leftover temporary file), e.g. when a store is reset.
    package func remove() throws(StateStoreError) {
        let storage = self.storage
        let path = self.path
        try storageCall("removing checkpoint \(path)") { () throws(StorageError) in
            if storage.exists(path) { try storage.removeFile(path) }
            if storage.exists(path + ".tmp") { try storage.removeFile(path + ".tmp") }
        }
    }
}
