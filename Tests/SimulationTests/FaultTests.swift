import Simulation
import StreamCore
import Testing

@Suite("Faults")
struct FaultTests {
    @Test(arguments: [0.0, 0.1, 0.5, 1.0])
    func bitFlipsAreTransientSingleBitAndAtTheConfiguredRate(probability: Double) throws {
        let disk = SimulatedDisk(seed: 11, faults: .init(readBitFlipProbability: probability))
        let stored = (0..<64).map { UInt8($0) }
        let file = try disk.openFile("/f", mode: .create)
        try file.write(stored, at: 0)
        let reads = 4000
        var flipped = 0
        for _ in 0..<reads {
            let read = try file.read(at: 0, count: 64)
            let differingBits = zip(read, stored).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +)
            #expect(differingBits <= 1)
            flipped += differingBits
        }
        let rate = Double(flipped) / Double(reads)
        #expect(abs(rate - probability) < 0.03, "rate \(rate) for probability \(probability)")
        #expect(disk.currentContents(path: "/f") == stored)
        #expect(disk.durableContents(path: "/f") == [])
        try file.sync()
        #expect(disk.durableContents(path: "/f") == stored, "flips never reach the stored bytes")
        #expect(try file.read(at: 64, count: 10) == [], "an empty read has no bit to flip")
    }

    @Test func faultsCanBeChangedBetweenPhasesOfATest() throws {
        let disk = SimulatedDisk(seed: 1)
        let file = try disk.openFile("/f", mode: .create)
        try file.write([0, 0, 0, 0], at: 0)
        disk.faults = .init(readBitFlipProbability: 1)
        #expect(try file.read(at: 0, count: 4) != [0, 0, 0, 0])
        disk.faults = .none
        #expect(try file.read(at: 0, count: 4) == [0, 0, 0, 0])
    }

    @Test func corruptByteIsPersistentInDurableAndCurrentBytes() throws {
        let disk = SimulatedDisk(seed: 1)
        let file = try disk.openFile("/f", mode: .create)
        try file.write([1, 2, 3], at: 0)
        try file.sync()
        try file.write([4], at: 3)
        disk.corruptByte(path: "/f", position: 1, xor: 0xFF)
        #expect(try file.readAll() == [1, 0xFD, 3, 4])
        #expect(disk.durableContents(path: "/f") == [1, 0xFD, 3])
        disk.corruptByte(path: "/f", position: 3)
        #expect(disk.currentContents(path: "/f") == [1, 0xFD, 3, 5])
        disk.crash()
        disk.restart()
        #expect(disk.durableContents(path: "/f")!.prefix(3) == [1, 0xFD, 3])
    }

    @Test func aWriteBeyondCapacityWritesWhatFitsAndThrowsDiskFull() throws {
        let disk = SimulatedDisk(seed: 1, faults: .init(capacityBytes: 100))
        let a = try disk.openFile("/a", mode: .create)
        let b = try disk.openFile("/b", mode: .create)
        try a.write([UInt8](repeating: 1, count: 60), at: 0)
        let error = storageError { try b.write([UInt8](repeating: 2, count: 60), at: 0) }
        #expect(error?.code == .diskFull)
        #expect(error?.path == "/b")
        #expect(try b.size() == 40, "the part that fits is written")
        #expect(disk.storedBytes == 100)
        #expect(disk.mutatingOperationCount == 4)

        // Overwriting costs nothing; growing, gaps included, does.
        try a.write([UInt8](repeating: 3, count: 60), at: 0)
        #expect(errorCode { try a.write([9], at: 70) } == .diskFull)
        #expect(try a.size() == 60)

        // Freeing space lets writes through again.
        try disk.removeFile("/b")
        b.close()
        #expect(disk.storedBytes == 60)
        try a.write([UInt8](repeating: 4, count: 40), at: 60)
        #expect(errorCode { try a.write([5], at: 100) } == .diskFull)
        try a.truncate(to: 10)
        #expect(disk.storedBytes == 10)
    }

    @Test func aRemovedFileStillOpenKeepsItsSpaceUntilClosed() throws {
        let disk = SimulatedDisk(seed: 1, faults: .init(capacityBytes: 10))
        let a = try disk.openFile("/a", mode: .create)
        try a.write([UInt8](repeating: 1, count: 10), at: 0)
        try disk.removeFile("/a")
        #expect(disk.storedBytes == 10)
        a.close()
        #expect(disk.storedBytes == 0)
    }
}
