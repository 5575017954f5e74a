import Foundation
import Testing

/// A fresh temporary directory for one test, removed when the value is released. `dataDir` is
/// the data directory the test passes with `--data-dir` (not created until a command opens it).
final class Scratch: @unchecked Sendable {
    let root: URL
    var dataDir: String { root.appendingPathComponent("data").path }

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-cli-\(UUID().uuidString.prefix(12))", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Runs `pipeline arguments… --data-dir <dataDir>` in the scratch directory.
    @discardableResult
    func run(_ arguments: [String], stdin: Data? = nil, timeout: TimeInterval = 30) throws -> ProcessResult {
        try runPipeline(arguments + ["--data-dir", dataDir], in: root, stdin: stdin, timeout: timeout)
    }

    /// Runs `pipeline arguments… --data-dir <dataDir>` with `input` on stdin.
    @discardableResult
    func run(_ arguments: [String], input: String) throws -> ProcessResult {
        try run(arguments, stdin: Data(input.utf8))
    }

    /// Runs `pipeline arguments…` without adding `--data-dir` (for `log dump`, `list`, defaults).
    @discardableResult
    func runBare(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
        try runPipeline(arguments, in: root, stdin: stdin)
    }

    /// Creates a topic, expecting success.
    func createTopic(_ name: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try run(["topics", "create", name] + options)
        #expect(result.exitCode == 0, "topics create \(name) failed: \(result)", sourceLocation: sourceLocation)
    }

    /// Produces `lines` (joined with newlines) to `topic`, expecting success.
    @discardableResult
    func produce(_ topic: String, _ lines: [String], _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let result = try run(["produce", topic] + options, input: lines.joined(separator: "\n") + "\n")
        #expect(result.exitCode == 0, "produce to \(topic) failed: \(result)", sourceLocation: sourceLocation)
        return result
    }

    /// Consumes `topic` and returns stdout's lines, expecting success.
    func consumeLines(_ topic: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try run(["consume", topic] + options)
        #expect(result.exitCode == 0, "consume \(topic) failed: \(result)", sourceLocation: sourceLocation)
        return result.stdoutLines
    }

    /// Consumes `topic` with `--format json` and parses each line.
    func consumeEnvelopes(_ topic: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        try consumeLines(topic, options + ["--format", "json"], sourceLocation: sourceLocation).map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object, "not a JSON object: \(line)", sourceLocation: sourceLocation)
        }
    }

    /// The path of a partition's first segment file.
    func segmentPath(_ topic: String, partition: Int = 0, suffix: String = ".log") -> String {
        URL(fileURLWithPath: dataDir).appendingPathComponent("topics/\(topic)/\(partition)/00000000000000000000\(suffix)").path
    }
}

/// Expects a failed command whose error output (stderr without swift-log lines) is exactly one
/// line starting with `Error:` and containing every one of `fragments`.
func expectOneLineError(
    _ result: ProcessResult, containing fragments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.exitCode != 0, "expected a non-zero exit: \(result)", sourceLocation: sourceLocation)
    #expect(!result.signaled, "crashed instead of failing cleanly: \(result)", sourceLocation: sourceLocation)
    let lines = result.stderrErrorLines
    #expect(lines.count == 1, "expected exactly one error line on stderr, got \(lines.count): \(result)", sourceLocation: sourceLocation)
    guard let line = lines.first else { return }
    #expect(line.hasPrefix("Error:"), "error line does not start with 'Error:': \(line)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(line.localizedCaseInsensitiveContains(fragment), "error line lacks '\(fragment)': \(line)", sourceLocation: sourceLocation)
    }
}

/// Expects a command rejected while parsing its arguments (ArgumentParser's usage error): a
/// non-zero exit whose first error line starts with `Error:` and contains `fragments`.
func expectUsageError(
    _ result: ProcessResult, containing fragments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.exitCode != 0, "expected a non-zero exit: \(result)", sourceLocation: sourceLocation)
    #expect(!result.signaled, "crashed instead of failing cleanly: \(result)", sourceLocation: sourceLocation)
    let first = result.stderrErrorLines.first ?? ""
    #expect(first.hasPrefix("Error:"), "first error line does not start with 'Error:': \(result)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(first.localizedCaseInsensitiveContains(fragment), "error line lacks '\(fragment)': \(first)", sourceLocation: sourceLocation)
    }
}

/// Expects a successful command with no error output (log lines allowed).
func expectSuccess(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.exitCode == 0, "expected success: \(result)", sourceLocation: sourceLocation)
    #expect(result.stderrErrorLines.isEmpty, "unexpected stderr: \(result)", sourceLocation: sourceLocation)
}

/// A reference MurmurHash2 exactly as Kafka's `Utils.murmur2` (Java, signed ints, `>>>`),
/// written independently of the engine's partitioner.
enum KafkaMurmur2 {
    static func hash(_ data: [UInt8]) -> Int32 {
        let length = Int32(data.count)
        let seed: Int32 = Int32(bitPattern: 0x9747_B28C)
        let m: Int32 = 0x5BD1_E995
        let r: Int32 = 24
        var h: Int32 = seed ^ length
        let length4 = Int(length) / 4
        func ushr(_ x: Int32, _ n: Int32) -> Int32 { Int32(bitPattern: UInt32(bitPattern: x) >> UInt32(n)) }
        for i in 0..<length4 {
            let i4 = i * 4
            var k: Int32 = (Int32(data[i4 + 0]) & 0xFF) + ((Int32(data[i4 + 1]) & 0xFF) << 8)
            k = k &+ ((Int32(data[i4 + 2]) & 0xFF) << 16) &+ ((Int32(data[i4 + 3]) & 0xFF) << 24)
            k = k &* m
            k ^= ushr(k, r)
            k = k &* m
            h = h &* m
            h ^= k
        }
        let rest = Int(length) % 4
        let tail = Int(length) & ~3
        if rest == 3 { h ^= (Int32(data[tail + 2]) & 0xFF) << 16 }
        if rest >= 2 { h ^= (Int32(data[tail + 1]) & 0xFF) << 8 }
        if rest >= 1 {
            h ^= Int32(data[tail]) & 0xFF
            h = h &* m
        }
        h ^= ushr(h, 13)
        h = h &* m
        h ^= ushr(h, 15)
        return h
    }

    /// Kafka's default partitioner: `toPositive(murmur2(key)) % numPartitions`.
    static func partition(_ key: String, count: Int) -> Int {
        Int(hash(Array(key.utf8)) & 0x7FFF_FFFF) % count
    }
}

/// The size of a file in bytes.
func fileSize(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.intValue ?? 0
}

/// Flips every bit of the byte at `offset` in `path`.
func flipByte(in path: String, at offset: Int) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[offset] ^= 0xFF
    try data.write(to: URL(fileURLWithPath: path))
}

/// Flips the bits of `mask` in the byte at `offset` of `path`.
func flipBit(in path: String, at offset: Int, mask: UInt8) throws {
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[offset] ^= mask
    try data.write(to: URL(fileURLWithPath: path))
}

/// Cuts `count` bytes off the end of `path`.
func truncateFile(_ path: String, by count: Int) throws {
    let size = try fileSize(path)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: UInt64(size - count))
}

/// The "N batches" count and per-batch lines of `log dump` output.
struct DumpOutput {
    var batchLines: [String]
    var totalLine: String?

    init(_ stdout: String) {
        let lines = stdout.split(separator: "\n").map(String.init)
        batchLines = lines.filter { $0.hasPrefix("baseOffset:") }
        totalLine = lines.last { $0.hasSuffix(" batch") || $0.hasSuffix(" batches") }
    }

    /// The value after `field: ` in a batch line.
    static func field(_ name: String, in line: String) -> String? {
        let parts = line.split(separator: " ").map(String.init)
        guard let index = parts.firstIndex(of: name + ":"), index + 1 < parts.count else { return nil }
        return parts[index + 1]
    }
}

/// The reference partitioner the CLI tests compare against must itself match Kafka.
@Suite("Kafka murmur2 reference")
struct KafkaMurmur2ReferenceTests {
    @Test("matches Kafka's Utils.murmur2 test vectors")
    func vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in cases { #expect(KafkaMurmur2.hash(Array(key.utf8)) == expected, "\(key)") }
        #expect(KafkaMurmur2.partition("foobar", count: 10) == Int((-790_332_482 as Int32) & 0x7FFF_FFFF) % 10)
    }
}
