import StreamCore

/// The metadata operations, with the errors ``POSIXStorage`` gives for the same calls. Each is
/// durable when it returns; see ``SimulatedDisk`` for what a crash point at one leaves behind.
extension DiskState {
    mutating func open(_ path: String, mode: FileOpenMode) throws(StorageError) -> HandleIdentity {
        try checkUp(path)
        let key = SimulatedPath(path)
        try checkAncestors(key, reported: path)
        let inode: Int
        switch entry(key) {
        case .directory:
            if mode == .createNew { throw StorageError(.alreadyExists, path: path) }
            throw StorageError(.io, path: path, detail: "is a directory")
        case .file(let existing):
            if mode == .createNew { throw StorageError(.alreadyExists, path: path) }
            inode = existing
        case nil:
            if mode == .read || mode == .readWrite { throw StorageError(.notFound, path: path) }
            let operation = SimulatedDisk.Operation.createFile(path: key.description)
            guard admit(operation) else { throw powerLoss(at: operation) }
            inode = createFile(key)
        }
        modifyNode(inode) { $0.openHandleCount += 1 }
        return HandleIdentity(path: path, key: key.description, inode: inode, boot: boot, isWritable: mode != .read)
    }

    mutating func createDirectory(_ path: String) throws(StorageError) {
        try checkUp(path)
        let key = SimulatedPath(path)
        var missing: [SimulatedPath] = []
        for level in key.selfAndAncestors {
            switch entries[level] {
            case .directory: continue
            case .file: throw StorageError(level == key ? .alreadyExists : .notDirectory, path: path)
            case nil: missing.append(level)
            }
        }
        if missing.isEmpty { return }
        let operation = SimulatedDisk.Operation.createDirectory(path: key.description)
        guard admit(operation) else {
            // POSIXStorage creates one level at a time, each durable: a crash keeps a strict prefix.
            for level in missing.prefix(uniform(missing.count)) { entries[level] = .directory }
            throw powerLoss(at: operation)
        }
        for level in missing { entries[level] = .directory }
    }

    mutating func removeFile(_ path: String) throws(StorageError) {
        try checkUp(path)
        let key = SimulatedPath(path)
        try checkAncestors(key, reported: path)
        switch entry(key) {
        case nil: throw StorageError(.notFound, path: path)
        case .directory: throw StorageError(.io, path: path, detail: "is a directory")
        case .file: break
        }
        let operation = SimulatedDisk.Operation.removeFile(path: key.description)
        guard admit(operation) else { throw powerLoss(at: operation) }
        unlink(key)
    }

    mutating func removeDirectory(_ path: String) throws(StorageError) {
        try checkUp(path)
        let key = SimulatedPath(path)
        try checkAncestors(key, reported: path)
        switch entry(key) {
        case nil: throw StorageError(.notFound, path: path)
        case .file: throw StorageError(.notDirectory, path: path)
        case .directory: break
        }
        if key.isRoot { throw StorageError(.io, path: path, detail: "cannot remove the root") }
        let steps = removalSteps(key)
        let operation = SimulatedDisk.Operation.removeDirectory(path: key.description)
        guard admit(operation) else {
            // POSIXStorage unlinks one entry at a time, each durable: a crash keeps a strict prefix.
            for step in steps.prefix(uniform(steps.count)) { removeStep(step) }
            throw powerLoss(at: operation)
        }
        for step in steps { removeStep(step) }
    }

    mutating func rename(_ from: String, to: String) throws(StorageError) {
        try checkUp(from)
        let source = SimulatedPath(from)
        let destination = SimulatedPath(to)
        try checkAncestors(source, reported: from)
        guard let moving = entry(source) else { throw StorageError(.notFound, path: from, detail: "rename to \(to)") }
        try checkAncestors(destination, reported: from)
        if source == destination { return }
        if source.isRoot || destination.isRoot || destination.isDescendant(of: source) {
            throw StorageError(.io, path: from, detail: "rename to \(to): invalid argument")
        }
        let replaced = entries[destination]
        switch (moving, replaced) {
        case (.file, .directory):
            throw StorageError(.io, path: from, detail: "rename to \(to): is a directory")
        case (.directory, .file):
            throw StorageError(.notDirectory, path: from, detail: "rename to \(to)")
        case (.directory, .directory) where !childNames(destination).isEmpty:
            throw StorageError(.io, path: from, detail: "rename to \(to): directory not empty")
        default:
            break
        }
        let operation = SimulatedDisk.Operation.rename(from: source.description, to: destination.description)
        guard admit(operation) else { throw powerLoss(at: operation) }
        switch replaced {
        case .file: unlink(destination)
        case .directory: entries[destination] = nil
        case nil: break
        }
        if moving == .directory {
            for descendant in descendants(source) {
                let entry = entries.removeValue(forKey: descendant)
                entries[descendant.replacingPrefix(source, with: destination)] = entry
            }
        }
        entries[destination] = entries.removeValue(forKey: source)
    }

    mutating func lock(_ path: String, owner: String) throws(StorageError) -> (SimulatedPath, Int) {
        try checkUp(path)
        let key = SimulatedPath(path)
        let lockFile = key.appending(".lock")
        let lockPath = joinPath(path, ".lock")
        try checkAncestors(lockFile, reported: lockPath)
        if let held = locks[key] { throw StorageError(.locked, path: path, detail: "held by \(held.owner)") }
        let inode: Int
        switch entries[lockFile] {
        case .directory: throw StorageError(.io, path: lockPath, detail: "is a directory")
        case .file(let existing): inode = existing
        case nil: inode = createFile(lockFile)
        }
        modifyNode(inode) { node in
            node.change(.truncate(size: 0))
            node.change(.write(position: 0, bytes: Array(owner.utf8)))
            node.sync()
        }
        let token = nextLockToken
        nextLockToken += 1
        locks[key] = HeldLock(owner: owner, token: token)
        return (key, token)
    }

    mutating func unlock(_ key: SimulatedPath, token: Int) {
        if locks[key]?.token == token { locks[key] = nil }
    }
}
