/// The storage seam: the only way any layer touches files.
///
/// Two implementations exist: ``POSIXStorage`` for real files, and the simulated disk in the
/// `Simulation` module, which can crash at any step, lose unsynced writes, tear the last write
/// and flip bits on read. Everything the exactly-once protocol proves is proven through this seam.
///
/// Durability contract (what callers may rely on, and what the simulated disk enforces):
/// - Bytes written to a file are durable only after a ``StorageFile/sync()`` of that file.
///   A crash may keep any prefix of the unsynced writes of a file, the last kept one possibly torn.
/// - Creating, renaming and removing files or directories is durable once the parent
///   directory was synced with ``syncDirectory(_:)`` after it. A caller that relies on an entry
///   being there after a crash (a new segment, a renamed checkpoint, a created topic) syncs its
///   directory before it builds on it. ``POSIXStorage`` also syncs the parent on every such call;
///   the simulated disk can be told to lose any entry change its directory's sync did not cover.
///
/// Thread-safety: a `Storage` is safe to use from any thread; a ``StorageFile`` handle is used
/// by one owner at a time.
package protocol Storage: AnyObject, Sendable {
    /// Opens (and with `.create` creates) the file at `path`.
    func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile
    /// Whether anything (file or directory) exists at `path`.
    func exists(_ path: String) -> Bool
    /// Whether a directory exists at `path`.
    func isDirectory(_ path: String) -> Bool
    /// The names (not paths) of the entries of a directory, sorted.
    func listDirectory(_ path: String) throws(StorageError) -> [String]
    /// Creates a directory and any missing parents; succeeds when it already exists.
    func createDirectory(_ path: String) throws(StorageError)
    /// Removes a file.
    func removeFile(_ path: String) throws(StorageError)
    /// Removes a directory and everything below it.
    func removeDirectory(_ path: String) throws(StorageError)
    /// Atomically renames a file or directory, replacing a file already at `to`.
    func rename(_ from: String, to: String) throws(StorageError)
    /// Makes every earlier creation, rename and removal of an entry of directory `path` durable
    /// (`fsync` of the directory).
    func syncDirectory(_ path: String) throws(StorageError)
    /// Takes the exclusive lock of a data directory, recording `owner` in it so a second
    /// process can be told who holds it.
    func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock
}

/// How to open a file.
package enum FileOpenMode: Sendable {
    /// Read only; the file must exist.
    case read
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write, creating an empty file when missing.
    case create
    /// Read and write, failing with `.alreadyExists` when the file exists.
    case createNew
}

/// An open file. Positions are byte positions from the start of the file.
///
/// Thread-safety: not thread-safe; one owner at a time.
package protocol StorageFile: AnyObject {
    /// The path the file was opened with.
    var path: String { get }
    /// The current size in bytes, counting unsynced writes.
    func size() throws(StorageError) -> Int64
    /// Reads up to `count` bytes at `position`; fewer only at the end of the file.
    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8]
    /// Writes `bytes` at `position`, extending the file when needed.
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError)
    /// Makes every write so far durable.
    func sync() throws(StorageError)
    /// Cuts (or zero-extends) the file to `size` bytes.
    func truncate(to size: Int64) throws(StorageError)
    /// Releases the handle; later calls fail.
    func close()
}

extension StorageFile {
    /// Writes a byte array at `position`.
    package func write(_ bytes: [UInt8], at position: Int64) throws(StorageError) {
        let result: Result<Void, StorageError> = bytes.withUnsafeBytes { buffer in
            do throws(StorageError) {
                try write(buffer, at: position)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Reads the whole file.
    package func readAll() throws(StorageError) -> [UInt8] {
        try read(at: 0, count: Int(try size()))
    }
}

/// A held data-directory lock; released by ``release()`` or when the process exits.
package protocol StorageLock: AnyObject, Sendable {
    func release()
}

/// An operating error from the storage seam, with the path and the cause.
package struct StorageError: Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable, Equatable {
        case notFound
        case alreadyExists
        case diskFull
        case permissionDenied
        case notDirectory
        case locked
        case crashed
        case closed
        case io
    }

    package let code: Code
    package let path: String
    package let detail: String

    package init(_ code: Code, path: String, detail: String = "") {
        self.code = code
        self.path = path
        self.detail = detail
    }

    package var description: String {
        let what: String
        switch code {
        case .notFound: what = "no such file or directory"
        case .alreadyExists: what = "already exists"
        case .diskFull: what = "no space left on device"
        case .permissionDenied: what = "permission denied"
        case .notDirectory: what = "not a directory"
        case .locked: what = "locked"
        case .crashed: what = "the disk crashed (simulated)"
        case .closed: what = "file handle is closed"
        case .io: what = "I/O error"
        }
        return detail.isEmpty ? "\(path): \(what)" : "\(path): \(what) (\(detail))"
    }
}

/// Joins path components with `/`.
package func joinPath(_ base: String, _ components: String...) -> String {
    var result = base
    for component in components {
        if result.isEmpty || result.hasSuffix("/") { result += component } else { result += "/" + component }
    }
    return result
}

/// The parent directory of `path` (`.` for a bare name).
package func parentPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

/// The last component of `path`.
package func lastPathComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
