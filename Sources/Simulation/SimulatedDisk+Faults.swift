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
        /// The probability (`0...1`) that a `sync` fails: it throws `.io` and the file's unsynced
        /// changes are lost (its current view falls back to its durable bytes), as on Linux, where
        /// a failed writeback drops the dirty pages and a later `fsync` succeeds without them.
        package var syncFailureProbability: Double

        /// Faults as given; by default none.
        package init(
            readBitFlipProbability: Double = 0, tornWrites: Bool = false, capacityBytes: Int? = nil,
            syncFailureProbability: Double = 0
        ) {
            self.readBitFlipProbability = readBitFlipProbability
            self.tornWrites = tornWrites
            self.capacityBytes = capacityBytes
            self.syncFailureProbability = syncFailureProbability
        }

        /// No faults: reads are exact, crashes never tear, space is unlimited.
        package static let none = Faults()

        /// Checks the ranges.
        func validate() {
            precondition((0...1).contains(readBitFlipProbability), "readBitFlipProbability \(readBitFlipProbability) not in 0...1")
            precondition((capacityBytes ?? 0) >= 0, "capacityBytes \(capacityBytes ?? 0) is negative")
            precondition((0...1).contains(syncFailureProbability), "syncFailureProbability \(syncFailureProbability) not in 0...1")
        }
    }

    /// The faults injected from now on; changing them does not affect anything already written.
    package var faults: Faults {
        get { withState { state in state.faults } }
        set {
            newValue.validate()
            withState { state in state.faults = newValue }
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
