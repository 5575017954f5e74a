import Simulation
import StreamCore
import Synchronization

/// A ``Storage`` over a ``SimulatedDisk`` that flips chosen bits of chosen reads: targeted,
/// transient read errors (the stored bytes never change), so a test can aim at one field of
/// one batch, which the disk's random ``SimulatedDisk/Faults/readBitFlipProbability`` cannot.
final class FlakyStorage: Storage {
    struct Flip: Sendable {
        /// The file, by the suffix of its path.
        var pathSuffix: String
        /// The absolute byte position in the file to damage.
        var position: Int64
        var xor: UInt8
        /// How many reads covering `position` to damage; later reads are exact.
        var remaining: Int
    }

    let disk: SimulatedDisk
    private let flips: Mutex<[Flip]>
    private let applied = Mutex(0)

    init(disk: SimulatedDisk, flips: [Flip] = []) {
        self.disk = disk
        self.flips = Mutex(flips)
    }

    /// How many reads were damaged so far.
    var appliedCount: Int { applied.withLock { $0 } }

    func arm(_ flip: Flip) { flips.withLock { $0.append(flip) } }

    func damage(_ bytes: inout [UInt8], path: String, at position: Int64) {
        flips.withLock { flips in
            for index in flips.indices where flips[index].remaining > 0 && path.hasSuffix(flips[index].pathSuffix) {
                let relative = flips[index].position - position
                guard relative >= 0, relative < Int64(bytes.count) else { continue }
                bytes[Int(relative)] ^= flips[index].xor
                flips[index].remaining -= 1
                applied.withLock { $0 += 1 }
            }
        }
    }

    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        FlakyFile(base: try disk.openFile(path, mode: mode), owner: self)
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

final class FlakyFile: StorageFile {
    let base: any StorageFile
    let owner: FlakyStorage

    init(base: any StorageFile, owner: FlakyStorage) {
        self.base = base
        self.owner = owner
    }

    var path: String { base.path }
    func size() throws(StorageError) -> Int64 { try base.size() }
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] {
        var bytes = try base.read(at: position, count: count)
        owner.damage(&bytes, path: base.path, at: position)
        return bytes
    }
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) { try base.write(bytes, at: position) }
    func sync() throws(StorageError) { try base.sync() }
    func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
    func close() { base.close() }
}
