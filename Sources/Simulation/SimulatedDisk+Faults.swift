import StreamCore

extension SimulatedDisk {
    /// The faults a ``SimulatedDisk`` injects besides losing unsynced changes at a crash, which it
    /// always does.
    package struct Faults: Sendable, Equatable {
        /// The probability (`0...1`) that a `read` returning at least one byte flips one uniformly
        /// chosen bit of the returned bytes. Transient: the stored bytes are unchanged.
        package var readBitFlipProbability: Double
        /// Whether a crash may tear the last surviving write of a file, and a crash point at a
        /// write may leave part of it pending (see ``SimulatedDisk``).
        package var tornWrites: Bool
        /// The most bytes all files together may hold (current view, including removed files still
        /// open); `nil` for no limit. A write that would pass it writes the bytes that fit, from its
        /// start, and throws `.diskFull`, as a short `pwrite` followed by `ENOSPC`. Truncates never
        /// fail for space (they extend sparsely, as `ftruncate` does) but do count.
        package var capacityBytes: Int?
        /// Whether a crash loses any subset of a file's unsynced pages (``SimulatedDisk/pageBytes``
        /// each), not only a suffix of its unsynced writes: each page that differs from its
        /// durable bytes keeps its new or its old bytes (½ each, zeros past the old end), and the
        /// file keeps its new or its old size (½ each). Replaces step 1 of the crash model (and
        /// its torn writes) for files with unsynced changes.
        package var unsyncedPageLoss: Bool
        /// Whether a crash may lose creations, renames and removals of directory entries that no
        /// ``SimulatedDisk/syncDirectory(_:)`` made durable (see ``SimulatedDisk``); with it on,
        /// `syncDirectory` is an ``Operation``. Off, every entry change is durable on return.
        package var unsyncedEntryLoss: Bool
        /// The probability (`0...1`) that a crash also flips one bit of the durable bytes of a
        /// file, uniformly over all their bits: persistent corruption of synced data (a bad
        /// sector), recorded in ``SimulatedDisk/bitRot``. Drawn after the crash decided what
        /// survives.
        package var durableBitRotProbability: Double
        /// The files bit rot may hit, by path suffix (e.g. `".log"`); empty for every file.
        package var bitRotPathSuffixes: [String]

        /// The probability (`0...1`) that a `sync` fails: it throws `.io` and the file's unsynced
        /// changes are lost (its current view falls back to its durable bytes), as on Linux, where
        /// a failed writeback drops the dirty pages and a later `fsync` succeeds without them.
        package var syncFailureProbability: Double

        /// Faults as given; by default none.
        package init(readBitFlipProbability: Double = 0, tornWrites: Bool = false, capacityBytes: Int? = nil,
                     unsyncedPageLoss: Bool = false, unsyncedEntryLoss: Bool = false,
                     durableBitRotProbability: Double = 0, bitRotPathSuffixes: [String] = [],
                     syncFailureProbability: Double = 0) {
            self.readBitFlipProbability = readBitFlipProbability
            self.tornWrites = tornWrites
            self.capacityBytes = capacityBytes
            self.unsyncedPageLoss = unsyncedPageLoss
            self.unsyncedEntryLoss = unsyncedEntryLoss
            self.durableBitRotProbability = durableBitRotProbability
            self.bitRotPathSuffixes = bitRotPathSuffixes
            self.syncFailureProbability = syncFailureProbability
        }

        /// No faults: reads are exact, crashes never tear, space is unlimited.
        package static let none = Faults()

        /// Checks the ranges.
        func validate() {
            precondition((0...1).contains(readBitFlipProbability), "readBitFlipProbability \(readBitFlipProbability) not in 0...1")
            precondition((capacityBytes ?? 0) >= 0, "capacityBytes \(capacityBytes ?? 0) is negative")
            precondition((0...1).contains(durableBitRotProbability), "durableBitRotProbability \(durableBitRotProbability) not in 0...1")
            precondition((0...1).contains(syncFailureProbability), "syncFailureProbability \(syncFailureProbability) not in 0...1")
        }
    }

    /// The size of a page for ``Faults/unsyncedPageLoss``, in bytes: small, so that test-sized
    /// segments span many pages.
    package static let pageBytes = 512

    /// One persistent bit flip of ``Faults/durableBitRotProbability``: the file (its path when
    /// the crash hit) and the byte position.
    package struct BitRot: Sendable, Equatable, CustomStringConvertible {
        package let path: String
        package let position: Int64
        package var description: String { "\(path)@\(position)" }
    }

    /// Every persistent bit flip made so far, oldest first.
    package var bitRot: [BitRot] { withState { state in state.bitRot } }

    /// The faults injected from now on; changing them does not affect anything already written.
    package var faults: Faults {
        get { withState { state in state.faults } }
        set {
            newValue.validate()
            withState { state in
                let wasLosingEntries = state.faults.unsyncedEntryLoss
                if !newValue.unsyncedEntryLoss { state.entryLossChanged(from: wasLosingEntries, to: false) }
                state.faults = newValue
                if newValue.unsyncedEntryLoss { state.entryLossChanged(from: wasLosingEntries, to: true) }
            }
        }
    }
}

extension DiskState {
    /// With probability ``SimulatedDisk/Faults/readBitFlipProbability``, flips one random bit.
    mutating func flipBitMaybe(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty, random.chance(faults.readBitFlipProbability) else { return }
        let bit = uniform(bytes.count * 8)
        bytes[bit / 8] ^= 1 << UInt8(bit % 8)
    }

    /// Step 1 under ``SimulatedDisk/Faults/unsyncedPageLoss``: the bytes that survive of a file
    /// whose durable bytes are `durable` and whose current view is `current`.
    mutating func survivingPages(durable: [UInt8], current: [UInt8]) -> [UInt8] {
        let size = random.chance(0.5) ? current.count : durable.count
        var survivor = [UInt8](repeating: 0, count: size)
        let pageBytes = SimulatedDisk.pageBytes
        for start in stride(from: 0, to: size, by: pageBytes) {
            let end = min(start + pageBytes, size)
            let new = Self.page(current, start, end)
            let old = Self.page(durable, start, end)
            survivor.replaceSubrange(start..<end, with: new == old || random.chance(0.5) ? new : old)
        }
        return survivor
    }

    /// `bytes[start..<end]`, zero-filled past the end of `bytes`.
    private static func page(_ bytes: [UInt8], _ start: Int, _ end: Int) -> [UInt8] {
        var page = start < bytes.count ? Array(bytes[start..<min(end, bytes.count)]) : []
        if page.count < end - start { page.append(contentsOf: repeatElement(0, count: end - start - page.count)) }
        return page
    }

    /// With probability ``SimulatedDisk/Faults/durableBitRotProbability``, flips one bit of the
    /// durable bytes of the files bit rot may hit, uniformly over their bits.
    mutating func rotABitMaybe() {
        guard faults.durableBitRotProbability > 0, random.chance(faults.durableBitRotProbability) else { return }
        let suffixes = faults.bitRotPathSuffixes
        let candidates = entries.compactMap { path, entry -> (path: SimulatedPath, inode: Int)? in
            guard case .file(let inode) = entry, suffixes.isEmpty || suffixes.contains(where: { path.name.hasSuffix($0) }),
                  !(inodes[inode]?.durable.isEmpty ?? true) else { return nil }
            return (path, inode)
        }.sorted { $0.path.description < $1.path.description }
        let total = candidates.reduce(0) { $0 + inodes[$1.inode]!.durable.count }
        guard total > 0 else { return }
        var bit = uniform(total * 8)
        for candidate in candidates {
            let bits = inodes[candidate.inode]!.durable.count * 8
            if bit >= bits {
                bit -= bits
                continue
            }
            inodes[candidate.inode]!.durable[bit / 8] ^= 1 << UInt8(bit % 8)
            inodes[candidate.inode]!.current = inodes[candidate.inode]!.durable
            bitRot.append(SimulatedDisk.BitRot(path: candidate.path.description, position: Int64(bit / 8)))
            return
        }
    }

    /// How many bytes, from the start, of a write of `count` bytes at `position` fit under
    /// ``SimulatedDisk/Faults/capacityBytes``: overwriting costs nothing, growing the file (gap
    /// included) costs its growth.
    func acceptedByteCount(_ handle: HandleIdentity, position: Int64, count: Int) -> Int {
        guard let capacity = faults.capacityBytes else { return count }
        let size = Int64(inodes[handle.inode]!.current.count)
        let available = Int64(max(0, capacity - storedBytes))
        let end = size + available
        return Int(min(Int64(count), max(0, end - position)))
    }
}
