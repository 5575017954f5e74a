import Simulation
import StreamCore
import Testing

/// One sequence of storage calls, written once, run against ``POSIXStorage`` in a temporary
/// directory and against ``SimulatedDisk``; the transcripts (results and error codes, never
/// paths) must be equal.
struct ConformanceScenario: Sendable, CustomTestStringConvertible {
    let name: String
    let body: @Sendable (any Storage, String, inout Transcript) -> Void

    var testDescription: String { name }

    static let all: [ConformanceScenario] = [files, readsAndWrites, directories, renames, locks]

    static let files = ConformanceScenario(name: "opening files") { storage, base, transcript in
        let path = joinPath(base, "f")
        transcript.record("read missing") { try storage.openFile(path, mode: .read) }
        transcript.record("readWrite missing") { try storage.openFile(path, mode: .readWrite) }
        transcript.record("in missing directory") { try storage.openFile(joinPath(base, "no/f"), mode: .create) }
        transcript.record("create") { try storage.openFile(path, mode: .create) }
        transcript.record("create existing") { try storage.openFile(path, mode: .create) }
        transcript.record("createNew existing") { try storage.openFile(path, mode: .createNew) }
        transcript.record("below a file") { try storage.openFile(joinPath(path, "g"), mode: .create) }
        transcript.record("createNew") { try storage.openFile(joinPath(base, "g"), mode: .createNew) }
        transcript.record("exists") { storage.exists(path) }
        transcript.record("is directory") { storage.isDirectory(path) }
        transcript.record("create over directory") { try storage.openFile(base, mode: .create) }
        transcript.record("createNew over directory") { try storage.openFile(base, mode: .createNew) }
        transcript.record("list") { try storage.listDirectory(base) }
        transcript.record("remove") { try storage.removeFile(path) }
        transcript.record("remove again") { try storage.removeFile(path) }
        transcript.record("remove directory as file") { try storage.removeFile(base) }
        transcript.record("list after remove") { try storage.listDirectory(base) }
    }

    static let readsAndWrites = ConformanceScenario(name: "reads and writes") { storage, base, transcript in
        let path = joinPath(base, "data")
        guard let file = transcript.record("open", { try storage.openFile(path, mode: .create) }) else { return }
        transcript.record("write") { try file.write(bytes("hello world"), at: 0) }
        transcript.record("size") { try file.size() }
        transcript.record("read all") { try file.readAll() }
        transcript.record("read past end") { try file.read(at: 6, count: 100) }
        transcript.record("read beyond end") { try file.read(at: 100, count: 5) }
        transcript.record("read nothing") { try file.read(at: 0, count: 0) }
        transcript.record("overwrite") { try file.write(bytes("W"), at: 6) }
        transcript.record("write past end") { try file.write(bytes("!"), at: 15) }
        transcript.record("read gap") { try file.readAll() }
        transcript.record("empty write past end") { try file.write([], at: 40) }
        transcript.record("size after empty write") { try file.size() }
        transcript.record("truncate shorter") { try file.truncate(to: 5) }
        transcript.record("read truncated") { try file.readAll() }
        transcript.record("truncate longer") { try file.truncate(to: 8) }
        transcript.record("read extended") { try file.readAll() }
        transcript.record("sync") { try file.sync() }
        file.close()
        file.close()
        transcript.record("size closed") { try file.size() }
        transcript.record("read closed") { try file.read(at: 0, count: 1) }
        transcript.record("write closed") { try file.write([1], at: 0) }
        transcript.record("sync closed") { try file.sync() }
        transcript.record("truncate closed") { try file.truncate(to: 0) }
        guard let reader = transcript.record("open read", { try storage.openFile(path, mode: .read) }) else { return }
        transcript.record("reopened") { try reader.readAll() }
        transcript.record("write read-only") { try reader.write([1], at: 0) }
        transcript.record("truncate read-only") { try reader.truncate(to: 0) }
        transcript.record("sync read-only") { try reader.sync() }
        guard let writer = transcript.record("open readWrite", { try storage.openFile(path, mode: .readWrite) }) else { return }
        transcript.record("remove while open") { try storage.removeFile(path) }
        transcript.record("exists after remove") { storage.exists(path) }
        transcript.record("write removed") { try writer.write(bytes("zz"), at: 0) }
        transcript.record("read removed") { try reader.readAll() }
    }

    static let directories = ConformanceScenario(name: "directories") { storage, base, transcript in
        let nested = joinPath(base, "a/b/c")
        transcript.record("create nested") { try storage.createDirectory(nested) }
        transcript.record("create existing") { try storage.createDirectory(nested) }
        transcript.record("create with trailing slash") { try storage.createDirectory(joinPath(base, "a/b/d/")) }
        transcript.record("is directory") { storage.isDirectory(joinPath(base, "a/b")) }
        transcript.record("trailing slash is the same") { storage.isDirectory(joinPath(base, "a/b/")) }
        for name in ["Zeta", "alpha", "10", "2", "b.log", "b.index"] {
            transcript.record("file \(name)") { try storage.openFile(joinPath(base, "a", name), mode: .create) }
        }
        transcript.record("list sorted") { try storage.listDirectory(joinPath(base, "a")) }
        transcript.record("list missing") { try storage.listDirectory(joinPath(base, "missing")) }
        transcript.record("list a file") { try storage.listDirectory(joinPath(base, "a/alpha")) }
        transcript.record("list below a file") { try storage.listDirectory(joinPath(base, "a/alpha/x")) }
        transcript.record("create below a file") { try storage.createDirectory(joinPath(base, "a/alpha/x")) }
        transcript.record("remove directory of a file") { try storage.removeDirectory(joinPath(base, "a/alpha")) }
        transcript.record("remove missing directory") { try storage.removeDirectory(joinPath(base, "nope")) }
        transcript.record("remove recursively") { try storage.removeDirectory(joinPath(base, "a/b")) }
        transcript.record("gone") { storage.exists(joinPath(base, "a/b/c")) }
        transcript.record("list after") { try storage.listDirectory(joinPath(base, "a")) }
        transcript.record("remove all") { try storage.removeDirectory(joinPath(base, "a")) }
        transcript.record("list base") { try storage.listDirectory(base) }
    }

    static let renames = ConformanceScenario(name: "renames") { storage, base, transcript in
        func path(_ name: String) -> String { joinPath(base, name) }
        func write(_ name: String, _ text: String) {
            transcript.record("write \(name)") {
                let file = try storage.openFile(path(name), mode: .create)
                try file.truncate(to: 0)
                try file.write(bytes(text), at: 0)
                file.close()
            }
        }
        func read(_ name: String) {
            transcript.record("read \(name)") { try storage.openFile(path(name), mode: .read).readAll() }
        }
        write("a", "first")
        transcript.record("rename") { try storage.rename(path("a"), to: path("b")) }
        transcript.record("source gone") { storage.exists(path("a")) }
        read("b")
        write("c", "second")
        transcript.record("replace a file") { try storage.rename(path("c"), to: path("b")) }
        read("b")
        transcript.record("list") { try storage.listDirectory(base) }
        transcript.record("rename missing") { try storage.rename(path("missing"), to: path("x")) }
        transcript.record("into missing directory") { try storage.rename(path("b"), to: path("nowhere/b")) }
        transcript.record("to itself") { try storage.rename(path("b"), to: path("b")) }
        read("b")
        transcript.record("tree") { try storage.createDirectory(path("d1/sub")) }
        write("d1/sub/f", "deep")
        write("d1/g", "shallow")
        transcript.record("move a tree") { try storage.rename(path("d1"), to: path("d2")) }
        transcript.record("old tree gone") { storage.exists(path("d1/sub/f")) }
        read("d2/sub/f")
        read("d2/g")
        transcript.record("list moved") { try storage.listDirectory(path("d2")) }
        transcript.record("file over directory") { try storage.rename(path("b"), to: path("d2")) }
        transcript.record("directory over file") { try storage.rename(path("d2"), to: path("b")) }
        transcript.record("empty directory") { try storage.createDirectory(path("empty")) }
        transcript.record("directory over empty directory") { try storage.rename(path("d2/sub"), to: path("empty")) }
        read("empty/f")
        transcript.record("directory over non-empty directory") { try storage.rename(path("empty"), to: path("d2")) }
        transcript.record("directory into itself") { try storage.rename(path("d2"), to: path("d2/inner")) }
        guard let open = transcript.record("open b", { try storage.openFile(path("b"), mode: .readWrite) }) else { return }
        transcript.record("rename open file") { try storage.rename(path("b"), to: path("renamed")) }
        transcript.record("write through old handle") { try open.write(bytes("S"), at: 0) }
        read("renamed")
        transcript.record("final list") { try storage.listDirectory(base) }
    }

    static let locks = ConformanceScenario(name: "locks") { storage, base, transcript in
        let directory = joinPath(base, "data")
        transcript.record("missing directory") { try storage.lockDirectory(directory, owner: "w1") }
        transcript.record("create") { try storage.createDirectory(directory) }
        guard let lock = transcript.record("lock", { try storage.lockDirectory(directory, owner: "w1") }) else { return }
        transcript.record("second lock") { try storage.lockDirectory(directory, owner: "w2") }
        transcript.recordError("detail") { try storage.lockDirectory(directory, owner: "w2") }
        transcript.record("list") { try storage.listDirectory(directory) }
        lock.release()
        guard let relock = transcript.record("relock", { try storage.lockDirectory(directory, owner: "w3") }) else { return }
        transcript.record("owner recorded") { try storage.openFile(joinPath(directory, ".lock"), mode: .read).readAll() }
        relock.release()
    }
}

/// What a scenario observed: one line per call.
struct Transcript: Equatable, CustomStringConvertible {
    var lines: [String] = []

    @discardableResult
    mutating func record<Value>(_ label: String, _ body: () throws -> Value) -> Value? {
        do {
            let value = try body()
            lines.append("\(label): \(Transcript.render(value))")
            return value
        } catch let error as StorageError {
            lines.append("\(label): error \(error.code)")
            return nil
        } catch {
            lines.append("\(label): unexpected error \(error)")
            return nil
        }
    }

    /// Records the full error detail, for errors whose detail is part of the contract.
    mutating func recordError<Value>(_ label: String, _ body: () throws -> Value) {
        if let error = storageError(body) {
            lines.append("\(label): error \(error.code) (\(error.detail))")
        } else {
            lines.append("\(label): no error")
        }
    }

    private static func render(_ value: Any) -> String {
        switch value {
        case let names as [String]: "names \(names)"
        case let bytes as [UInt8]: "bytes \(bytes)"
        case is any StorageFile: "file"
        case is any StorageLock: "lock"
        case is Void: "ok"
        default: "\(value)"
        }
    }

    var description: String { lines.joined(separator: "\n") }
}

@Suite("POSIXStorage and SimulatedDisk agree")
struct StorageConformanceTests {
    @Test(arguments: ConformanceScenario.all)
    func bothStoragesGiveTheSameTranscript(scenario: ConformanceScenario) throws {
        let temporary = makeTemporaryDirectory()
        let posix = POSIXStorage()
        defer { try? posix.removeDirectory(temporary) }
        var posixTranscript = Transcript()
        scenario.body(posix, temporary, &posixTranscript)

        let disk = SimulatedDisk(seed: 42)
        let base = "/tmp/simulated"
        try disk.createDirectory(base)
        var simulatedTranscript = Transcript()
        scenario.body(disk, base, &simulatedTranscript)

        #expect(posixTranscript.lines.count == simulatedTranscript.lines.count)
        for (posixLine, simulatedLine) in zip(posixTranscript.lines, simulatedTranscript.lines) {
            #expect(posixLine == simulatedLine)
        }
        // The same scenario with relative paths on the simulated disk gives the same transcript.
        let relative = SimulatedDisk(seed: 42)
        try relative.createDirectory("base")
        var relativeTranscript = Transcript()
        scenario.body(relative, "base", &relativeTranscript)
        #expect(relativeTranscript == simulatedTranscript)
    }
}
