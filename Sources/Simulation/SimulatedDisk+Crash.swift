import StreamCore

extension SimulatedDisk {
    /// Loses power now, as described under "Crash model" in ``SimulatedDisk``. Does nothing when
    /// the disk is already down.
    package func crash() {
        withState { state in
            guard !state.isCrashed else { return }
            state.lastCrashOperation = nil
            _ = state.powerLoss()
        }
    }

    /// Brings a crashed disk back up, serving the durable state the crash left. Handles and locks
    /// from before the crash stay dead. Does nothing when the disk is up.
    package func restart() {
        withState { state in state.isCrashed = false }
    }

    /// Whether the disk is down (crashed and not yet restarted).
    package var isCrashed: Bool { withState { state in state.isCrashed } }

    /// Arms a crash point: the next `operations` mutating operations (see ``Operation``) happen,
    /// and the one after them crashes the disk instead of happening; its call throws `.crashed`.
    /// `crash(afterOperations: 0)` crashes at the very next one.
    ///
    /// To crash at every step of a scenario: run it once without crashing and read
    /// ``mutatingOperationCount`` as `n`; then for each `k` in `0..<n`, on a fresh disk with the
    /// same seed, arm `crash(afterOperations: k)` and run it again.
    ///
    /// - Precondition: `operations >= 0`.
    package func crash(afterOperations operations: Int) {
        precondition(operations >= 0, "crash(afterOperations: \(operations))")
        withState { state in state.crashCountdown = operations }
    }

    /// Arms a crash point at the first mutating operation for which `predicate` is true, e.g.
    /// `{ $0.kind == .sync && $0.path.hasSuffix(".log") }`. The predicate runs under the disk's
    /// mutex and must not call the disk. Both kinds of crash point may be armed at once; a crash,
    /// however caused, disarms both.
    package func crashWhen(_ predicate: @escaping @Sendable (Operation) -> Bool) {
        withState { state in state.crashPredicate = predicate }
    }

    /// How many mutating operations have happened since `init`, across crashes. The operation a
    /// crash point fires at is not counted; a write that fails with `.diskFull` is.
    package var mutatingOperationCount: Int { withState { state in state.operationCount } }

    /// The last mutating operations that happened (up to 1000), oldest first; the operation a
    /// crash point fired at is ``lastCrashOperation``, not part of the trace.
    package var trace: [Operation] { withState { state in state.trace.operations } }

    /// The operation the last crash point fired at; `nil` before any crash and after ``crash()``.
    package var lastCrashOperation: Operation? { withState { state in state.lastCrashOperation } }
}

extension DiskState {
    /// Performs a power loss and returns the error for the call that caused it.
    mutating func powerLoss(at operation: SimulatedDisk.Operation) -> StorageError {
        lastCrashOperation = operation
        let count = operationCount
        return powerLoss(detail: "crash point at operation \(count): \(operation)", path: operation.path)
    }

    /// The crash model of ``SimulatedDisk``, steps 1–4.
    @discardableResult
    mutating func powerLoss(detail: String = "crashed", path: String = "") -> StorageError {
        if faults.unsyncedEntryLoss { loseUnsyncedEntries() }
        for inode in inodes.keys.sorted() {
            var node = inodes.removeValue(forKey: inode)!
            storedBytes -= node.current.count
            guard node.isLinked else { continue }
            if !node.pending.isEmpty && faults.unsyncedPageLoss {
                node.durable = survivingPages(durable: node.durable, current: node.current)
                node.pending.removeAll()
                node.current = node.durable
            } else if !node.pending.isEmpty {
                let survivorCount = uniform(node.pending.count + 1)
                for index in 0..<survivorCount {
                    var change = node.pending[index]
                    if index == survivorCount - 1, faults.tornWrites,
                        case .write(let position, let bytes) = change, random.chance(0.5)
                    {
                        change = .write(position: position, bytes: Array(bytes[..<uniform(bytes.count)]))
                    }
                    change.apply(to: &node.durable)
                }
                node.pending.removeAll()
                node.current = node.durable
            }
            node.openHandleCount = 0
            storedBytes += node.current.count
            inodes[inode] = node
        }
        rotABitMaybe()
        locks.removeAll()
        crashCountdown = nil
        crashPredicate = nil
        boot += 1
        isCrashed = true
        return StorageError(.crashed, path: path, detail: detail)
    }
}
