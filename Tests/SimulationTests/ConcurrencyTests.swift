import Simulation
import StreamCore
import Testing

@Suite("Thread-safety")
struct ConcurrencyTests {
    @Test func manyTasksWritingTheirOwnFilesLoseNothing() async throws {
        let disk = SimulatedDisk(seed: 5)
        try disk.createDirectory("/data")
        let failures = await withTaskGroup(of: StorageError?.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    do throws(StorageError) {
                        let file = try disk.openFile("/data/\(worker)", mode: .createNew)
                        for round in 0..<200 { try file.write([UInt8(worker)], at: Int64(round)) }
                        try file.sync()
                        file.close()
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var failures: [StorageError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures.isEmpty)
        #expect(disk.mutatingOperationCount == 1 + 8 * (1 + 200 + 1))
        for worker in 0..<8 {
            #expect(disk.durableContents(path: "/data/\(worker)") == [UInt8](repeating: UInt8(worker), count: 200))
        }
    }
}
