import Foundation
import Testing

/// Helpers shared by the `pipeline copy` / `pipeline transactions` tests: generated source
/// records with unique values, a fast decoder for `consume --format json`, and parsers for the
/// `transactions list` table. Processes are run with `Scratch` and `PipelineProcess`.

/// One line of `consume --format json`.
struct Envelope: Decodable, Hashable {
    struct Header: Decodable, Hashable {
        var key: String
        var value: String?
        var value_encoding: String?

        var valueBytes: [UInt8]? { Envelope.bytes(value, encoding: value_encoding) }
    }

    var topic: String
    var partition: Int
    var offset: Int64
    var timestamp: Int64
    var key: String?
    var key_encoding: String?
    var value: String?
    var value_encoding: String?
    var headers: [Header]

    var keyBytes: [UInt8]? { Envelope.bytes(key, encoding: key_encoding) }
    var valueBytes: [UInt8]? { Envelope.bytes(value, encoding: value_encoding) }

    static func bytes(_ text: String?, encoding: String?) -> [UInt8]? {
        guard let text else { return nil }
        if encoding == "base64" { return Data(base64Encoded: text).map(Array.init) }
        return Array(text.utf8)
    }

    /// Decodes every line of `consume --format json` output in one pass (one JSON array), which
    /// keeps hundreds of thousands of lines affordable in a debug build.
    static func decode(_ stdout: Data) throws -> [Envelope] {
        var array = Data(capacity: stdout.count + 2)
        array.append(UInt8(ascii: "["))
        var first = true
        for line in stdout.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if !first { array.append(UInt8(ascii: ",")) }
            array.append(contentsOf: line)
            first = false
        }
        array.append(UInt8(ascii: "]"))
        return try JSONDecoder().decode([Envelope].self, from: array)
    }
}

/// Source records with unique values, produced through the CLI: keyed ones as JSON lines
/// `{"id":"<prefix>-k-0000001","k":"key-17"}` (`--key-field k`), keyless ones as raw lines.
struct CopyCorpus {
    /// Every produced value → its key (nil for a keyless record).
    private(set) var keys: [String: String?] = [:]
    /// Every produced value, in production order.
    private(set) var values: [String] = []

    var count: Int { values.count }

    /// Adds `keyed` JSON records and `keyless` raw records whose values start with `prefix`
    /// (padded with `padding` more bytes); returns the two batches of lines to produce.
    mutating func add(prefix: String, keyed: Int, keyless: Int, padding: Int = 0) -> (keyed: [String], keyless: [String]) {
        let pad = String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: padding / 36 + 1).prefix(padding)
        var keyedLines: [String] = []
        keyedLines.reserveCapacity(keyed)
        for index in 0..<keyed {
            let key = "key-\(index % 997)"
            let line = padding > 0
                ? "{\"id\":\"\(prefix)-k-\(index)\",\"k\":\"\(key)\",\"pad\":\"\(pad)\"}"
                : "{\"id\":\"\(prefix)-k-\(index)\",\"k\":\"\(key)\"}"
            keyedLines.append(line)
            keys[line] = .some(key)
            values.append(line)
        }
        var rawLines: [String] = []
        rawLines.reserveCapacity(keyless)
        for index in 0..<keyless {
            let line = padding > 0 ? "\(prefix)-r-\(index) \(pad)" : "\(prefix)-r-\(index)"
            rawLines.append(line)
            keys[line] = .some(nil)
            values.append(line)
        }
        return (keyedLines, rawLines)
    }
}

/// A row of `pipeline transactions list`.
struct TransactionRow: Equatable {
    var transactionalID: String
    var producerID: Int64
    var epoch: Int
    var state: String
    var participants: String
    var age: String

    /// The rows of `transactions list` output (the header line is skipped).
    static func parse(_ stdout: String) -> [TransactionRow] {
        stdout.split(separator: "\n").compactMap { line -> TransactionRow? in
            guard !line.hasPrefix("TRANSACTIONAL ID") else { return nil }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count == 6, let producer = Int64(fields[1]), let epoch = Int(fields[2]) else { return nil }
            return TransactionRow(transactionalID: fields[0], producerID: producer, epoch: epoch, state: fields[3],
                                  participants: fields[4], age: fields[5])
        }
    }
}

/// ASCII letters upper-cased, every other byte kept (what `--transform uppercase` promises).
func asciiUppercased(_ bytes: [UInt8]) -> [UInt8] {
    bytes.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
}

extension Scratch {
    /// Writes `lines` (newline-terminated) to a file in the scratch directory; returns its path.
    func writeLines(_ lines: [String], name: String) throws -> String {
        let url = root.appendingPathComponent(name)
        var data = Data()
        data.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        for line in lines {
            data.append(contentsOf: line.utf8)
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: url)
        return url.path
    }

    /// Produces a corpus batch to `topic` through `--file`: keyed lines with `--key-field k`,
    /// keyless ones with `--format raw`.
    func produce(_ batch: (keyed: [String], keyless: [String]), to topic: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tag = UUID().uuidString.prefix(8)
        if !batch.keyed.isEmpty {
            let path = try writeLines(batch.keyed, name: "keyed-\(tag).jsonl")
            let result = try run(["produce", topic, "--key-field", "k", "--file", path], timeout: 180)
            #expect(result.exitCode == 0, "produce (keyed) failed: \(result)", sourceLocation: sourceLocation)
            #expect(result.stdout.hasPrefix("produced \(batch.keyed.count) records"), "\(result)", sourceLocation: sourceLocation)
        }
        if !batch.keyless.isEmpty {
            let path = try writeLines(batch.keyless, name: "raw-\(tag).txt")
            let result = try run(["produce", topic, "--format", "raw", "--file", path], timeout: 180)
            #expect(result.exitCode == 0, "produce (raw) failed: \(result)", sourceLocation: sourceLocation)
            #expect(result.stdout.hasPrefix("produced \(batch.keyless.count) records"), "\(result)", sourceLocation: sourceLocation)
        }
    }

    /// `consume TOPIC --format json options…`, decoded; expects success.
    func envelopes(_ topic: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Envelope] {
        let result = try run(["consume", topic, "--format", "json"] + options, timeout: 180)
        try #require(result.exitCode == 0, "consume \(topic) failed: \(result)", sourceLocation: sourceLocation)
        return try Envelope.decode(result.stdoutData)
    }

    /// `consume TOPIC options…` (one value per line); expects success.
    func values(_ topic: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try run(["consume", topic] + options, timeout: 180)
        try #require(result.exitCode == 0, "consume \(topic) failed: \(result)", sourceLocation: sourceLocation)
        return result.stdoutLines
    }

    /// `pipeline transactions list`, parsed; expects success.
    func transactionRows(sourceLocation: SourceLocation = #_sourceLocation) throws -> [TransactionRow] {
        let result = try run(["transactions", "list"])
        try #require(result.exitCode == 0, "transactions list failed: \(result)", sourceLocation: sourceLocation)
        return TransactionRow.parse(result.stdout)
    }

    /// `pipeline log dump` of a partition's first segment (which opens no data directory, so it
    /// runs no recovery): the batch lines.
    func dumpBatchLines(_ topic: String, partition: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let result = try runBare(["log", "dump", segmentPath(topic, partition: partition)])
        try #require(result.exitCode == 0, "log dump failed: \(result)", sourceLocation: sourceLocation)
        return DumpOutput(result.stdout).batchLines
    }
}

/// The seed of a randomized test: `SLUICE_CRASH_SEED` when set, otherwise a fresh one.
func crashTestSeed() -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["SLUICE_CRASH_SEED"], let seed = UInt64(text) { return seed }
    return UInt64.random(in: 1...UInt64(Int64.max))
}

/// The lag of the last progress line `copy` wrote to stderr (`copied N records in T
/// transactions, lag L`), if any.
func lastReportedLag(_ stderr: String) -> Int? {
    for line in stderr.split(separator: "\n").reversed() {
        guard line.hasPrefix("copied "), let range = line.range(of: ", lag ") else { continue }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
    return nil
}
