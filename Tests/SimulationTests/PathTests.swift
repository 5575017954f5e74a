import Simulation
import StreamCore
import Testing

@Suite("Paths and the tree")
struct PathTests {
    @Test func pathsAreNormalised() throws {
        let disk = SimulatedDisk(seed: 5)
        try disk.createDirectory("/data//topics/")
        _ = try disk.openFile("/data/./topics/../topics/f", mode: .create)
        #expect(try disk.listDirectory("/data/topics/") == ["f"])
        #expect(disk.fileNames(under: "/data/") == ["/data/topics/f"])
        #expect(disk.exists("/data/topics/f") && !disk.exists("data/topics/f"))
        try disk.createDirectory("relative/dir")
        #expect(try disk.listDirectory("relative") == ["dir"])
        #expect(try disk.listDirectory("/") == ["data"])
        #expect(try disk.listDirectory(".") == ["relative"])
    }

    /// POSIXStorage silently succeeds here (mkdir's EEXIST is ignored); the simulated disk is
    /// stricter, so an engine bug that puts a directory where a file is shows up in simulation.
    @Test func creatingADirectoryWhereAFileIsFails() throws {
        let disk = SimulatedDisk(seed: 5)
        _ = try disk.openFile("/f", mode: .create)
        #expect(errorCode { try disk.createDirectory("/f") } == .alreadyExists)
        #expect(errorCode { try disk.createDirectory("/f/g") } == .notDirectory)
        #expect(disk.mutatingOperationCount == 1, "failed calls are not operations")
    }
}
