import Foundation
import Simulation
import StreamCore
import Synchronization

/// A ``Storage`` over a ``SimulatedDisk`` that can hold one read at a gate: the first read of a
/// file whose path ends with the armed suffix signals ``waitUntilHeld(seconds:)`` and waits for
/// ``release()``. So a test can stop a background pass (the cleaner's reads) at a known point and
/// do something else meanwhile, without sleeping and hoping.
final class GatedStorage: Storage {
    let disk: SimulatedDisk
    private let armedSuffix = Mutex<String?>(nil)
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    private let afterClose = Mutex<(closed: Bool, operations: [String])>((false, []))

    init(disk: SimulatedDisk) { self.disk = disk }

    /// Holds the next read of a file whose path ends with `pathSuffix`.
    func arm(pathSuffix: String) { armedSuffix.withLock { $0 = pathSuffix } }

    /// Waits until a read is held at the gate; false when none arrived within `seconds`.
    func waitUntilHeld(seconds: Double) -> Bool { held.wait(timeout: .now() + seconds) == .success }

    /// Lets the held read go on.
    func release() { released.signal() }

    /// From now on, every operation is recorded (for checking that nothing touches the directory
    /// after its owner closed it).
    func noteClosed() { afterClose.withLock { $0.closed = true } }

    /// The operations seen since ``noteClosed()``.
    var operationsAfterClose: [String] { afterClose.withLock { $0.operations } }

    func passGate(_ path: String) {
        let hit = armedSuffix.withLock { suffix -> Bool in
            guard let armed = suffix, path.hasSuffix(armed) else { return false }
            suffix = nil
            return true
        }
        guard hit else { return }
        held.signal()
        released.wait()
    }

    func note(_ operation: String, _ path: String) {
        afterClose.withLock { state in if state.closed { state.operations.append("\(operation) \(path)") } }
    }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        note("open", path)
        return GatedFile(base: try disk.openFile(path, mode: mode), owner: self)
    }
    func exists(_ path: String) -> Bool { disk.exists(path) }
    func isDirectory(_ path: String) -> Bool { disk.isDirectory(path) }
    func listDirectory(_ path: String) throws(StorageError) -> [String] { try disk.listDirectory(path) }
    func createDirectory(_ path: String) throws(StorageError) { note("mkdir", path); try disk.createDirectory(path) }
    func removeFile(_ path: String) throws(StorageError) { note("remove", path); try disk.removeFile(path) }
    func removeDirectory(_ path: String) throws(StorageError) { note("rmdir", path); try disk.removeDirectory(path) }
    func rename(_ from: String, to: String) throws(StorageError) { note("rename", from); try disk.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(StorageError) { note("syncdir", path); try disk.syncDirectory(path) }
    func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        try disk.lockDirectory(path, owner: owner)
    }
}

final class GatedFile: StorageFile {
    let base: any StorageFile
    let owner: GatedStorage

    init(base: any StorageFile, owner: GatedStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] {
        owner.passGate(base.path)
        owner.note("read", base.path)
        return try base.read(at: position, count: count)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) {
        owner.note("write", base.path)
        try base.write(bytes, at: position)
    }
    func sync() throws(StorageError) { owner.note("sync", base.path); try base.sync() }
    func truncate(to size: Int64) throws(StorageError) { owner.note("truncate", base.path); try base.truncate(to: size) }
    func close() { base.close() }
}
