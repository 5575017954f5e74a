package import StreamCore
import Synchronization

/// The deterministic test twin of ``POSIXStorage``: an in-memory disk that can lose power at
/// any step, seeded so that every run replays bit for bit from its seed.
///
/// ## Model
///
/// The disk is a tree of directories and files keyed by normalised path (split on `/`; empty and
/// `.` components dropped, `..` resolved lexically, so a trailing slash does not matter; absolute
/// and relative paths are separate trees). Each file (inode) holds:
///
/// ```
///   durable bytes ──▶ [pending change 1] ──▶ … ──▶ [pending change n] ══▶ current view
///   (survive any crash)  (writes and truncates since the last sync, oldest first)  (what reads see)
/// ```
///
/// - `sync()` of a handle makes every pending change of its file durable.
/// - Metadata changes — creating a file, creating a directory, renaming, removing — are durable
///   when the call returns, unless ``Faults/unsyncedEntryLoss`` is on: then each is journaled,
///   and ``syncDirectory(_:)`` of directory `d` makes the journal durable up to and including the
///   last change of an entry of `d` (metadata commits in order, as in a journaling file system).
///   A created file starts empty and durable; a renamed file keeps its durable bytes and its
///   pending changes.
///
/// ## Crash model (power loss)
///
/// ``crash()``, or an armed crash point firing, does the following, atomically:
/// 0. With ``Faults/unsyncedEntryLoss`` on: a uniformly random prefix of the unsynced entry
///    journal survives and the rest is lost, so a file whose creation is lost is gone (synced
///    bytes and all), a lost rename leaves the old name, a lost removal brings the file back.
/// 1. For every linked file independently, in inode order: a uniformly random prefix
///    `0...n` of its `n` pending changes survives and becomes durable, the rest is lost. With
///    ``Faults/tornWrites`` on, when the last surviving change is a write, it is torn with
///    probability ½: only a random strict prefix (`0..<count` bytes) of it survives. With
///    ``Faults/unsyncedPageLoss`` on instead, any subset of the file's changed pages survives
///    (see there).
/// 2. Files removed while still open vanish. Then, with probability
///    ``Faults/durableBitRotProbability``, one bit of the durable bytes flips for good.
/// 3. Every handle opened before the crash is dead: each call on it throws `.crashed`, also after
///    the restart. Every directory lock is released. Every crash point is disarmed.
/// 4. The disk stays down: every ``Storage`` call throws `.crashed` (``exists(_:)`` and
///    ``isDirectory(_:)``, which cannot throw, answer `false`) until ``restart()``, after which
///    the disk serves the surviving durable state.
///
/// A crash point fires *at* an operation (see ``Operation``): that operation does not happen,
/// except that (a) a write under ``Faults/tornWrites`` leaves a random strict prefix of its bytes
/// as a pending change, subject to step 1 like any other, and (b) `removeDirectory` and a
/// `createDirectory` of several missing levels, which ``POSIXStorage`` performs one entry at a
/// time, leave a random strict prefix of their steps done (each durable; with entry loss on, none
/// of them survives, since no directory sync covered them). The call throws
/// `.crashed`.
///
/// Reads never change the disk: a bit flip (``Faults/readBitFlipProbability``) alters only the
/// bytes returned.
///
/// ## Determinism
///
/// All randomness comes from one ``SeededRandom`` seeded by `init(seed:)`; draws happen only at a
/// crash, at a torn crash point, at a read with bit flips on and at a sync with sync failures on.
/// A fault mode that is off draws nothing, so turning a new mode on never changes the runs of
/// configurations without it. The same seed and the same
/// sequence of calls give the same outcome, bit for bit.
///
/// - Complexity: file calls cost O(bytes moved); `listDirectory`, `removeDirectory`, renaming a
///   directory and `fileNames(under:)` cost O(entries on the disk), which suits test-sized disks.
///
/// Thread-safety: every call is safe from any thread; the whole state sits behind one mutex, so
/// calls are linearisable. ``crashWhen(_:)`` predicates run under that mutex and must not call the
/// disk. Handles, as ``StorageFile`` says, belong to one owner at a time.
package final class SimulatedDisk: Storage {
    /// The largest file the simulated disk allows, in bytes; larger writes and truncates throw
    /// `.io` (as `EFBIG` would) rather than allocate without bound.
    package static let fileBytesMax: Int64 = 1 << 32

    private let state: Mutex<DiskState>

    /// A disk that is up and empty apart from the roots `/` and `.`.
    ///
    /// - Parameters:
    ///   - seed: The seed of every random choice the disk makes.
    ///   - faults: The faults to inject; none by default.
    package init(seed: UInt64, faults: Faults = .none) {
        faults.validate()
        self.state = Mutex(DiskState(seed: seed, faults: faults))
    }

    /// Runs `body` with the state under the mutex.
    func withState<Result: Sendable, Failure: Error>(
        _ body: (inout DiskState) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try state.withLock { (state: inout sending DiskState) throws(Failure) -> sending Result in
            try body(&state)
        }
    }

    // MARK: Storage

    package func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        let identity = try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.open(path, mode: mode) }
        }
        return SimulatedFile(disk: self, identity: identity)
    }

    package func exists(_ path: String) -> Bool {
        withState { state in !state.isCrashed && state.entry(SimulatedPath(path)) != nil }
    }

    package func isDirectory(_ path: String) -> Bool {
        withState { state in !state.isCrashed && state.entry(SimulatedPath(path)) == .directory }
    }

    package func listDirectory(_ path: String) throws(StorageError) -> [String] {
        try withState { state throws(StorageError) in
            try state.checkUp(path)
            let directory = SimulatedPath(path)
            try state.checkAncestors(directory, reported: path)
            switch state.entry(directory) {
            case nil: throw StorageError(.notFound, path: path)
            case .file: throw StorageError(.notDirectory, path: path)
            case .directory: return state.childNames(directory)
            }
        }
    }

    package func createDirectory(_ path: String) throws(StorageError) {
        try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.createDirectory(path) }
        }
    }

    package func removeFile(_ path: String) throws(StorageError) {
        try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.removeFile(path) }
        }
    }

    package func removeDirectory(_ path: String) throws(StorageError) {
        try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.removeDirectory(path) }
        }
    }

    package func rename(_ from: String, to: String) throws(StorageError) {
        try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.rename(from, to: to) }
        }
    }

    /// Without ``Faults/unsyncedEntryLoss``, checks that directory `path` exists and does nothing
    /// else (it is not an ``Operation``, so it moves no crash point); with it, an operation that
    /// makes the entry changes up to the last one in `path` durable (see ``SimulatedDisk``).
    package func syncDirectory(_ path: String) throws(StorageError) {
        try withState { state throws(StorageError) in try state.syncDirectory(path) }
    }

    /// Takes the lock of directory `path`, writing `owner` into `path/.lock` as ``POSIXStorage``
    /// does (the `.lock` file is created durable and is not a crash point). A second call while
    /// the lock is held throws `.locked` with detail `held by <owner>`.
    package func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        let (key, token) = try withState { state throws(StorageError) in
            try state.journalingEntries { state throws(StorageError) in try state.lock(path, owner: owner) }
        }
        return SimulatedLock(disk: self, key: key, token: token)
    }
}
