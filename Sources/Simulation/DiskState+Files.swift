import StreamCore

/// The handle operations. Each first checks that the disk is up and the handle is of the current
/// boot (else `.crashed`), then that it is open (else `.closed`).
extension DiskState {
    func checkHandle(_ handle: HandleIdentity, isClosed: Bool) throws(StorageError) {
        try checkUp(handle.path)
        if handle.boot != boot {
            throw StorageError(.crashed, path: handle.path, detail: "handle opened before a crash")
        }
        if isClosed { throw StorageError(.closed, path: handle.path) }
    }

    func checkWritable(_ handle: HandleIdentity) throws(StorageError) {
        if !handle.isWritable { throw StorageError(.io, path: handle.path, detail: "file is open read-only") }
    }

    func checkBounds(_ handle: HandleIdentity, position: Int64, count: Int64) throws(StorageError) {
        if position < 0 || count < 0 {
            throw StorageError(.io, path: handle.path, detail: "invalid argument: position \(position)")
        }
        if position > SimulatedDisk.fileBytesMax - count {
            throw StorageError(.io, path: handle.path, detail: "file too large: past \(SimulatedDisk.fileBytesMax) bytes")
        }
    }

    func fileSize(_ handle: HandleIdentity, isClosed: Bool) throws(StorageError) -> Int64 {
        try checkHandle(handle, isClosed: isClosed)
        return Int64(inodes[handle.inode]!.current.count)
    }

    mutating func fileRead(
        _ handle: HandleIdentity, isClosed: Bool, position: Int64, count: Int
    ) throws(StorageError) -> [UInt8] {
        try checkHandle(handle, isClosed: isClosed)
        if position < 0 { throw StorageError(.io, path: handle.path, detail: "invalid argument: position \(position)") }
        let current = inodes[handle.inode]!.current
        guard count > 0, position < Int64(current.count) else { return [] }
        let start = Int(position)
        var bytes = Array(current[start..<min(current.count, start + count)])
        flipBitMaybe(&bytes)
        return bytes
    }

    mutating func fileWrite(
        _ handle: HandleIdentity, isClosed: Bool, bytes: [UInt8], position: Int64
    ) throws(StorageError) {
        try checkHandle(handle, isClosed: isClosed)
        try checkWritable(handle)
        try checkBounds(handle, position: position, count: Int64(bytes.count))
        if bytes.isEmpty { return }
        let operation = SimulatedDisk.Operation.write(path: handle.key, position: position, count: bytes.count)
        guard admit(operation) else {
            if faults.tornWrites {
                let kept = uniform(bytes.count)
                if kept > 0 {
                    modifyNode(handle.inode) { $0.change(.write(position: position, bytes: Array(bytes[..<kept]))) }
                }
            }
            throw powerLoss(at: operation)
        }
        let accepted = acceptedByteCount(handle, position: position, count: bytes.count)
        if accepted > 0 {
            let kept = accepted == bytes.count ? bytes : Array(bytes[..<accepted])
            modifyNode(handle.inode) { $0.change(.write(position: position, bytes: kept)) }
        }
        if accepted < bytes.count {
            throw StorageError(
                .diskFull, path: handle.path,
                detail: "wrote \(accepted) of \(bytes.count) bytes at \(position); capacity \(faults.capacityBytes ?? 0) bytes"
            )
        }
    }

    mutating func fileSync(_ handle: HandleIdentity, isClosed: Bool) throws(StorageError) {
        try checkHandle(handle, isClosed: isClosed)
        let operation = SimulatedDisk.Operation.sync(path: handle.key)
        guard admit(operation) else { throw powerLoss(at: operation) }
        try failSyncMaybe(handle)
        modifyNode(handle.inode) { $0.sync() }
    }

    mutating func fileTruncate(_ handle: HandleIdentity, isClosed: Bool, size: Int64) throws(StorageError) {
        try checkHandle(handle, isClosed: isClosed)
        try checkWritable(handle)
        try checkBounds(handle, position: size, count: 0)
        let operation = SimulatedDisk.Operation.truncate(path: handle.key, size: size)
        guard admit(operation) else { throw powerLoss(at: operation) }
        modifyNode(handle.inode) { $0.change(.truncate(size: size)) }
    }

    mutating func closeHandle(_ handle: HandleIdentity) {
        guard handle.boot == boot, inodes[handle.inode] != nil else { return }
        modifyNode(handle.inode) { $0.openHandleCount -= 1 }
        dropIfUnused(handle.inode)
    }
}
