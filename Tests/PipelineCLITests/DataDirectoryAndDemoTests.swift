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

    @Test("demo runs order-totals through a SIGKILL: the totals, each update once, and the poison records in the DLQ check out independently")
    func demo() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["demo", "--orders", "6000", "--poison", "8", "--customers", "40"], timeout: 120)
        expectDemoSuccess(result)
        for line in ["created topic orders (4 partitions, lz4)", "produced 6,008 records", "SIGKILLed after",
                     "$ pipeline run order-totals --until-idle", "ok: 40 customers, each total exact; 6,000 updates",
                     "ok: 8 dead letters: DecodingError 2, KeyMismatch 2, OrderRejected 4", "dlq.error.message:", "audit of order-totals verified:", "ok: lag 0", "summary"] {
            #expect(result.stdout.contains(line), "missing '\(line)' in \(result)")
        }

        // Checked here without the demo's own code: the good orders from the topic itself, their
        // totals per customer against customer-totals read-committed, each update once.
        var expected: [String: (orders: Int, cents: Int)] = [:]
        var poison = 0
        for envelope in try scratch.consumeEnvelopes("orders") {
            let value = try #require(envelope["value"] as? String)
            guard let order = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any],
                  let customer = order["customer_id"] as? String, envelope["key"] as? String == customer,
                  let cents = Self.cents(inOrder: value) else {
                poison += 1
                continue
            }
            #expect(envelope["partition"] as? Int == KafkaMurmur2.partition(customer, count: 4))
            let current = expected[customer] ?? (0, 0)
            expected[customer] = (current.orders + 1, current.cents + cents)
        }
        #expect(poison == 8)
        var counts: [String: [Int]] = [:]
        var last: [String: Int] = [:]
        for envelope in try scratch.consumeEnvelopes("customer-totals") {
            let value = try #require(envelope["value"] as? String)
            let total = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            let customer = try #require(total["customer_id"] as? String)
            counts[customer, default: []].append(try #require(total["orders"] as? Int))
            last[customer] = try #require(total["total_cents"] as? Int)
        }
        #expect(counts.count == expected.count)
        for (customer, (orders, cents)) in expected {
            #expect(counts[customer] == Array(1...orders), "\(customer): updates \(counts[customer]?.prefix(20) ?? [])")
            #expect(last[customer] == cents, "\(customer)")
        }
        let letters = try scratch.run(["dlq", "list", "order-totals"])
        expectSuccess(letters)
        #expect(letters.stdout.contains("total: 8 dead letters in order-totals.dlq"), "\(letters)")

        // A second run reuses the topic and checks only its own customers.
        let again = try scratch.run(["demo", "--orders", "3000", "--poison", "4", "--customers", "40"], timeout: 120)
        expectDemoSuccess(again)
        #expect(!again.stdout.contains("created topic"))
        #expect(again.stdout.contains("ok: 40 customers, each total exact; 3,000 updates"), "\(again)")
        #expect(again.stdout.contains("ok: 4 dead letters"), "\(again)")
    }

    /// The `amount` of an order's JSON text in cents: digits with at most two decimals, not
    /// negative (nil otherwise, as order-totals refuses it).
    static func cents(inOrder json: String) -> Int? {
        guard let start = json.range(of: "\"amount\":")?.upperBound else { return nil }
        let text = json[start...].prefix { $0.isNumber || $0 == "." || $0 == "-" }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.hasPrefix("-"), let whole = Int(parts[0]), parts.count <= 2 else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 2, fraction.allSatisfy(\.isNumber) else { return nil }
        return whole * 100 + (Int(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0)
    }

    /// Exit 0, and nothing on standard error but the progress lines.
    func expectDemoSuccess(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.exitCode == 0, "expected success: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderrErrorLines.allSatisfy { $0.hasPrefix("      order-totals: ") }, "unexpected stderr: \(result)", sourceLocation: sourceLocation)
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
        #expect(result.stdoutLines.map { $0.split(separator: " ").first.map(String.init) } == ["order-totals", "order-totals-codable", "payment-service", "orders-per-minute", "order-enrichment", "avro-order-totals"], "\(result)")
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
