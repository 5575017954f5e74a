import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `pipeline bench` and `pipeline bench sweep` run as real (debug) processes: the table, the
/// JSON report and its fields, both guarantees, fixed-rate mode, `--compare`, the sweep's SVG
/// and reports, and one-line errors for bad flags.
@Suite("pipeline bench", .serialized)
struct BenchCommandTests {
    /// Runs `pipeline bench arguments…` in the scratch directory (no `--data-dir` added).
    private static func bench(_ scratch: Scratch, _ arguments: [String], timeout: TimeInterval = 180) throws -> ProcessResult {
        try runPipeline(["bench"] + arguments, in: scratch.root, timeout: timeout)
    }

    /// The report a bench wrote with `--output`.
    private static func report(_ path: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        return try #require(object as? [String: Any], "not a JSON object: \(path)")
    }

    private static func section(_ report: [String: Any], _ name: String) throws -> [String: Any] {
        try #require(report[name] as? [String: Any], "no section \(name) in \(report)")
    }

    private static func double(_ section: [String: Any], _ key: String) -> Double? { (section[key] as? NSNumber)?.doubleValue }

    /// Expects the documented fields with sane values, and latency percentiles that never decrease.
    private static func expectWellFormed(_ report: [String: Any], records: Int, guarantee: String, mode: String,
                                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(report["schema_version"] as? Int == 1, sourceLocation: sourceLocation)
        #expect(report["pipeline"] as? String == "order-totals", sourceLocation: sourceLocation)
        #expect(report["mode"] as? String == mode, sourceLocation: sourceLocation)
        #expect(report["started_at"] is String, sourceLocation: sourceLocation)
        let configuration = try section(report, "configuration")
        #expect(configuration["guarantee"] as? String == guarantee, sourceLocation: sourceLocation)
        #expect(configuration["partitions"] as? Int == 2, sourceLocation: sourceLocation)
        for key in ["records", "record_bytes", "keys", "commit_interval_ms", "threads"] {
            #expect(configuration[key] is Int, "configuration.\(key)", sourceLocation: sourceLocation)
        }
        let throughput = try section(report, "throughput")
        #expect(throughput["records_in"] as? Int == records, sourceLocation: sourceLocation)
        #expect(throughput["records_out"] as? Int == records, "order-totals emits one update per order", sourceLocation: sourceLocation)
        for key in ["elapsed_s", "records_in_per_s", "records_out_per_s", "mb_in_per_s", "mb_out_per_s", "bytes_in", "bytes_out"] {
            #expect((double(throughput, key) ?? 0) > 0, "throughput.\(key) > 0", sourceLocation: sourceLocation)
        }
        let latency = try section(report, "latency_ms")
        #expect(latency["measured"] as? Bool == true, sourceLocation: sourceLocation)
        #expect(latency["samples"] as? Int == records, sourceLocation: sourceLocation)
        let percentiles = ["p50", "p90", "p99", "p99_9", "max"].map { double(latency, $0) }
        #expect(percentiles.allSatisfy { $0 != nil }, "\(latency)", sourceLocation: sourceLocation)
        let values = percentiles.compactMap { $0 }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "percentiles decrease: \(values)", sourceLocation: sourceLocation)
        let commits = try section(report, "commits")
        #expect((commits["count"] as? Int ?? 0) > 0, sourceLocation: sourceLocation)
        #expect(commits["aborts"] as? Int == 0, sourceLocation: sourceLocation)
        #expect(double(commits, "latency_p50_ms").map { p50 in p50 <= (double(commits, "latency_p99_ms") ?? 0) } == true, sourceLocation: sourceLocation)
        #expect((double(commits, "per_s") ?? 0) > 0, sourceLocation: sourceLocation)
        let resources = try section(report, "resources")
        #expect((double(resources, "cpu_s") ?? 0) > 0, sourceLocation: sourceLocation)
        #expect((resources["peak_memory_bytes"] as? Int ?? 0) > 1 << 20, sourceLocation: sourceLocation)
        let machine = try section(report, "machine")
        #expect((machine["cores"] as? Int ?? 0) >= 1, sourceLocation: sourceLocation)
        #expect(!(machine["cpu_model"] as? String ?? "").isEmpty, sourceLocation: sourceLocation)
        #expect(machine["build"] as? String == "debug", sourceLocation: sourceLocation)
    }

    @Test("a small bench prints the table and writes a JSON report with the documented fields", arguments: ["exactly-once", "at-least-once"])
    func smallBench(guarantee: String) throws {
        let scratch = try Scratch()
        let output = scratch.root.appendingPathComponent("report.json").path
        let result = try Self.bench(scratch, ["order-totals", "--records", "5000", "--partitions", "2", "--keys", "200",
                                              "--guarantee", guarantee, "--output", output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.contains("pipeline bench order-totals: 5,000 records, 2 partitions"), "\(result)")
        for row in ["records/s", "MB/s", "p99 / p99.9", "commits", "peak memory", "machine: "] {
            #expect(result.stdout.contains(row), "table lacks \(row): \(result.stdout)")
        }
        try Self.expectWellFormed(Self.report(output), records: 5000, guarantee: guarantee, mode: "full-speed")
        // The temporary data directory is gone.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
        #expect(!leftovers.contains { $0.hasPrefix("sluice-bench-") && result.stdout.contains($0) })
    }

    @Test("--metrics on --audit off: the workers record metrics, commits write no audit record, and the report says so")
    func metricsAndAuditSwitches() throws {
        let scratch = try Scratch()
        let output = scratch.root.appendingPathComponent("switches.json").path
        let dataDirectory = scratch.root.appendingPathComponent("bench-data").path
        let result = try Self.bench(scratch, ["order-totals", "--records", "3000", "--partitions", "2", "--metrics", "on", "--audit", "off",
                                              "--data-dir", dataDirectory, "--output", output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.contains(", audit off, metrics on"), "\(result.stdout)")
        let configuration = try Self.section(Self.report(output), "configuration")
        #expect(configuration["metrics"] as? Bool == true && configuration["audit"] as? Bool == false, "\(configuration)")
        let topics = try runPipeline(["topics", "list", "--internal", "--data-dir", dataDirectory], in: scratch.root)
        #expect(topics.exitCode == 0 && !topics.stdout.contains("order-totals.audit"), "\(topics)")
        let defaults = try Self.bench(scratch, ["order-totals", "--records", "1000", "--partitions", "2", "--output", output])
        #expect(defaults.exitCode == 0 && defaults.stdout.contains(", audit on, metrics off"), "\(defaults)")
    }

    @Test("--rate R --duration T offers R records/s for about T, latency from each record's append")
    func fixedRate() throws {
        let scratch = try Scratch()
        let output = scratch.root.appendingPathComponent("rate.json").path
        let started = Date()
        let result = try Self.bench(scratch, ["order-totals", "--rate", "2000", "--duration", "2s", "--partitions", "2", "--output", output])
        let wall = Date().timeIntervalSince(started)
        #expect(result.exitCode == 0, "\(result)")
        let report = try Self.report(output)
        try Self.expectWellFormed(report, records: 4000, guarantee: "exactly-once", mode: "fixed-rate")
        let elapsed = try #require(Self.double(Self.section(report, "throughput"), "elapsed_s"))
        #expect(elapsed >= 1.9 && elapsed < 8, "elapsed \(elapsed) s for a 2 s run")
        #expect(wall >= 1.9, "the command returned after \(wall) s")
        #expect(try Self.section(report, "latency_ms")["basis"] as? String == "append")
        #expect(try Self.section(report, "configuration")["rate"] as? Int == 2000)
    }

    @Test("--compare prints every metric old → new with its change")
    func compare() throws {
        let scratch = try Scratch()
        let old = scratch.root.appendingPathComponent("old.json").path
        #expect(try Self.bench(scratch, ["order-totals", "--records", "3000", "--partitions", "2", "--output", old]).exitCode == 0)
        let result = try Self.bench(scratch, ["order-totals", "--records", "3000", "--partitions", "2", "--compare", old])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.contains("change against the earlier run"), "\(result.stdout)")
        for metric in ["records in/s", "latency p99 ms", "commit p99 ms", "CPU s", "peak memory MB"] {
            let line = result.stdout.split(separator: "\n").first { $0.hasPrefix(metric) }
            #expect(line.map { $0.contains("→") && $0.contains("%)") } == true, "\(metric): \(line ?? "missing")")
        }
    }

    @Test("a windowed pipeline reports latency as not measured, with the reason")
    func windowedLatency() throws {
        let scratch = try Scratch()
        let output = scratch.root.appendingPathComponent("windows.json").path
        let result = try Self.bench(scratch, ["orders-per-minute", "--records", "6000", "--partitions", "2", "--keys", "50", "--output", output])
        #expect(result.exitCode == 0, "\(result)")
        let latency = try Self.section(Self.report(output), "latency_ms")
        #expect(latency["measured"] as? Bool == false)
        #expect((latency["note"] as? String ?? "").contains("window"))
        #expect(latency["p99"] == nil)
        #expect(try Self.section(Self.report(output), "throughput")["records_out"] as? Int ?? 0 > 0, "windows closed and were emitted")
    }

    @Test("--data-dir keeps the data of a run in a fresh directory and refuses a non-empty one")
    func dataDirectory() throws {
        let scratch = try Scratch()
        let result = try Self.bench(scratch, ["order-totals", "--records", "1000", "--partitions", "2", "--data-dir", scratch.dataDir])
        #expect(result.exitCode == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/topics/customer-totals"))
        let again = try Self.bench(scratch, ["order-totals", "--records", "1000", "--data-dir", scratch.dataDir])
        expectOneLineError(again, containing: ["not empty"])
    }

    @Test("sweep writes one JSON report per grid point and a well-formed SVG chart", .timeLimit(.minutes(5)))
    func sweep() throws {
        let scratch = try Scratch()
        let directory = scratch.root.appendingPathComponent("sweep").path
        let result = try Self.bench(scratch, ["sweep", "order-totals", "--commit-intervals", "10ms,100ms", "--guarantees", "exactly-once,at-least-once",
                                              "--records", "2000", "--partitions", "2", "--output-dir", directory], timeout: 280)
        #expect(result.exitCode == 0, "\(result)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["order-totals-at-least-once-100ms.json", "order-totals-at-least-once-10ms.json",
                          "order-totals-exactly-once-100ms.json", "order-totals-exactly-once-10ms.json", "order-totals-sweep.svg"], "\(files)")
        for file in files where file.hasSuffix(".json") {
            let report = try Self.report(directory + "/" + file)
            try Self.expectWellFormed(report, records: 2000, guarantee: file.contains("exactly-once") ? "exactly-once" : "at-least-once",
                                      mode: "full-speed")
        }
        let svg = try String(contentsOfFile: directory + "/order-totals-sweep.svg", encoding: .utf8)
        let document = try XMLDocument(xmlString: svg)
        let root = try #require(document.rootElement())
        #expect(root.name == "svg")
        let polylines = try document.nodes(forXPath: "//*[local-name()='polyline']")
        #expect(polylines.count == 4, "a line per guarantee in each of two panels")
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        for label in ["exactly-once", "at-least-once", "10ms", "100ms", "commit interval (log scale)", "Throughput", "p99 end-to-end latency"] {
            #expect(texts.contains { $0.contains(label) }, "no text \(label) in the chart")
        }
        #expect(result.stdout.contains("sweep of order-totals: 4 runs"), "\(result.stdout)")
    }

    @Test("sweep with --records and --rate: a full-speed and a fixed-rate report per point; the chart takes latency from the latter",
          .timeLimit(.minutes(3)))
    func sweepBothModes() throws {
        let scratch = try Scratch()
        let directory = scratch.root.appendingPathComponent("sweep").path
        let result = try Self.bench(scratch, ["sweep", "order-totals", "--commit-intervals", "100ms", "--guarantees", "exactly-once",
                                              "--records", "2000", "--rate", "1000", "--duration", "1s", "--partitions", "2",
                                              "--output-dir", directory], timeout: 170)
        #expect(result.exitCode == 0, "\(result)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["order-totals-exactly-once-100ms-rate.json", "order-totals-exactly-once-100ms.json", "order-totals-sweep.svg"], "\(files)")
        try Self.expectWellFormed(Self.report(directory + "/order-totals-exactly-once-100ms.json"), records: 2000, guarantee: "exactly-once", mode: "full-speed")
        try Self.expectWellFormed(Self.report(directory + "/order-totals-exactly-once-100ms-rate.json"), records: 1000, guarantee: "exactly-once", mode: "fixed-rate")
        let svg = try String(contentsOfFile: directory + "/order-totals-sweep.svg", encoding: .utf8)
        let document = try XMLDocument(xmlString: svg)
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("Throughput at full speed"), "\(texts)")
        #expect(texts.contains("p99 end-to-end latency at 1,000 records/s"), "\(texts)")
    }

    @Test("bad flags: a one-line error and a non-zero exit", arguments: [
        (["nope"], "unknown pipeline"),
        (["order-totals", "--records", "0"], "--records"),
        (["order-totals", "--records", "many"], "--records"),
        (["order-totals", "--partitions", "0"], "--partitions"),
        (["order-totals", "--guarantee", "maybe-once"], "guarantee"),
        (["order-totals", "--commit-interval", "soon"], "commit interval"),
        (["order-totals", "--duration", "1s"], "--duration needs --rate"),
        (["order-totals", "--rate", "100", "--duration", "never"], "--duration"),
        (["order-totals", "--rate", "100", "--records", "5"], "exclude"),
        (["order-totals", "--compare", "/nonexistent/old.json"], "cannot read"),
        (["order-totals", "--metrics", "maybe"], "--metrics"),
        (["sweep", "order-totals", "--commit-intervals", "10ms,fast"], "commit interval"),
        (["sweep", "order-totals", "--guarantees", "exactly-once,twice"], "guarantee"),
        (["sweep", "order-totals", "--duration", "1s"], "--duration needs --rate"),
        (["sweep", "nope"], "unknown pipeline"),
    ])
    func badFlags(arguments: [String], fragment: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try Self.bench(scratch, arguments, timeout: 60), containing: [fragment])
    }
}
