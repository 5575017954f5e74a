import Simulation
import StreamCore
import Testing

@Suite("Determinism")
struct DeterminismTests {
    /// A random workload (its shape drawn from `seed` too) with bit flips and torn writes on, a
    /// crash point somewhere in it, then a restart: returns the durable state and every byte read.
    static func run(seed: UInt64) -> (snapshot: [String: [UInt8]], reads: [[UInt8]], trace: [SimulatedDisk.Operation]) {
        var random = SeededRandom(seed: seed &* 31 &+ 17)
        let disk = SimulatedDisk(seed: seed, faults: .init(readBitFlipProbability: 0.3, tornWrites: true))
        disk.crash(afterOperations: Int(random.next() % 60))
        var reads: [[UInt8]] = []
        do throws(StorageError) {
            try disk.createDirectory("/d")
            var files: [any StorageFile] = []
            for name in ["a", "b", "c"] { files.append(try disk.openFile("/d/" + name, mode: .create)) }
            for _ in 0..<80 {
                let file = files[Int(random.next() % 3)]
                switch random.next() % 6 {
                case 0: try file.sync()
                case 1: try file.truncate(to: Int64(random.next() % 64))
                case 2: reads.append(try file.read(at: 0, count: 64))
                default:
                    let data = (0..<Int(1 + random.next() % 32)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    try file.write(data, at: Int64(random.next() % 64))
                }
            }
        } catch {
            precondition(error.code == .crashed, "\(error)")
        }
        disk.crash()
        disk.restart()
        return (durableSnapshot(disk), reads, disk.trace)
    }

    @Test func theSameSeedGivesTheSameOutcomeBitForBit() {
        for seed in UInt64(0)..<30 {
            let first = Self.run(seed: seed)
            let second = Self.run(seed: seed)
            #expect(first.snapshot == second.snapshot, "seed \(seed)")
            #expect(first.reads == second.reads, "seed \(seed)")
            #expect(first.trace == second.trace, "seed \(seed)")
        }
    }

    @Test func differentDiskSeedsGiveDifferentOutcomesSometimes() throws {
        /// The same calls on disks of different seeds: only the disk's own choices differ.
        func outcome(diskSeed: UInt64) throws -> [UInt8] {
            let disk = SimulatedDisk(seed: diskSeed, faults: .init(tornWrites: true))
            let file = try disk.openFile("/f", mode: .create)
            for round in 0..<16 { try file.write([UInt8](repeating: UInt8(round), count: 8), at: Int64(round * 8)) }
            disk.crash()
            disk.restart()
            return disk.durableContents(path: "/f")!
        }
        let outcomes = try Set((UInt64(0)..<20).map { try outcome(diskSeed: $0) })
        #expect(outcomes.count > 5)
    }
}
