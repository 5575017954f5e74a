import StreamCore

/// A directory entry: a directory, or a link to an inode.
enum DiskEntry: Sendable, Equatable {
    case directory
    case file(inode: Int)
}

/// A held directory lock.
struct HeldLock: Sendable {
    let owner: String
    let token: Int
}

/// Everything a ``SimulatedDisk`` knows, guarded by its mutex. All methods run under the lock.
///
/// Invariants: every entry's parent is the root or a directory entry; every linked inode has
/// exactly one entry; `storedBytes` is the sum of `current.count` over all inodes; while
/// `isCrashed`, only `restart`, arming crash points, setting faults and the inspection helpers
/// change the state.
struct DiskState {
    var random: SeededRandom
    var faults: SimulatedDisk.Faults
    /// The tree, flattened: normalised path → entry. The roots (`/` and `.`) are implicit.
    var entries: [SimulatedPath: DiskEntry] = [:]
    var inodes: [Int: FileNode] = [:]
    var nextInode = 1
    var storedBytes = 0
    var locks: [SimulatedPath: HeldLock] = [:]
    var nextLockToken = 1
    /// How many crashes happened; handles opened in an older boot are dead.
    var boot = 0
    var isCrashed = false
    var operationCount = 0
    var crashCountdown: Int?
    var crashPredicate: (@Sendable (SimulatedDisk.Operation) -> Bool)?
    var lastCrashOperation: SimulatedDisk.Operation?
    /// How many syncs failed (``SimulatedDisk/Faults/syncFailureProbability``).
    var syncFailureCount = 0
    var trace = OperationTrace()
    /// With ``SimulatedDisk/Faults/unsyncedEntryLoss``: the tree a crash cannot take away, and
    /// the entry changes since, oldest first (`entries` is `durableEntries` with all applied).
    var durableEntries: [SimulatedPath: DiskEntry] = [:]
    var entryJournal: [EntryChange] = []
    /// Every persistent bit flip ``SimulatedDisk/Faults/durableBitRotProbability`` made.
    var bitRot: [SimulatedDisk.BitRot] = []

    init(seed: UInt64, faults: SimulatedDisk.Faults) {
        self.random = SeededRandom(seed: seed)
        self.faults = faults
    }

    // MARK: Lookup

    func entry(_ path: SimulatedPath) -> DiskEntry? {
        path.isRoot ? .directory : entries[path]
    }

    /// Throws `.crashed` while the disk is down.
    func checkUp(_ path: String) throws(StorageError) {
        if isCrashed { throw StorageError(.crashed, path: path, detail: "the disk is down until restart()") }
    }

    /// Throws as POSIX path resolution does when an ancestor of `path` is missing (`.notFound`)
    /// or is a file (`.notDirectory`).
    func checkAncestors(_ path: SimulatedPath, reported: String) throws(StorageError) {
        for ancestor in path.ancestors {
            switch entries[ancestor] {
            case nil: throw StorageError(.notFound, path: reported)
            case .file: throw StorageError(.notDirectory, path: reported)
            case .directory: continue
            }
        }
    }

    /// The names of the entries directly inside `directory`, sorted.
    func childNames(_ directory: SimulatedPath) -> [String] {
        entries.keys.filter { $0.parent == directory }.map(\.name).sorted()
    }

    /// Every entry strictly below `directory`.
    func descendants(_ directory: SimulatedPath) -> [SimulatedPath] {
        entries.keys.filter { $0.isDescendant(of: directory) }
    }

    // MARK: Changing the tree

    /// Runs `body` on an inode in place, keeping `storedBytes` in step.
    mutating func modifyNode<Result>(_ inode: Int, _ body: (inout FileNode) -> Result) -> Result {
        guard let index = inodes.index(forKey: inode) else { preconditionFailure("inode \(inode) is gone") }
        let before = inodes.values[index].current.count
        let result = body(&inodes.values[index])
        storedBytes += inodes.values[index].current.count - before
        return result
    }

    mutating func createFile(_ path: SimulatedPath) -> Int {
        let inode = nextInode
        nextInode += 1
        inodes[inode] = FileNode()
        entries[path] = .file(inode: inode)
        return inode
    }

    /// Removes the entry of a file; the inode goes when its last handle closes.
    mutating func unlink(_ path: SimulatedPath) {
        guard case .file(let inode) = entries.removeValue(forKey: path) else {
            preconditionFailure("\(path) is not a file")
        }
        modifyNode(inode) { $0.isLinked = false }
        dropIfUnused(inode)
    }

    mutating func dropIfUnused(_ inode: Int) {
        guard let node = inodes[inode], !node.isLinked, node.openHandleCount == 0 else { return }
        if faults.unsyncedEntryLoss && entryLossMayRelink(inode) { return }
        storedBytes -= node.current.count
        inodes[inode] = nil
    }

    /// The steps of a recursive removal in the order ``POSIXStorage`` takes them: depth first,
    /// children in name order, each directory after its contents.
    func removalSteps(_ directory: SimulatedPath) -> [SimulatedPath] {
        var steps: [SimulatedPath] = []
        for name in childNames(directory) {
            let child = directory.appending(name)
            if entries[child] == .directory { steps += removalSteps(child) } else { steps.append(child) }
        }
        steps.append(directory)
        return steps
    }

    mutating func removeStep(_ path: SimulatedPath) {
        if entries[path] == .directory { entries[path] = nil } else { unlink(path) }
    }

    // MARK: Crash points

    /// Decides whether an armed crash point fires at `operation`. When it does not, the operation
    /// is counted and traced and the caller performs it; when it does, the caller performs the part
    /// of it the crash model allows and then calls ``powerLoss(at:)``.
    mutating func admit(_ operation: SimulatedDisk.Operation) -> Bool {
        var fires = false
        if let remaining = crashCountdown {
            if remaining == 0 { fires = true } else { crashCountdown = remaining - 1 }
        }
        if !fires, let predicate = crashPredicate, predicate(operation) { fires = true }
        if fires { return false }
        operationCount += 1
        trace.append(operation)
        return true
    }

    /// A uniform draw from `0..<upperBound`, the same on every platform and toolchain.
    mutating func uniform(_ upperBound: Int) -> Int {
        precondition(upperBound > 0)
        return Int(random.next() % UInt64(upperBound))
    }
}
