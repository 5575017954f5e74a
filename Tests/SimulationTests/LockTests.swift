import Simulation
import StreamCore
import Testing

@Suite("Directory locks")
struct LockTests {
    @Test func aLockIsHeldOncePerDirectoryUntilReleased() throws {
        let disk = SimulatedDisk(seed: 1)
        try disk.createDirectory("/data")
        try disk.createDirectory("/other")
        let lock = try disk.lockDirectory("/data", owner: "worker-1")
        let error = storageError { try disk.lockDirectory("/data/", owner: "worker-2") }
        #expect(error?.code == .locked)
        #expect(error?.detail == "held by worker-1")
        let other = try disk.lockDirectory("/other", owner: "worker-2")
        #expect(try disk.listDirectory("/data") == [".lock"])
        #expect(disk.durableContents(path: "/data/.lock") == bytes("worker-1"))
        lock.release()
        lock.release()
        let again = try disk.lockDirectory("/data", owner: "worker-3")
        #expect(disk.durableContents(path: "/data/.lock") == bytes("worker-3"))
        again.release()
        other.release()
    }

    @Test func aCrashReleasesEveryLockAndAnOldLockCannotReleaseANewOne() throws {
        let disk = SimulatedDisk(seed: 1)
        try disk.createDirectory("/data")
        let old = try disk.lockDirectory("/data", owner: "before")
        disk.crash()
        disk.restart()
        let new = try disk.lockDirectory("/data", owner: "after")
        old.release()
        #expect(errorCode { try disk.lockDirectory("/data", owner: "third") } == .locked)
        new.release()
    }

    @Test func droppingALockReleasesIt() throws {
        let disk = SimulatedDisk(seed: 1)
        try disk.createDirectory("/data")
        do { _ = try disk.lockDirectory("/data", owner: "gone") }
        let lock = try disk.lockDirectory("/data", owner: "next")
        lock.release()
    }

    @Test func lockingAMissingDirectoryFails() {
        let disk = SimulatedDisk(seed: 1)
        #expect(errorCode { try disk.lockDirectory("/missing", owner: "w") } == .notFound)
    }
}
