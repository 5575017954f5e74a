import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The data directory's single owner, `pipeline demo`, `pipeline list`, and a full disk.
@Suite("pipeline data directory, demo and list")
struct DataDirectoryAndDemoTests {
    @Test("a second process gets a one-line error naming the owner; the lock goes with the owner")
    func directoryLock() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        try scratch.produce("t", ["1"])
        let owner = try PipelineProcess(["consume", "t", "--follow", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 30)
        defer { owner.killAndWait() }
        let lockFile = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent(".lock").path
        let locked = PipelineProcess.waitUntil(timeout: 10) {
            (try? String(contentsOfFile: lockFile, encoding: .utf8))?.contains("pid \(owner.pid) ") == true
                && owner.stdoutSoFar.contains("1")
        }
        try #require(locked, "the background consumer never took the lock: \(owner.stderrSoFar)")
        #expect(owner.isRunning, "--follow must keep running at the end of the topic")

        for arguments in [["topics", "list"], ["produce", "t"], ["consume", "t"], ["topics", "create", "u"]] {
            let second = try scratch.run(arguments, stdin: Data("2\n".utf8))
            expectOneLineError(second, containing: ["pid \(owner.pid)"])
            #expect(second.stderrErrorLines.first?.contains("consume") == true, "the owner's command should be named: \(second)")
        }

        let ended = owner.killAndWait()
        #expect(ended.signaled && ended.exitCode == 128 + SIGKILL)
        #expect(ended.stdoutLines == ["1"])
        // The lock dies with its owner: the directory is usable again, and nothing was added.
        let list = try scratch.run(["topics", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines.count == 1)
        #expect(try scratch.consumeLines("t") == ["1"])
    }

    @Test("demo --orders 500 creates orders, produces and consumes them back, and says ok")
    func demo() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["demo", "--orders", "500"], timeout: 30)
        expectSuccess(result)
        #expect(result.stdout.contains("created topic orders"), "\(result)")
        #expect(result.stdout.contains("produced 500 OrderCreated events"), "\(result)")
        #expect(result.stdout.contains("ok: all 500 orders came back exactly once"), "\(result)")

        let describe = try scratch.run(["topics", "describe", "orders"])
        #expect(describe.stdoutLines.contains("compression: lz4"))
        #expect(describe.stdoutLines.contains("partitions: 4"))
        #expect(describe.stdoutLines.contains { $0.hasPrefix("total: 500 offsets") }, "\(describe)")

        // The events are OrderCreated JSON, keyed by customer the way Kafka would place them.
        let envelopes = try scratch.consumeEnvelopes("orders")
        #expect(envelopes.count == 500)
        for envelope in envelopes.prefix(100) {
            let value = try #require(envelope["value"] as? String)
            let order = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            #expect(order["event_type"] as? String == "OrderCreated")
            let customer = try #require(order["customer_id"] as? String)
            #expect(envelope["key"] as? String == customer)
            #expect(envelope["partition"] as? Int == KafkaMurmur2.partition(customer, count: 4))
        }

        // A second run reuses the topic.
        let again = try scratch.run(["demo", "--orders", "500"], timeout: 30)
        expectSuccess(again)
        #expect(!again.stdout.contains("created topic"))
        #expect(again.stdout.contains("ok: all 500 orders came back exactly once"), "\(again)")
        #expect(try scratch.consumeLines("orders").count == 1000)
    }

    @Test("demo rejects a non-positive --orders")
    func demoInvalid() throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["demo", "--orders", "0"]), containing: ["--orders"])
    }

    @Test("list prints the pipeline catalog, a line each, and exits 0")
    func list() throws {
        let scratch = try Scratch()
        let result = try scratch.runBare(["list"])
        expectSuccess(result)
        #expect(result.stdoutLines.map { $0.split(separator: " ").first.map(String.init) } == ["order-totals", "payment-service", "orders-per-minute", "order-enrichment"], "\(result)")
    }

    @Test("an unknown command is a usage error")
    func unknownCommand() throws {
        let scratch = try Scratch()
        expectUsageError(try scratch.runBare(["frobnicate"]))
    }

    @Test("a full disk is a one-line error, and only whole batches that were reported produced are visible",
          .enabled(if: geteuid() == 0, "needs root to mount a small tmpfs"))
    func fullDisk() throws {
        let scratch = try Scratch()
        defer { withExtendedLifetime(scratch) {} }
        let mountPoint = scratch.root.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint.path]
        mount.standardOutput = FileHandle.nullDevice
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil else { return }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { return } // no permission to mount here: nothing to test
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = ["-l", mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        let dataDir = mountPoint.appendingPathComponent("data").path
        #expect(try runPipeline(["topics", "create", "f", "--data-dir", dataDir]).exitCode == 0)
        let input = (0..<20_000).map { "{\"i\":\($0),\"pad\":\"\(String(repeating: "x", count: 40))\"}" }.joined(separator: "\n") + "\n"
        let result = try runPipeline(["produce", "f", "--data-dir", dataDir], stdin: Data(input.utf8), timeout: 30)
        expectOneLineError(result, containing: ["no space"])
        let produced = result.stdout.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        let count = try #require(produced, "produce should say how many records it produced: \(result)")

        let consumed = try runPipeline(["consume", "f", "--data-dir", dataDir], timeout: 30)
        expectSuccess(consumed)
        let lines = consumed.stdoutLines
        #expect(lines.count == count, "stdout said \(count) were produced, \(lines.count) are visible")
        for (index, line) in lines.enumerated() where index % 97 == 0 || index == lines.count - 1 {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["i"] as? Int == index, "record \(index) is damaged: \(line)")
        }
        let dump = try runPipeline(["log", "dump", URL(fileURLWithPath: dataDir).appendingPathComponent("topics/f/0/00000000000000000000.log").path])
        #expect(DumpOutput(dump.stdout).batchLines.allSatisfy { DumpOutput.field("crcValid", in: $0) == "true" })
        #expect(!dump.stdout.contains("PROBLEM"), "\(dump)")
    }
}
