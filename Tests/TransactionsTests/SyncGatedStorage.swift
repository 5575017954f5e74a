import Foundation
import Simulation
import StreamCore
import Synchronization

/// A ``Storage`` over a ``SimulatedDisk`` that can hold one fsync at a gate: the first sync of a
/// file whose path contains the armed fragment signals ``waitUntilHeld(seconds:)`` and waits for
/// ``release()``. So a test can stop a commit inside its data sync and check what other threads
/// can do meanwhile, without sleeping and hoping.
final class SyncGatedStorage: Storage {
    let disk: SimulatedDisk
    private let armedFragment = Mutex<String?>(nil)
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    init(disk: SimulatedDisk) { self.disk = disk }

    /// Holds the next sync of a file whose path contains `pathFragment`.
    func arm(pathFragment: String) { armedFragment.withLock { $0 = pathFragment } }

    /// Waits until a sync is held at the gate; false when none arrived within `seconds`.
    func waitUntilHeld(seconds: Double) -> Bool { held.wait(timeout: .now() + seconds) == .success }

    /// Lets the held sync go on.
    func release() { released.signal() }

    fileprivate func passGate(_ path: String) {
        let hit = armedFragment.withLock { fragment -> Bool in
            guard let armed = fragment, path.contains(armed) else { return false }
            fragment = nil
            return true
        }
        guard hit else { return }
        held.signal()
        released.wait()
    }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        SyncGatedFile(base: try disk.openFile(path, mode: mode), owner: self)
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

private final class SyncGatedFile: StorageFile {
    let base: any StorageFile
    let owner: SyncGatedStorage

    init(base: any StorageFile, owner: SyncGatedStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] { try base.read(at: position, count: count) }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) { try base.write(bytes, at: position) }
    func sync() throws(StorageError) {
        owner.passGate(base.path)
        try base.sync()
    }
    func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
    func close() { base.close() }
}
