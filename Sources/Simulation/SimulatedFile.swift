import StreamCore

/// A change to a file's bytes that is not yet durable.
enum PendingChange: Sendable {
    case write(position: Int64, bytes: [UInt8])
    case truncate(size: Int64)

    /// Applies the change to `contents` as `pwrite`/`ftruncate` would: a write past the end
    /// zero-fills the gap, an empty write changes nothing, a truncate cuts or zero-extends.
    func apply(to contents: inout [UInt8]) {
        switch self {
        case .write(let position, let bytes):
            guard !bytes.isEmpty else { return }
            let start = Int(position)
            let end = start + bytes.count
            if end > contents.count { contents.append(contentsOf: repeatElement(0, count: end - contents.count)) }
            contents.replaceSubrange(start..<end, with: bytes)
        case .truncate(let size):
            let size = Int(size)
            if size < contents.count {
                contents.removeLast(contents.count - size)
            } else {
                contents.append(contentsOf: repeatElement(0, count: size - contents.count))
            }
        }
    }
}

/// A file's contents on the simulated disk (an inode).
///
/// Invariant: `current` equals `durable` with every change of `pending` applied in order.
/// `durable` and `current` are separate buffers, each changed in place, so a sync costs the
/// size of the pending changes rather than the size of the file.
struct FileNode {
    /// The bytes a crash cannot take away.
    var durable: [UInt8] = []
    /// Writes and truncates since the last sync, oldest first.
    var pending: [PendingChange] = []
    /// What reads see: `durable` plus all of `pending`.
    var current: [UInt8] = []
    /// Whether a directory entry names this file; an unlinked file lives on while handles are open.
    var isLinked = true
    /// Open handles of the current boot.
    var openHandleCount = 0

    mutating func change(_ change: PendingChange) {
        change.apply(to: &current)
        pending.append(change)
    }

    mutating func sync() {
        for change in pending { change.apply(to: &durable) }
        pending.removeAll()
    }
}

/// What a handle needs to find its file again: the inode and the boot it was opened in.
struct HandleIdentity: Sendable {
    /// The path the file was opened with, as given.
    let path: String
    /// The normalised path, used in ``SimulatedDisk/Operation``s.
    let key: String
    let inode: Int
    /// The boot (count of crashes so far) the handle was opened in; handles of older boots are dead.
    let boot: Int
    let isWritable: Bool
}

/// An open file on a ``SimulatedDisk``.
///
/// The handle names an inode, not a path, so it keeps working on its file after a rename or a
/// remove, as a POSIX descriptor does. After a crash of its disk every call throws `.crashed`,
/// also after ``SimulatedDisk/restart()``; after ``close()`` every call throws `.closed`.
///
/// Thread-safety: one owner at a time, as ``StorageFile`` says; the disk it calls is thread-safe.
final class SimulatedFile: StorageFile {
    let path: String
    private let disk: SimulatedDisk
    private let identity: HandleIdentity
    private var isClosed = false

    init(disk: SimulatedDisk, identity: HandleIdentity) {
        self.disk = disk
        self.identity = identity
        self.path = identity.path
    }

    deinit { close() }

    func size() throws(StorageError) -> Int64 {
        let isClosed = isClosed
        return try disk.withState { state throws(StorageError) in
            try state.fileSize(identity, isClosed: isClosed)
        }
    }

    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] {
        let isClosed = isClosed
        return try disk.withState { state throws(StorageError) in
            try state.fileRead(identity, isClosed: isClosed, position: position, count: count)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) {
        let isClosed = isClosed
        let bytes = [UInt8](bytes)
        try disk.withState { state throws(StorageError) in
            try state.fileWrite(identity, isClosed: isClosed, bytes: bytes, position: position)
        }
    }

    func sync() throws(StorageError) {
        let isClosed = isClosed
        try disk.withState { state throws(StorageError) in
            try state.fileSync(identity, isClosed: isClosed)
        }
    }

    func truncate(to size: Int64) throws(StorageError) {
        let isClosed = isClosed
        try disk.withState { state throws(StorageError) in
            try state.fileTruncate(identity, isClosed: isClosed, size: size)
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        disk.withState { state in state.closeHandle(identity) }
    }
}
