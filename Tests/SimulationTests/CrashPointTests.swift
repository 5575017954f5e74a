import Simulation
import StreamCore
import Testing

@Suite("Crash points")
struct CrashPointTests {
    /// A small workload touching every kind of operation, in the shape of a segment roll and a
    /// checkpoint: append and sync a log, write a checkpoint to a temporary file and rename it.
    static func workload(_ disk: SimulatedDisk) throws(StorageError) {
        try disk.createDirectory("/data/orders/0")
        let log = try disk.openFile("/data/orders/0/0.log", mode: .create)
        let index = try disk.openFile("/data/orders/0/0.index", mode: .createNew)
        try log.write(bytes("batch-1"), at: 0)
        try index.write([0, 0, 0, 0], at: 0)
        try index.sync()
        try log.sync()
        try log.write(bytes("batch-2"), at: 7)
        try log.truncate(to: 10)
        try log.sync()
        let checkpoint = try disk.openFile("/data/orders/0/checkpoint.tmp", mode: .create)
        try checkpoint.write(bytes("offset=2"), at: 0)
        try checkpoint.sync()
        try disk.rename("/data/orders/0/checkpoint.tmp", to: "/data/orders/0/checkpoint")
        try disk.removeFile("/data/orders/0/0.index")
        try disk.createDirectory("/data/orders/1")
        try disk.removeDirectory("/data/orders/1")
        log.close()
    }

    @Test func theWorkloadCountsAndTracesEveryMutatingOperation() throws {
        let disk = SimulatedDisk(seed: 7)
        try Self.workload(disk)
        #expect(disk.mutatingOperationCount == 17)
        #expect(disk.trace.first == .createDirectory(path: "/data/orders/0"))
        #expect(disk.trace.map(\.kind).filter { $0 == .sync }.count == 4)
        #expect(disk.trace.last == .removeDirectory(path: "/data/orders/1"))
    }

    @Test func everyCrashPointFiresAtItsOperationAndTheDiskStaysDownUntilRestart() throws {
        let reference = SimulatedDisk(seed: 7)
        try Self.workload(reference)
        let operations = reference.trace
        #expect(operations.count == reference.mutatingOperationCount)

        for step in 0..<operations.count {
            let disk = SimulatedDisk(seed: 7)
            disk.crash(afterOperations: step)
            let error = storageError { try Self.workload(disk) }
            #expect(error?.code == .crashed, "step \(step)")
            #expect(disk.isCrashed)
            #expect(disk.mutatingOperationCount == step)
            #expect(disk.trace == Array(operations[..<step]), "step \(step)")
            #expect(disk.lastCrashOperation == operations[step], "step \(step)")

            // Down: every call throws `.crashed`, the non-throwing queries answer false.
            #expect(errorCode { try disk.openFile("/data/orders/0/0.log", mode: .read) } == .crashed)
            #expect(errorCode { try disk.listDirectory("/") } == .crashed)
            #expect(errorCode { try disk.createDirectory("/x") } == .crashed)
            #expect(errorCode { try disk.removeFile("/data/orders/0/0.log") } == .crashed)
            #expect(errorCode { try disk.rename("/a", to: "/b") } == .crashed)
            #expect(errorCode { try disk.lockDirectory("/data", owner: "w") } == .crashed)
            #expect(!disk.exists("/data") && !disk.isDirectory("/data"))

            disk.restart()
            #expect(!disk.isCrashed)
            // The operation the crash fired at did not happen.
            switch operations[step] {
            case .createFile(let path): #expect(!disk.exists(path), "step \(step)")
            case .rename(let from, let to):
                #expect(disk.exists(from) && !disk.exists(to), "step \(step)")
            case .removeFile(let path): #expect(disk.exists(path), "step \(step)")
            case .createDirectory(let path): #expect(!disk.exists(path), "step \(step)")
            case .removeDirectory(let path): #expect(disk.exists(path), "step \(step)")
            case .write, .truncate, .sync, .syncDirectory: break
            }
            // Up again, and no crash point is left armed.
            try disk.createDirectory("/after")
            let file = try disk.openFile("/after/f", mode: .create)
            try file.write([1], at: 0)
            try file.sync()
        }
    }

    @Test func crashWhenFiresAtTheFirstMatchingOperation() throws {
        let disk = SimulatedDisk(seed: 1)
        disk.crashWhen { $0.kind == .sync && $0.path.hasSuffix(".log") }
        #expect(errorCode { try Self.workload(disk) } == .crashed)
        #expect(disk.lastCrashOperation == .sync(path: "/data/orders/0/0.log"))
        #expect(disk.trace.last == .sync(path: "/data/orders/0/0.index"))
        disk.restart()
        #expect(disk.durableContents(path: "/data/orders/0/0.index") == [0, 0, 0, 0])
        let log = disk.durableContents(path: "/data/orders/0/0.log")!
        #expect(log == [] || log == bytes("batch-1"))
    }

    @Test func crashWhenCanMatchTheDestinationOfARename() throws {
        let disk = SimulatedDisk(seed: 1)
        disk.crashWhen { operation in
            if case .rename(_, let to) = operation { return to.hasSuffix("/checkpoint") }
            return false
        }
        #expect(errorCode { try Self.workload(disk) } == .crashed)
        disk.restart()
        #expect(disk.durableContents(path: "/data/orders/0/checkpoint.tmp") == bytes("offset=2"))
        #expect(!disk.exists("/data/orders/0/checkpoint"))
    }

    @Test func handlesFromBeforeACrashAreDeadForeverAndNewHandlesWork() throws {
        let disk = SimulatedDisk(seed: 2)
        let file = try disk.openFile("/f", mode: .create)
        try file.write([1, 2, 3], at: 0)
        try file.sync()
        disk.crash()
        #expect(errorCode { try file.size() } == .crashed)
        disk.restart()
        #expect(errorCode { try file.size() } == .crashed)
        #expect(errorCode { try file.read(at: 0, count: 3) } == .crashed)
        #expect(errorCode { try file.write([9], at: 0) } == .crashed)
        #expect(errorCode { try file.sync() } == .crashed)
        #expect(errorCode { try file.truncate(to: 0) } == .crashed)
        file.close()
        #expect(errorCode { try file.size() } == .crashed)

        let reopened = try disk.openFile("/f", mode: .readWrite)
        #expect(try reopened.readAll() == [1, 2, 3])
        reopened.close()
        #expect(errorCode { try reopened.size() } == .closed)
        #expect(errorCode { try reopened.read(at: 0, count: 1) } == .closed)
        #expect(errorCode { try reopened.write([1], at: 0) } == .closed)
    }

    @Test func anExplicitCrashDisarmsCrashPointsAndCrashingTwiceIsHarmless() throws {
        let disk = SimulatedDisk(seed: 2)
        disk.crash(afterOperations: 1)
        disk.crashWhen { _ in true }
        disk.crash()
        disk.crash()
        disk.restart()
        disk.restart()
        try disk.createDirectory("/a")
        try disk.createDirectory("/b")
        #expect(disk.lastCrashOperation == nil)
        #expect(disk.mutatingOperationCount == 2)
    }

    @Test func aCrashInsideARecursiveRemoveKeepsAPrefixOfItsSteps() throws {
        var remaining = Set<[String]>()
        for seed in UInt64(0)..<60 {
            let disk = SimulatedDisk(seed: seed)
            try disk.createDirectory("/d/sub")
            for path in ["/d/a", "/d/b", "/d/sub/c"] { _ = try disk.openFile(path, mode: .create) }
            disk.crash(afterOperations: 0)
            #expect(errorCode { try disk.removeDirectory("/d") } == .crashed)
            disk.restart()
            let left = disk.fileNames(under: "/d")
            // POSIXStorage's order: a, b, then sub/c, sub, then d itself (never reached).
            let order = ["/d/a", "/d/b", "/d/sub/c"]
            #expect(disk.isDirectory("/d"), "seed \(seed)")
            #expect(left == Array(order.suffix(left.count)), "seed \(seed): \(left)")
            remaining.insert(left)
        }
        #expect(remaining.count >= 3)
    }

    @Test func theTraceKeepsTheLastThousandOperations() throws {
        let disk = SimulatedDisk(seed: 0)
        let file = try disk.openFile("/f", mode: .create)
        for position in 0..<1500 { try file.write([1], at: Int64(position)) }
        let trace = disk.trace
        #expect(trace.count == 1000)
        #expect(trace.first == .write(path: "/f", position: 500, count: 1))
        #expect(trace.last == .write(path: "/f", position: 1499, count: 1))
        #expect(disk.mutatingOperationCount == 1501)
    }
}
