import Simulation
import StreamCore
import Testing

@Suite("Durability: what survives a crash")
struct DurabilityTests {
    @Test func syncedDataSurvivesACrashAndUnsyncedDataMayNot() throws {
        for seed in UInt64(0)..<50 {
            let disk = SimulatedDisk(seed: seed)
            try disk.createDirectory("/data")
            let file = try disk.openFile("/data/a.log", mode: .create)
            try file.write(bytes("committed"), at: 0)
            try file.sync()
            try file.write(bytes("-pending"), at: 9)
            #expect(disk.durableContents(path: "/data/a.log") == bytes("committed"), "seed \(seed)")
            #expect(disk.currentContents(path: "/data/a.log") == bytes("committed-pending"), "seed \(seed)")

            disk.crash()
            disk.restart()
            let after = try disk.openFile("/data/a.log", mode: .read).readAll()
            #expect(after == bytes("committed") || after == bytes("committed-pending"), "seed \(seed)")
        }
    }

    @Test func createdFilesAndDirectoriesAreDurableAtOnce() throws {
        let disk = SimulatedDisk(seed: 1)
        try disk.createDirectory("/data/topics/orders/0")
        _ = try disk.openFile("/data/topics/orders/0/00000000000000000000.log", mode: .createNew)
        disk.crash()
        disk.restart()
        #expect(disk.isDirectory("/data/topics/orders/0"))
        #expect(try disk.listDirectory("/data/topics/orders/0") == ["00000000000000000000.log"])
        #expect(disk.durableContents(path: "/data/topics/orders/0/00000000000000000000.log") == [])
    }

    /// The model: the contents after each unsynced change. Without torn writes, what survives a
    /// crash must be one of them.
    @Test(arguments: [false, true])
    func survivorIsAlwaysAPrefixOfTheUnsyncedChanges(tornWrites: Bool) throws {
        var tornSeen = false
        for seed in UInt64(0)..<300 {
            var random = SeededRandom(seed: seed ^ 0xABCD)
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: tornWrites))
            let file = try disk.openFile("f", mode: .create)
            let base = (0..<Int(random.next() % 32)).map { _ in UInt8.random(in: 0...255, using: &random) }
            try file.write(base, at: 0)
            try file.sync()

            var states = [base]
            var lastWrites: [(before: [UInt8], position: Int, bytes: [UInt8])] = []
            for _ in 0..<Int(random.next() % 8) {
                var contents = states.last!
                if random.next() % 5 == 0 {
                    let size = Int(random.next() % 48)
                    try file.truncate(to: Int64(size))
                    contents = Array(contents.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - contents.count))
                } else {
                    let position = Int(random.next() % 48)
                    let written = (0..<Int(1 + random.next() % 16)).map { _ in UInt8.random(in: 1...255, using: &random) }
                    try file.write(written, at: Int64(position))
                    lastWrites.append((contents, position, written))
                    contents = apply(written, at: position, to: contents)
                }
                states.append(contents)
            }
            #expect(disk.currentContents(path: "f") == states.last!, "seed \(seed)")

            disk.crash()
            disk.restart()
            let survivor = try disk.openFile("f", mode: .read).readAll()
            if states.contains(survivor) { continue }
            // Not a whole prefix: only allowed as a torn write, i.e. a state before some write with
            // a strict prefix of that write applied.
            let torn = lastWrites.contains { write in
                (0..<write.bytes.count).contains { kept in
                    apply(Array(write.bytes[..<kept]), at: write.position, to: write.before) == survivor
                }
            }
            #expect(tornWrites && torn, "seed \(seed): survivor \(survivor) is no prefix of the changes")
            tornSeen = tornSeen || torn
        }
        #expect(tornSeen == tornWrites, "torn writes enabled: \(tornWrites), seen: \(tornSeen)")
    }

    @Test func tornWritesLeaveAPrefixOfTheLastSurvivingWrite() throws {
        var lengths = Set<Int>()
        for seed in UInt64(0)..<200 {
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let file = try disk.openFile("/log", mode: .create)
            let first = [UInt8](repeating: 0xAA, count: 100)
            let second = [UInt8](repeating: 0xBB, count: 100)
            try file.write(first, at: 0)
            try file.write(second, at: 100)
            disk.crash()
            disk.restart()
            let survivor = disk.durableContents(path: "/log")!
            #expect(survivor == Array((first + second).prefix(survivor.count)), "seed \(seed)")
            lengths.insert(survivor.count)
        }
        #expect(lengths.contains(0) && lengths.contains(100) && lengths.contains(200))
        #expect(lengths.contains { $0 % 100 != 0 }, "no write was ever torn")
    }

    @Test func aCrashPointAtAWriteTearsItWhenTornWritesAreOn() throws {
        var partial = false
        for seed in UInt64(0)..<100 {
            let disk = SimulatedDisk(seed: seed, faults: .init(tornWrites: true))
            let file = try disk.openFile("/log", mode: .create)
            disk.crash(afterOperations: 0)
            #expect(errorCode { try file.write([UInt8](repeating: 7, count: 64), at: 0) } == .crashed)
            disk.restart()
            let survivor = disk.durableContents(path: "/log")!
            #expect(survivor.count < 64 && survivor.allSatisfy { $0 == 7 }, "seed \(seed)")
            partial = partial || !survivor.isEmpty
        }
        #expect(partial)
        let disk = SimulatedDisk(seed: 1)
        let file = try disk.openFile("/log", mode: .create)
        disk.crash(afterOperations: 0)
        #expect(errorCode { try file.write([1, 2, 3], at: 0) } == .crashed)
        disk.restart()
        #expect(disk.durableContents(path: "/log") == [], "without torn writes the write must not happen")
    }

    @Test func unsyncedTruncateMayBeLostAndSyncedTruncateIsKept() throws {
        var outcomes = Set<Int>()
        for seed in UInt64(0)..<40 {
            let disk = SimulatedDisk(seed: seed)
            let file = try disk.openFile("/f", mode: .create)
            try file.write([UInt8](repeating: 1, count: 10), at: 0)
            try file.sync()
            try file.truncate(to: 4)
            disk.crash()
            disk.restart()
            outcomes.insert(disk.durableContents(path: "/f")!.count)
        }
        #expect(outcomes == [4, 10])

        let disk = SimulatedDisk(seed: 3)
        let file = try disk.openFile("/f", mode: .create)
        try file.write([UInt8](repeating: 1, count: 10), at: 0)
        try file.truncate(to: 4)
        try file.sync()
        disk.crash()
        disk.restart()
        #expect(disk.durableContents(path: "/f") == [1, 1, 1, 1])
    }

    @Test func aRenamedFileKeepsItsPendingWritesAndARemovedOpenFileVanishes() throws {
        var seen = Set<Int>()
        for seed in UInt64(0)..<40 {
            let disk = SimulatedDisk(seed: seed)
            let file = try disk.openFile("/tmp.new", mode: .create)
            try file.write(bytes("abc"), at: 0)
            try disk.rename("/tmp.new", to: "/final")
            let doomed = try disk.openFile("/doomed", mode: .create)
            try doomed.write(bytes("xyz"), at: 0)
            try doomed.sync()
            try disk.removeFile("/doomed")
            #expect(try doomed.readAll() == bytes("xyz"), "an open handle keeps reading a removed file")
            disk.crash()
            disk.restart()
            let survivor = disk.durableContents(path: "/final")!
            #expect(survivor == [] || survivor == bytes("abc"), "seed \(seed)")
            seen.insert(survivor.count)
            #expect(!disk.exists("/tmp.new") && !disk.exists("/doomed"))
            #expect(disk.fileNames(under: "/") == ["/final"])
        }
        #expect(seen == [0, 3])
    }
}

/// `contents` after `pwrite(bytes, position)`.
func apply(_ bytes: [UInt8], at position: Int, to contents: [UInt8]) -> [UInt8] {
    guard !bytes.isEmpty else { return contents }
    var result = contents
    if position + bytes.count > result.count { result += [UInt8](repeating: 0, count: position + bytes.count - result.count) }
    result.replaceSubrange(position..<position + bytes.count, with: bytes)
    return result
}
