import StreamCore

/// One metadata operation's effect on the tree: the new entry (or none) at each path it changed.
struct EntryChange: Sendable {
    var assignments: [(path: SimulatedPath, entry: DiskEntry?)]
    /// The directories whose entries changed: what a ``SimulatedDisk/syncDirectory(_:)`` of one
    /// of them makes durable.
    var directories: Set<SimulatedPath>
}

/// Directory entries that a crash may lose (``SimulatedDisk/Faults/unsyncedEntryLoss``).
///
/// Every metadata operation appends its change to ``DiskState/entryJournal``. A sync of
/// directory `d` makes durable the journal up to and including the last change to an entry of
/// `d` (a journaling file system commits its metadata in order, so earlier changes go with it;
/// later ones, even to `d`'s neighbours, stay pending). A crash keeps a uniformly random prefix
/// of the journal, so the tree after it is always one the operations passed through.
extension DiskState {
    /// Runs a metadata operation and, with entry loss on, journals what it changed. An operation
    /// that crashes the disk journals nothing: its partial steps are unsynced and the crash has
    /// already decided what survives.
    mutating func journalingEntries<Result>(
        _ body: (inout DiskState) throws(StorageError) -> Result
    ) throws(StorageError) -> Result {
        guard faults.unsyncedEntryLoss else { return try body(&self) }
        let before = entries
        let result = try body(&self)
        var assignments: [(path: SimulatedPath, entry: DiskEntry?)] = []
        for (path, entry) in entries where before[path] != entry { assignments.append((path, entry)) }
        for path in before.keys where entries[path] == nil { assignments.append((path, nil)) }
        if !assignments.isEmpty {
            // Parents before children, so that a prefix of a change's assignments is never needed.
            assignments.sort { $0.path.components.count < $1.path.components.count }
            let directories = Set(assignments.compactMap { $0.path.parent })
            entryJournal.append(EntryChange(assignments: assignments, directories: directories))
        }
        return result
    }

    /// `syncDirectory`: with entry loss on, an operation that makes the journal durable up to
    /// the last change of an entry of `path`; otherwise only the checks, and not an operation.
    mutating func syncDirectory(_ path: String) throws(StorageError) {
        try checkUp(path)
        let key = SimulatedPath(path)
        try checkAncestors(key, reported: path)
        switch entry(key) {
        case nil: throw StorageError(.notFound, path: path)
        case .file: throw StorageError(.notDirectory, path: path)
        case .directory: break
        }
        guard faults.unsyncedEntryLoss else { return }
        let operation = SimulatedDisk.Operation.syncDirectory(path: key.description)
        guard admit(operation) else { throw powerLoss(at: operation) }
        if let last = entryJournal.lastIndex(where: { $0.directories.contains(key) }) {
            commitEntryChanges(count: last + 1)
        }
    }

    /// Makes the first `count` journaled changes durable.
    mutating func commitEntryChanges(count: Int) {
        for change in entryJournal.prefix(count) {
            for (path, entry) in change.assignments { durableEntries[path] = entry }
        }
        entryJournal.removeFirst(count)
        for inode in inodes.keys.sorted() { dropIfUnused(inode) }
    }

    /// The crash's step 0 with entry loss on: keep a random prefix of the journal and relink the
    /// inodes the surviving tree names (a lost removal brings a file back; a lost creation
    /// orphans its inode, which step 2 then drops).
    mutating func loseUnsyncedEntries() {
        if !entryJournal.isEmpty { commitEntryChanges(count: uniform(entryJournal.count + 1)) }
        entryJournal.removeAll()
        entries = durableEntries
        var linked = Set<Int>()
        for case .file(let inode) in entries.values { linked.insert(inode) }
        for inode in inodes.keys { inodes[inode]!.isLinked = linked.contains(inode) }
    }

    /// Whether a crash could still link `inode` (a durable or journaled entry names it), so it
    /// must outlive its current unlinking.
    func entryLossMayRelink(_ inode: Int) -> Bool {
        if durableEntries.values.contains(.file(inode: inode)) { return true }
        return entryJournal.contains { change in change.assignments.contains { $0.entry == .file(inode: inode) } }
    }

    /// Turning entry loss on starts from a durable tree; turning it off makes the journal durable.
    mutating func entryLossChanged(from old: Bool, to new: Bool) {
        if !old && new {
            durableEntries = entries
            entryJournal.removeAll()
        } else if old && !new {
            commitEntryChanges(count: entryJournal.count)
            durableEntries.removeAll()
        }
    }
}
