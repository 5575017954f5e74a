import StreamCore

extension SimulatedDisk {
    /// How many syncs failed so far (``Faults/syncFailureProbability``), across crashes.
    package var syncFailureCount: Int { withState { state in state.syncFailureCount } }
}

extension DiskState {
    /// With probability ``SimulatedDisk/Faults/syncFailureProbability``, fails a sync: the file's
    /// pending changes are dropped (its current view becomes its durable bytes) and the call
    /// throws `.io`. The sync was admitted, so it counts as an operation.
    mutating func failSyncMaybe(_ handle: HandleIdentity) throws(StorageError) {
        guard faults.syncFailureProbability > 0, random.chance(faults.syncFailureProbability) else { return }
        syncFailureCount += 1
        modifyNode(handle.inode) { node in
            node.pending.removeAll()
            node.current = node.durable
        }
        throw StorageError(.io, path: handle.path, detail: "fsync failed (simulated): the file's unsynced writes are lost")
    }
}
