import Simulation
import StreamCore
import Testing

/// The opt-in fault modes of the harsher simulator: lost unsynced pages in any subset, lost
/// directory entries whose directory was not synced, persistent corruption of synced bytes.
@Suite("Harsher faults")
struct HarsherFaultTests {
    @Test func pageLossKeepsSubsetsOfPagesNotOnlyPrefixes() throws {
        let pageBytes = SimulatedDisk.pageBytes
        var sawHole = false
        var sawOldSize = false
        for seed in UInt64(1)...60 {
            let disk = SimulatedDisk(seed: seed, faults: .init(unsyncedPageLoss: true))
            let file = try disk.openFile("/f", mode: .create)
            try file.write([UInt8](repeating: 1, count: pageBytes), at: 0)
            try file.sync()
            // Four pages written in order: a prefix model never keeps a later page without all earlier ones.
            for page in 1...4 { try file.write([UInt8](repeating: UInt8(page + 1), count: pageBytes), at: Int64(page * pageBytes)) }
            disk.crash()
            disk.restart()
            let survivor = disk.durableContents(path: "/f")!
            #expect(Array(survivor.prefix(pageBytes)) == [UInt8](repeating: 1, count: pageBytes), "seed \(seed): synced bytes are kept")
            #expect(survivor.count == pageBytes || survivor.count == 5 * pageBytes, "seed \(seed): the old or the new size")
            if survivor.count == pageBytes { sawOldSize = true; continue }
            let kept = (1...4).map { page in survivor[page * pageBytes] == UInt8(page + 1) }
            for page in 1...4 {
                let bytes = Array(survivor[(page * pageBytes)..<((page + 1) * pageBytes)])
                #expect(bytes == [UInt8](repeating: UInt8(page + 1), count: pageBytes) || bytes == [UInt8](repeating: 0, count: pageBytes),
                        "seed \(seed): page \(page) is whole, new or lost")
            }
            if let firstLost = kept.firstIndex(of: false), kept[firstLost...].contains(true) { sawHole = true }
        }
        #expect(sawHole, "some crash keeps a later page and loses an earlier one")
        #expect(sawOldSize)
    }

    @Test func pageLossOfAnOverwriteKeepsTheOldBytesOfLostPages() throws {
        let pageBytes = SimulatedDisk.pageBytes
        var outcomes = Set<[UInt8]>()
        for seed in UInt64(1)...40 {
            let disk = SimulatedDisk(seed: seed, faults: .init(unsyncedPageLoss: true))
            let file = try disk.openFile("/f", mode: .create)
            try file.write([UInt8](repeating: 7, count: 2 * pageBytes), at: 0)
            try file.sync()
            try file.write([UInt8](repeating: 8, count: 2 * pageBytes), at: 0)
            disk.crash()
            disk.restart()
            let survivor = disk.durableContents(path: "/f")!
            #expect(survivor.count == 2 * pageBytes)
            outcomes.insert([survivor[0], survivor[pageBytes]])
        }
        #expect(outcomes == [[7, 7], [7, 8], [8, 7], [8, 8]])
    }

    @Test func anUnsyncedCreationIsLostWithItsSyncedBytes() throws {
        var lost = 0
        for seed in UInt64(1)...40 {
            let disk = SimulatedDisk(seed: seed, faults: .init(unsyncedEntryLoss: true))
            try disk.createDirectory("/d")
            try disk.syncDirectory("/")
            let file = try disk.openFile("/d/a", mode: .create)
            try file.write(bytes("synced"), at: 0)
            try file.sync()
            disk.crash()
            disk.restart()
            #expect(disk.exists("/d"), "seed \(seed): a synced creation stays")
            if disk.exists("/d/a") {
                #expect(disk.durableContents(path: "/d/a") == bytes("synced"))
            } else {
                lost += 1
            }
        }
        #expect(lost > 0 && lost < 40, "\(lost) of 40 crashes lost the unsynced creation")
    }

    @Test func syncingTheDirectoryMakesItsEntriesDurable() throws {
        for seed in UInt64(1)...30 {
            let disk = SimulatedDisk(seed: seed, faults: .init(unsyncedEntryLoss: true))
            try disk.createDirectory("/d")
            let file = try disk.openFile("/d/a.tmp", mode: .create)
            try file.write(bytes("checkpoint"), at: 0)
            try file.sync()
            try disk.rename("/d/a.tmp", to: "/d/a")
            try disk.syncDirectory("/d")
            try disk.removeFile("/d/a")
            let other = try disk.openFile("/d/b", mode: .create)
            other.close()
            disk.crash()
            disk.restart()
            // The rename was synced (and the creations before it); the removal and /d/b were not.
            #expect(!disk.exists("/d/a.tmp"), "seed \(seed)")
            if disk.exists("/d/a") {
                #expect(disk.durableContents(path: "/d/a") == bytes("checkpoint"), "seed \(seed): a lost removal brings the file back whole")
                #expect(!disk.exists("/d/b"), "seed \(seed): entry changes survive in order")
            }
        }
    }

    @Test func aLostRenameLeavesTheOldName() throws {
        var outcomes = Set<String>()
        for seed in UInt64(1)...30 {
            let disk = SimulatedDisk(seed: seed, faults: .init(unsyncedEntryLoss: true))
            let file = try disk.openFile("/a.tmp", mode: .create)
            try file.write(bytes("x"), at: 0)
            try file.sync()
            try disk.syncDirectory("/")
            try disk.rename("/a.tmp", to: "/a")
            disk.crash()
            disk.restart()
            #expect(disk.exists("/a") != disk.exists("/a.tmp"), "seed \(seed): exactly one name")
            outcomes.insert(disk.exists("/a") ? "renamed" : "old name")
        }
        #expect(outcomes == ["renamed", "old name"])
    }

    @Test func withoutEntryLossSyncDirectoryIsNoOperationAndChecksThePath() throws {
        let disk = SimulatedDisk(seed: 1)
        try disk.createDirectory("/d")
        let before = disk.mutatingOperationCount
        try disk.syncDirectory("/d")
        #expect(disk.mutatingOperationCount == before, "no operation, so crash points of old seeds do not move")
        #expect(errorCode { try disk.syncDirectory("/missing") } == .notFound)
        let lossy = SimulatedDisk(seed: 1, faults: .init(unsyncedEntryLoss: true))
        try lossy.createDirectory("/d")
        try lossy.syncDirectory("/d")
        #expect(lossy.trace.last == .syncDirectory(path: "/d"))
    }

    @Test func bitRotFlipsOneDurableBitForGoodInTheChosenFiles() throws {
        let disk = SimulatedDisk(seed: 5, faults: .init(durableBitRotProbability: 1, bitRotPathSuffixes: [".log"]))
        let log = try disk.openFile("/0.log", mode: .create)
        try log.write([UInt8](repeating: 0, count: 256), at: 0)
        try log.sync()
        let index = try disk.openFile("/0.index", mode: .create)
        try index.write([UInt8](repeating: 0, count: 256), at: 0)
        try index.sync()
        for crash in 1...3 {
            disk.crash()
            disk.restart()
            #expect(disk.bitRot.count == crash)
        }
        #expect(disk.bitRot.allSatisfy { $0.path == "/0.log" })
        let flipped = disk.durableContents(path: "/0.log")!.map(\.nonzeroBitCount).reduce(0, +)
        #expect(flipped >= 1 && flipped <= 3, "one bit per crash (two may cancel)")
        #expect(disk.durableContents(path: "/0.index") == [UInt8](repeating: 0, count: 256))
        let reopened = try disk.openFile("/0.log", mode: .read)
        #expect(try reopened.readAll() == disk.durableContents(path: "/0.log"), "reads serve the flipped bytes every time")
    }

    @Test func directorySyncsWithoutEntryLossChangeNothingOfACrash() throws {
        // The engine now syncs directories; without entry loss that must not move an old seed's
        // crash points or its random draws.
        func run(syncingDirectories: Bool) throws -> ([String: [UInt8]], Int) {
            let disk = SimulatedDisk(seed: 99, faults: .init(tornWrites: true))
            for round in 0..<5 {
                disk.crash(afterOperations: 3 + round * 2)
                do {
                    let file = try disk.openFile("/f\(round % 2)", mode: .create)
                    if syncingDirectories { try disk.syncDirectory("/") }
                    for index in 0..<6 { try file.write(bytes("round \(round) write \(index)"), at: Int64(index * 9)) }
                    if round % 2 == 0 { try file.sync() }
                } catch {
                    #expect(disk.isCrashed)
                }
                disk.crash()
                disk.restart()
            }
            return (durableSnapshot(disk), disk.mutatingOperationCount)
        }
        let without = try run(syncingDirectories: false)
        let with = try run(syncingDirectories: true)
        #expect(with.0 == without.0)
        #expect(with.1 == without.1)
    }
}
