#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage seam over real files, with POSIX calls only (`pread`, `pwrite`, `fsync`, …).
///
/// Metadata changes (create, rename, remove) sync the parent directory so that they are durable
/// when the call returns, more than the ``Storage`` contract asks; ``syncDirectory(_:)`` is an
/// `fsync` of the directory itself.
package final class POSIXStorage: Storage {
    package init() {}

    package func openFile(_ path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile {
        var flags: Int32
        switch mode {
        case .read: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .create: flags = O_RDWR | O_CREAT
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        }
        flags |= O_CLOEXEC
        let existedBefore = mode == .create ? exists(path) : true
        let descriptor = open(path, flags, 0o644)
        if descriptor < 0 { throw POSIXStorage.error(errno, path: path) }
        if mode == .createNew || !existedBefore { try syncDirectoryOf(path) }
        return POSIXFile(descriptor: descriptor, path: path)
    }

    package func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    package func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    package func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw POSIXStorage.error(errno, path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    package func createDirectory(_ path: String) throws(StorageError) {
        if isDirectory(path) { return }
        if exists(path) { throw StorageError(.alreadyExists, path: path, detail: "a file is in the way") }
        let parent = parentPath(path)
        if parent != path && parent != "." && parent != "/" && !exists(parent) {
            try createDirectory(parent)
        }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw POSIXStorage.error(errno, path: path) }
        try syncDirectoryOf(path)
    }

    package func removeFile(_ path: String) throws(StorageError) {
        if unlink(path) != 0 { throw POSIXStorage.error(errno, path: path) }
        try syncDirectoryOf(path)
    }

    package func removeDirectory(_ path: String) throws(StorageError) {
        for name in try listDirectory(path) {
            let child = joinPath(path, name)
            if isDirectory(child) {
                try removeDirectory(child)
            } else if unlink(child) != 0 {
                throw POSIXStorage.error(errno, path: child)
            }
        }
        if rmdir(path) != 0 { throw POSIXStorage.error(errno, path: path) }
        try syncDirectoryOf(path)
    }

    package func rename(_ from: String, to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw POSIXStorage.error(errno, path: from, detail: "rename to \(to)") }
        try syncDirectoryOf(to)
        if parentPath(from) != parentPath(to) { try syncDirectoryOf(from) }
    }

    package func lockDirectory(_ path: String, owner: String) throws(StorageError) -> any StorageLock {
        let lockPath = joinPath(path, ".lock")
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw POSIXStorage.error(errno, path: lockPath) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let holder = POSIXStorage.readSmallFile(descriptor)
            Glibc.close(descriptor)
            throw StorageError(.locked, path: path, detail: holder.isEmpty ? "held by another process" : "held by \(holder)")
        }
        let text = Array(owner.utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return POSIXLock(descriptor: descriptor)
    }

    package func syncDirectory(_ directory: String) throws(StorageError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 { throw POSIXStorage.error(errno, path: directory) }
        defer { Glibc.close(descriptor) }
        if fsync(descriptor) != 0 && errno != EINVAL { throw POSIXStorage.error(errno, path: directory) }
    }

    private func syncDirectoryOf(_ path: String) throws(StorageError) {
        try syncDirectory(parentPath(path))
    }

    private static func readSmallFile(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmingSuffixWhitespace()
    }

    static func error(_ code: Int32, path: String, detail: String = "") -> StorageError {
        let message = String(cString: strerror(code))
        let text = detail.isEmpty ? message : "\(detail): \(message)"
        switch code {
        case ENOENT: return StorageError(.notFound, path: path, detail: detail)
        case EEXIST: return StorageError(.alreadyExists, path: path, detail: detail)
        case ENOSPC, EDQUOT: return StorageError(.diskFull, path: path, detail: detail)
        case EACCES, EPERM, EROFS: return StorageError(.permissionDenied, path: path, detail: text)
        case ENOTDIR: return StorageError(.notDirectory, path: path, detail: detail)
        default: return StorageError(.io, path: path, detail: text)
        }
    }
}

extension String {
    fileprivate func trimmingSuffixWhitespace() -> String {
        var result = self
        while let last = result.last, last.isWhitespace || last == "\0" { result.removeLast() }
        return result
    }
}

/// A real file opened through ``POSIXStorage``.
final class POSIXFile: StorageFile {
    let path: String
    private var descriptor: Int32

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    private func checkOpen() throws(StorageError) {
        if descriptor < 0 { throw StorageError(.closed, path: path) }
    }

    func size() throws(StorageError) -> Int64 {
        try checkOpen()
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw POSIXStorage.error(errno, path: path) }
        return Int64(info.st_size)
    }

    func read(at position: Int64, count: Int) throws(StorageError) -> [UInt8] {
        try checkOpen()
        if count <= 0 { return [] }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let result = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(position) + off_t(done))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if result == 0 { break }
                done += result
            }
            initialized = done
        }
        if failure != 0 { throw POSIXStorage.error(failure, path: path) }
        return bytes
    }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(StorageError) {
        try checkOpen()
        var done = 0
        while done < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw POSIXStorage.error(errno, path: path)
            }
            done += result
        }
    }

    func sync() throws(StorageError) {
        try checkOpen()
        if fsync(descriptor) != 0 { throw POSIXStorage.error(errno, path: path) }
    }

    func truncate(to size: Int64) throws(StorageError) {
        try checkOpen()
        if ftruncate(descriptor, off_t(size)) != 0 { throw POSIXStorage.error(errno, path: path) }
    }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}

/// An `flock` held on `<data-dir>/.lock`; the kernel releases it when the process dies.
final class POSIXLock: StorageLock, @unchecked Sendable {
    private var descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { release() }

    func release() {
        if descriptor >= 0 {
            _ = flock(descriptor, LOCK_UN)
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
