package import StreamCore
import RecordFormat

/// How far one partition's log is known to be synced: everything below `offset`, which is every
/// byte of the active segment `activeBase` below `activePosition` (inactive segments are synced
/// whole when they are sealed).
package struct RecoveryPoint: Equatable, Sendable {
    package var offset: Offset
    package var activeBase: Offset
    package var activePosition: Int64

    package init(offset: Offset, activeBase: Offset, activePosition: Int64) {
        self.offset = offset
        self.activeBase = activeBase
        self.activePosition = activePosition
    }
}

/// The recovery points of every partition of a data directory, and their durable checkpoint:
/// two slot files, `recovery-point-offset-checkpoint.0` and `.1`, written in turn.
///
/// Layout of a slot, big-endian:
/// ```
/// | magic "SRP1" | crc32c: u32 (of the body) | bodyLength: i32 |
/// | body: generation u64 | count i32 | per partition: topic (i16 length, UTF-8) | partition i32 |
/// |       offset i64 | activeBase i64 | activePosition i64 |
/// ```
/// Bytes after the body are ignored (a slot is overwritten in place and then cut).
///
/// Ordering, which makes recovery trust a point: a partition's point is raised (in memory) only
/// after the sync it describes returned, and ``checkpoint()`` makes it durable before the sync is
/// acknowledged to whoever asked for it (``PartitionLog/sync()``, ``LogManager/sync(_:)``: one
/// checkpoint per flush group, whatever the number of partitions). A crash between a log's sync
/// and the checkpoint leaves the previous, lower point: the synced batches past it are valid, so
/// recovery keeps them (it cuts past the point only at the first invalid batch). A crash while a
/// slot is written tears only that slot; the other one holds the previous generation, whose
/// points are all still true. So a point never claims an unsynced byte, and everything
/// acknowledged as durable lies below a durable point.
///
/// Thread-safety: safe from any thread. Updates take a short lock; checkpoints are serialised on
/// a second one, and a checkpoint that finds nothing new since the last one writes nothing.
package final class RecoveryPoints: @unchecked Sendable {
    static let magic: [UInt8] = Array("SRP1".utf8)
    /// The slot files, in the data directory.
    package static let slotFileNames = ["recovery-point-offset-checkpoint.0", "recovery-point-offset-checkpoint.1"]

    private let storage: any Storage
    private let directory: String
    private let lock = Lock()
    private let writeLock = Lock()
    private var points: [TopicPartition: RecoveryPoint] = [:]
    /// Bumped on every change of `points`.
    private var version: UInt64 = 0
    private var checkpointedVersion: UInt64 = 0
    private var generation: UInt64 = 0
    private let syncFailure: SyncFailure

    /// Loads the newest valid slot of the data directory at `directory` (none: no points known).
    init(storage: any Storage, directory: String, syncFailure: SyncFailure) throws(LogError) {
        self.storage = storage
        self.directory = directory
        self.syncFailure = syncFailure
        var best: (generation: UInt64, points: [TopicPartition: RecoveryPoint])?
        for name in Self.slotFileNames {
            let path = joinPath(directory, name)
            guard storage.exists(path) else { continue }
            let bytes = try storageCall("reading \(path)") { () throws(StorageError) -> [UInt8] in
                let file = try storage.openFile(path, mode: .read)
                defer { file.close() }
                return try readStably(file)
            }
            if let decoded = Self.decode(bytes), decoded.generation >= (best?.generation ?? 0) { best = decoded }
        }
        points = best?.points ?? [:]
        generation = best?.generation ?? 0
    }

    /// The point of a partition, when one was ever checkpointed or set.
    package func point(_ partition: TopicPartition) -> RecoveryPoint? {
        lock.lock(); defer { lock.unlock() }
        return points[partition]
    }

    /// Sets a partition's point in memory; durable at the next ``checkpoint()``.
    /// - Precondition: everything the point covers is synced.
    func set(_ partition: TopicPartition, _ point: RecoveryPoint) {
        lock.lock(); defer { lock.unlock() }
        if points[partition] == point { return }
        points[partition] = point
        version &+= 1
    }

    /// Forgets the points of a deleted topic.
    func remove(topic: TopicName) {
        lock.lock(); defer { lock.unlock() }
        let before = points.count
        points = points.filter { $0.key.topic != topic }
        if points.count != before { version &+= 1 }
    }

    /// Makes every point set so far durable: writes the next slot and syncs it. Does nothing when
    /// no point changed since the last checkpoint.
    ///
    /// A failed sync is not retried: it poisons the data directory (see ``SyncFailure``).
    package func checkpoint() throws(LogError) {
        writeLock.lock(); defer { writeLock.unlock() }
        try syncFailure.check()
        lock.lock()
        let wanted = version
        let snapshot = points
        lock.unlock()
        guard wanted != checkpointedVersion else { return }
        let next = generation &+ 1
        let bytes = Self.encode(snapshot, generation: next)
        let path = joinPath(directory, Self.slotFileNames[Int(next % 2)])
        let storage = self.storage
        try syncFailure.guarding { () throws(LogError) in
            let file = try storageCall("opening \(path)") { () throws(StorageError) in try storage.openFile(path, mode: .create) }
            defer { file.close() }
            try storageCall("writing \(path)") { () throws(StorageError) in
                try file.write(bytes, at: 0)
                try file.truncate(to: Int64(bytes.count))
            }
            try syncFile(file)
        }
        generation = next
        checkpointedVersion = wanted
    }

    static func encode(_ points: [TopicPartition: RecoveryPoint], generation: UInt64) -> [UInt8] {
        var body = BigEndianWriter()
        body.int64(Int64(bitPattern: generation))
        body.int32(Int32(points.count))
        for (partition, point) in points.sorted(by: { $0.key < $1.key }) {
            body.string(partition.topic.rawValue)
            body.int32(partition.partition.rawValue)
            body.int64(point.offset.rawValue)
            body.int64(point.activeBase.rawValue)
            body.int64(point.activePosition)
        }
        var header = BigEndianWriter()
        header.int32(Int32(bitPattern: CRC32C.checksum(body.bytes)))
        header.int32(Int32(body.bytes.count))
        return magic + header.bytes + body.bytes
    }

    /// Decodes a slot, or nil when it is torn or damaged.
    static func decode(_ bytes: [UInt8]) -> (generation: UInt64, points: [TopicPartition: RecoveryPoint])? {
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic else { return nil }
        var header = BigEndianReader(Array(bytes[4..<12]))
        guard let crc = header.int32(), let length = header.int32(), length >= 0, 12 + Int(length) <= bytes.count else { return nil }
        let body = Array(bytes[12..<12 + Int(length)])
        guard CRC32C.checksum(body) == UInt32(bitPattern: crc) else { return nil }
        var reader = BigEndianReader(body)
        guard let generation = reader.int64(), let count = reader.int32(), count >= 0 else { return nil }
        var points: [TopicPartition: RecoveryPoint] = [:]
        for _ in 0..<count {
            guard let name = reader.string(), let topic = TopicName(rawValue: name), let partition = reader.int32(),
                  let offset = reader.int64(), let base = reader.int64(), let position = reader.int64()
            else { return nil }
            points[TopicPartition(topic, PartitionID(partition))] = RecoveryPoint(
                offset: Offset(offset), activeBase: Offset(base), activePosition: position)
        }
        return (UInt64(bitPattern: generation), points)
    }
}
