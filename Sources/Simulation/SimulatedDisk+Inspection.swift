/// Test helpers that look at, or damage, the disk directly. They work whether the disk is up or
/// down, are not operations (they are never crash points and are not traced), and draw no
/// randomness.
extension SimulatedDisk {
    /// Flips bits of the byte at `position` of the file at `path`, in both its durable bytes and
    /// its current view (where they reach that far): persistent corruption, as a bad sector.
    ///
    /// - Precondition: a file exists at `path` and is at least `position + 1` bytes long in its
    ///   durable bytes or its current view.
    package func corruptByte(path: String, position: Int64, xor: UInt8 = 0x01) {
        withState { state in
            guard case .file(let inode) = state.entry(SimulatedPath(path)) else {
                preconditionFailure("corruptByte: no file at \(path)")
            }
            let index = Int(position)
            state.modifyNode(inode) { node in
                precondition(
                    index >= 0 && (index < node.durable.count || index < node.current.count),
                    "corruptByte: \(path) has no byte at \(position)"
                )
                if index < node.durable.count { node.durable[index] ^= xor }
                if index < node.current.count { node.current[index] ^= xor }
            }
        }
    }

    /// The bytes of the file at `path` that a crash now could not take away; `nil` when no file
    /// is there.
    package func durableContents(path: String) -> [UInt8]? {
        withState { state in
            guard case .file(let inode) = state.entry(SimulatedPath(path)) else { return nil }
            return state.inodes[inode]!.durable
        }
    }

    /// The bytes of the file at `path` as reads see them now; `nil` when no file is there.
    package func currentContents(path: String) -> [UInt8]? {
        withState { state in
            guard case .file(let inode) = state.entry(SimulatedPath(path)) else { return nil }
            return state.inodes[inode]!.current
        }
    }

    /// The normalised paths of every file below `directory`, at any depth, sorted; empty when
    /// `directory` is missing.
    package func fileNames(under directory: String) -> [String] {
        withState { state in
            let root = SimulatedPath(directory)
            return state.entries.compactMap { path, entry in
                if case .file = entry, path.isDescendant(of: root) { return path.description }
                return nil
            }.sorted()
        }
    }

    /// The total bytes held by all files (current view), as counted against
    /// ``Faults/capacityBytes``.
    package var storedBytes: Int { withState { state in state.storedBytes } }
}
