import Simulation
import StreamCore
import Synchronization

/// A ``Storage`` over a ``SimulatedDisk`` that counts every call that changes the disk, by kind
/// and path, so a test can assert that an open wrote nothing, or how many syncs a step costs.
/// The directory lock (`lockDirectory`) is not counted: taking it records its owner, by design.
/// Every file opened, in any mode, is listed apart (``openedPaths``), so a test can also assert
/// what an open reads.
final class CountingStorage: Storage {
    enum Kind: String, Sendable { case write, sync, truncate, createFile, createDirectory, rename, remove }

    let disk: SimulatedDisk
    private let counted = Mutex<[(kind: Kind, path: String)]>([])
    private let opened = Mutex<[String]>([])

    init(disk: SimulatedDisk) { self.disk = disk }

    /// Every counted call so far, oldest first.
    var calls: [(kind: Kind, path: String)] { counted.withLock { $0 } }
    func count(_ kind: Kind) -> Int { calls.filter { $0.kind == kind }.count }
    /// Every path opened so far, oldest first, in any mode (reads included).
    var openedPaths: [String] { opened.withLock { $0 } }
    func reset() {
        counted.withLock { $0.removeAll() }
        opened.withLock { $0.removeAll() }
    }
    func note(_ kind: Kind, _ path: String) { counted.withLock { $0.append((kind, path)) } }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        if mode == .createNew || (mode == .create && !disk.exists(path)) { note(.createFile, path) }
        opened.withLock { $0.append(path) }
        return CountingFile(base: try disk.openFile(path, mode: mode), owner: self)
    }
    func exists(_ path: String) -> Bool { disk.exists(path) }
    func isDirectory(_ path: String) -> Bool { disk.isDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try disk.listDirectory(path) }
    func createDirectory(_ path: String) throws(StorageError) {
        if !disk.isDirectory(path) { note(.createDirectory, path) }
        try disk.createDirectory(path)
    }
    func removeFile(_ path: String) throws(StorageError) { note(.remove, path); try disk.removeFile(path) }
    func removeDirectory(_ path: String) throws(StorageError) { note(.remove, path); try disk.removeDirectory(path) }
    func rename(_ from: String, to: String) throws(StorageError) { note(.rename, from); try disk.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { note(.sync, path); try disk.syncDirectory(path) }
    func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        try disk.lockDirectory(path, owner: owner)
    }
}

final class CountingFile: StorageFile {
    let base: any StorageFile
    let owner: CountingStorage

    init(base: any StorageFile, owner: CountingStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] { try base.read(at: position, count: count) }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) {
        owner.note(.write, path)
        try base.write(bytes, at: position)
    }
    func sync() throws(StorageError) { owner.note(.sync, path); try base.sync() }
    func truncate(to size: Int64) throws(StorageError) { owner.note(.truncate, path); try base.truncate(to: size) }
    func close() { base.close() }
}

/// A ``Storage`` over a ``SimulatedDisk`` whose file syncs fail (`.io`, as `fsync` returning
/// `EIO`) while `failing` is set for a path with the given suffix; everything else passes through.
final class FailingSyncStorage: Storage {
    let disk: SimulatedDisk
    private let failingSuffix = Mutex<String?>(nil)
    private let failures = Mutex(0)

    init(disk: SimulatedDisk) { self.disk = disk }

    /// Makes syncs of files whose path ends with `suffix` fail from now on (nil: none fail).
    func failSyncs(ofPathsEndingWith suffix: String?) { failingSuffix.withLock { $0 = suffix } }
    var failureCount: Int { failures.withLock { $0 } }

    func syncFails(_ path: String) -> Bool {
        guard let suffix = failingSuffix.withLock({ $0 }), path.hasSuffix(suffix) else { return false }
        failures.withLock { $0 += 1 }
        return true
    }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        FailingSyncFile(base: try disk.openFile(path, mode: mode), owner: self)
    }
    func exists(_ path: String) -> Bool { disk.exists(path) }
    func isDirectory(_ path: String) -> Bool { disk.isDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try disk.listDirectory(path) }
    func createDirectory(_ path: String) throws(StorageError) { try disk.createDirectory(path) }
    func removeFile(_ path: String) throws(StorageError) { try disk.removeFile(path) }
    func removeDirectory(_ path: String) throws(StorageError) { try disk.removeDirectory(path) }
    func rename(_ from: String, to: String) throws(StorageError) { try disk.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { try disk.syncDirectory(path) }
    func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        try disk.lockDirectory(path, owner: owner)
    }
}

final class FailingSyncFile: StorageFile {
    let base: any StorageFile
    let owner: FailingSyncStorage

    init(base: any StorageFile, owner: FailingSyncStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] { try base.read(at: position, count: count) }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) { try base.write(bytes, at: position) }
    func sync() throws(StorageError) {
        if owner.syncFails(path) { throw StorageError(.io, path: path, detail: "fsync: Input/output error (injected)") }
        try base.sync()
    }
    func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
    func close() { base.close() }
}
