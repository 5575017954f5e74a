import Foundation
import Testing
import StreamCore
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline status`: from a data directory no process holds (`status PIPELINE`) and from a
/// running process's metrics listener (`status --url`, which reads its `GET /status`).
@Suite("pipeline status", .serialized)
struct StatusCommandTests {
    /// order-totals over 2 partitions: 600 orders of 20 customers and 5 poison records (keyed
    /// CUST-0003), run to completion with `extraRunArguments`.
    private static func ranOrderTotals(extraRunArguments: [String] = []) throws -> (Scratch, OrderLedger) {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 29)
        try scratch.produceOrders(ledger.goodOrders(600, customers: 0..<20, using: &random))
        try scratch.producePoison(ledger.poisonOrders(5, key: OrderLedger.customerID(3), using: &random), key: OrderLedger.customerID(3))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle", "--commit-interval", "5ms"] + extraRunArguments, timeout: 120),
                         pipeline: "order-totals")
        return (scratch, ledger)
    }

    private static func document(_ result: ProcessResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any], "\(result)")
    }

    private static func onlyPipeline(_ document: [String: Any]) throws -> [String: Any] {
        let pipelines = try #require(document["pipelines"] as? [[String: Any]], "\(document)")
        try #require(pipelines.count == 1, "\(document)")
        return pipelines[0]
    }

    @Test("status PIPELINE on a data directory: committed offsets at the end, lag 0, dead letters by type, the last commit from the audit trail")
    func offlineStatus() throws {
        let (scratch, ledger) = try Self.ranOrderTotals()
        let json = try scratch.run(["status", "order-totals", "--format", "json"])
        #expect(json.exitCode == 0, "\(json)")
        let status = try Self.onlyPipeline(try Self.document(json))
        #expect(status["pipeline"] as? String == "order-totals")
        #expect(status["running"] as? Bool == false)
        #expect(status["guarantee"] as? String == "exactly-once")
        #expect(status["lag"] as? Int == 0)
        #expect(status["records_per_second"] as? Double == 0)
        #expect(status["commits"] is NSNull, "\(status)")
        let workers = try #require(status["workers"] as? [[String: Any]])
        #expect(workers.compactMap { $0["transactional_id"] as? String } == ["order-totals-0", "order-totals-1"])
        let inputs = try #require(status["inputs"] as? [[String: Any]])
        #expect(inputs.count == 2)
        #expect(inputs.compactMap { $0["committed_offset"] as? Int }.reduce(0, +) == ledger.goodCount + ledger.poison.count)
        for input in inputs {
            #expect(input["committed_offset"] as? Int == input["end_offset"] as? Int && input["lag"] as? Int == 0, "\(input)")
        }
        #expect(status["dead_letters_total"] as? Int == ledger.poison.count)
        let letters = try #require(status["dead_letters"] as? [[String: Any]])
        #expect(letters.compactMap { $0["count"] as? Int }.reduce(0, +) == ledger.poison.count)
        let lastCommit = try #require(status["last_commit"] as? String, "\(status)")
        #expect(lastCommit.hasSuffix("Z"))
        let age = try #require(status["last_commit_age_seconds"] as? Double)
        #expect(age >= 0 && age < 600, "\(age)")

        let text = try scratch.run(["status", "order-totals"])
        #expect(text.exitCode == 0, "\(text)")
        #expect(text.stdoutLines.first == "order-totals: not running, exactly-once, group order-totals, 2 workers", "\(text.stdout)")
        #expect(text.stdout.contains("  lag            0\n"), "\(text.stdout)")
        #expect(text.stdout.contains("  dead letters   \(ledger.poison.count): "), "\(text.stdout)")
        #expect(text.stdout.contains("  last commit    \(lastCommit) ("), "\(text.stdout)")
    }

    @Test("without an audit trail the last commit is null, and lag counts what is not yet processed")
    func offlineStatusWithoutAudit() throws {
        let (scratch, _) = try Self.ranOrderTotals(extraRunArguments: ["--audit", "off"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 31)
        try scratch.produceOrders(ledger.goodOrders(7, customers: 0..<20, using: &random))
        let json = try scratch.run(["status", "order-totals", "--format", "json"])
        #expect(json.exitCode == 0, "\(json)")
        let status = try Self.onlyPipeline(try Self.document(json))
        #expect(status["last_commit"] is NSNull && status["last_commit_age_seconds"] is NSNull, "\(status)")
        #expect(status["lag"] as? Int == 7, "\(status)")
    }

    @Test("status refuses clearly: no PIPELINE and no --url, an unknown pipeline, a URL that is not http, nothing listening")
    func errors() throws {
        let scratch = try Scratch()
        expectUsageError(try scratch.run(["status"]), containing: ["PIPELINE", "--url"])
        expectOneLineError(try scratch.run(["status", "no-such-pipeline"]), containing: ["unknown pipeline 'no-such-pipeline'"])
        expectUsageError(try scratch.run(["status", "--url", "ftp://127.0.0.1:9464"]), containing: ["expected http://HOST:PORT"])
        // Port 1 (tcpmux): nothing listens there.
        expectOneLineError(try scratch.run(["status", "--url", "http://127.0.0.1:1"]), containing: ["cannot connect to 127.0.0.1:1"])
    }

    @Test("status --url asks a running `run --metrics` for GET /status: running, its commits, the 10 s rate and lag 0 once caught up")
    func liveStatus() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "2"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 37)
        try scratch.produceOrders(ledger.goodOrders(900, customers: 0..<30, using: &random))
        let run = try PipelineProcess(["run", "order-totals", "--metrics", "127.0.0.1:0", "--data-dir", scratch.dataDir],
                                      in: scratch.root, timeout: 120)
        defer { _ = run.killAndWait() }
        // Its first line names the port it bound.
        var port: Int?
        let deadline = Date().addingTimeInterval(60)
        while port == nil && Date() < deadline && run.isRunning {
            if let line = run.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix("metrics listening on 127.0.0.1:") }) {
                port = Int(line.split(separator: ":").last ?? "")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let bound = try #require(port, "no 'metrics listening on' line: \(run.stdoutSoFar)")
        var status: [String: Any] = [:]
        while Date() < deadline {
            let answer = try scratch.run(["status", "--url", "http://127.0.0.1:\(bound)", "--format", "json"])
            try #require(answer.exitCode == 0, "\(answer)")
            status = try Self.onlyPipeline(try Self.document(answer))
            let committed = (status["inputs"] as? [[String: Any]] ?? []).compactMap { $0["committed_offset"] as? Int }.reduce(0, +)
            if committed == 900 && status["lag"] as? Int == 0 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status["running"] as? Bool == true, "\(status)")
        #expect(status["lag"] as? Int == 0, "\(status)")
        #expect((status["commits"] as? Int ?? 0) >= 1, "\(status)")
        // 900 records committed moments ago: all within the 10 s window.
        #expect(status["records_per_second"] as? Double == 90, "\(status)")
        #expect(status["last_commit"] is String, "\(status)")
        let restore = try #require(status["state_restore_seconds"] as? [String: Double], "\(status)")
        #expect(Set(restore.keys) == ["customer-totals"])
        // Only the named pipeline; a pipeline the process does not run is an error.
        let named = try scratch.run(["status", "order-totals", "--url", "http://127.0.0.1:\(bound)"])
        #expect(named.exitCode == 0 && named.stdoutLines.first == "order-totals: running, exactly-once, group order-totals, 2 workers", "\(named)")
        expectOneLineError(try scratch.run(["status", "orders-per-minute", "--url", "http://127.0.0.1:\(bound)"]),
                           containing: ["runs no pipeline 'orders-per-minute'"])
        run.kill(SIGINT)
        let result = run.wait()
        #expect(result.exitCode == 0, "\(result)")
    }
}
