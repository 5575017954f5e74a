import Foundation
import Testing
import StreamCore
import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// `pipeline copy SOURCE TARGET --group G [--transactional-id ID] [--commit-interval …]
/// [--transform uppercase|identity] [--guarantee …] [--until-idle]`, run to completion.
@Suite("pipeline copy")
struct CopyCommandTests {
    /// A source record written through the library, so that it can carry headers (the CLI's
    /// `produce` cannot).
    private struct Seed {
        var key: String?
        var value: [UInt8]?
        var headers: [RecordHeader]
        var timestamp: Int64
    }

    private static let seeds: [Seed] = [
        Seed(key: "alpha", value: Array("hello, world 42".utf8), headers: [RecordHeader("trace", "t-1")], timestamp: 1_700_000_000_001),
        Seed(key: "beta", value: Array("MiXeD cAsE_ß é ü".utf8), headers: [RecordHeader("trace", "t-2"), RecordHeader("origin", "unit")], timestamp: 1_700_000_000_002),
        Seed(key: nil, value: Array("no key here {\"json\":true}".utf8), headers: [RecordHeader(key: "nil-header", value: nil)], timestamp: 1_700_000_000_003),
        Seed(key: "gamma", value: [0xFF, 0x00, 0x61, 0x7A, 0x7B], headers: [RecordHeader(key: "bin", value: [0xFE, 0x01])], timestamp: 1_700_000_000_004),
        Seed(key: "delta", value: nil, headers: [], timestamp: 1_700_000_000_005),
        Seed(key: nil, value: Array("lowercase only".utf8), headers: [], timestamp: 1_700_000_000_006),
    ] + (0..<200).map { index in
        Seed(key: index % 3 == 0 ? nil : "k\(index % 17)", value: Array("value number \(index) abc".utf8),
             headers: [RecordHeader("n", "\(index)")], timestamp: 1_700_000_001_000 + Int64(index))
    }

    /// Creates `source` (3 partitions, zstd) holding `seeds`, through the library.
    private func seedSource(_ scratch: Scratch) throws {
        let log = try LogManager.open(directory: scratch.dataDir)
        defer { log.close() }
        let topic = TopicName(rawValue: "source")!
        _ = try log.createTopic(topic, config: TopicConfig(partitionCount: 3, compression: .zstd))
        let producer = LogProducer(log: log)
        for seed in Self.seeds {
            try producer.send(topic: topic, key: seed.key.map { Array($0.utf8) }, value: seed.value,
                              headers: seed.headers, timestamp: Timestamp(milliseconds: seed.timestamp))
        }
        try producer.close()
    }

    /// A record's identity for matching source and target: its value (or key, for a tombstone).
    private func identity(_ envelope: Envelope, transform: ([UInt8]) -> [UInt8] = { $0 }) -> String {
        if let value = envelope.valueBytes { return "v:" + Data(transform(value)).base64EncodedString() }
        return "k:" + (envelope.key ?? "")
    }

    @Test("--transform uppercase upper-cases ASCII letters of values; keys, headers and timestamps are kept",
          arguments: ["uppercase", "identity"])
    func transform(_ transform: String) throws {
        let scratch = try Scratch()
        try seedSource(scratch)
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--transform", transform, "--until-idle"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.hasPrefix("copied \(Self.seeds.count) records from source to target"), "\(result)")

        let source = try scratch.envelopes("source")
        let target = try scratch.envelopes("target")
        try #require(source.count == Self.seeds.count)
        #expect(target.count == source.count)
        let uppercase = transform == "uppercase"
        let apply: ([UInt8]) -> [UInt8] = { uppercase ? asciiUppercased($0) : $0 }
        var bySourceIdentity: [String: Envelope] = [:]
        for envelope in source { bySourceIdentity[identity(envelope, transform: apply)] = envelope }
        #expect(bySourceIdentity.count == source.count, "seed values must be unique")
        for copied in target {
            let match = bySourceIdentity.removeValue(forKey: identity(copied))
            let original = try #require(match, "unexpected or duplicated target record \(copied)")
            #expect(copied.key == original.key && copied.key_encoding == original.key_encoding)
            #expect(copied.headers == original.headers, "headers changed: \(original.headers) → \(copied.headers)")
            #expect(copied.timestamp == original.timestamp)
            #expect(copied.valueBytes == original.valueBytes.map(apply))
            if let key = copied.key {
                #expect(copied.partition == KafkaMurmur2.partition(key, count: 3), "keyed record \(key) in the wrong partition")
            }
        }
        #expect(bySourceIdentity.isEmpty, "missing from target: \(bySourceIdentity.values.prefix(3))")

        // Spot checks on what the transform does to particular bytes.
        let values = Set(target.compactMap(\.value))
        if transform == "uppercase" {
            #expect(values.contains("HELLO, WORLD 42"))
            #expect(values.contains("MIXED CASE_ß é ü"), "non-ASCII letters must be kept as they are")
            #expect(values.contains("NO KEY HERE {\"JSON\":TRUE}"))
            let binary = try #require(target.first { $0.key == "gamma" })
            #expect(binary.value_encoding == "base64")
            #expect(binary.valueBytes == [0xFF, 0x00, 0x41, 0x5A, 0x7B])
        } else {
            #expect(values.contains("hello, world 42"))
        }
        let tombstone = try #require(target.first { $0.key == "delta" })
        #expect(tombstone.value == nil, "a null value stays null")
        let headered = try #require(target.first { $0.key == "beta" })
        #expect(headered.headers.map(\.key) == ["trace", "origin"])
        #expect(headered.headers.map(\.value) == ["t-2", "unit"])
        let nilHeader = try #require(target.first { $0.headers.first?.key == "nil-header" })
        #expect(nilHeader.headers.first?.value == nil)
        #expect(nilHeader.key == nil)
        let binaryHeader = try #require(target.first { $0.headers.first?.key == "bin" })
        #expect(binaryHeader.headers.first?.valueBytes == [0xFE, 0x01])
    }

    @Test("a second --until-idle run copies nothing new; records produced later are copied by the next run")
    func resumesFromCommittedOffsets() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "4", "--compression", "lz4"])
        var corpus = CopyCorpus()
        try scratch.produce(corpus.add(prefix: "one", keyed: 300, keyless: 100), to: "source")
        let copyArguments = ["copy", "source", "target", "--group", "g", "--until-idle"]

        let first = try scratch.run(copyArguments)
        #expect(first.exitCode == 0, "\(first)")
        #expect(first.stdout.hasPrefix("copied 400 records from source to target"), "\(first)")
        #expect(Set(try scratch.values("target")) == Set(corpus.values))

        let second = try scratch.run(copyArguments)
        #expect(second.exitCode == 0, "\(second)")
        #expect(second.stdout.hasPrefix("copied 0 records from source to target in 0 transactions"), "\(second)")
        #expect(try scratch.values("target").count == 400)

        try scratch.produce(corpus.add(prefix: "two", keyed: 50, keyless: 25), to: "source")
        let third = try scratch.run(copyArguments)
        #expect(third.exitCode == 0, "\(third)")
        #expect(third.stdout.hasPrefix("copied 75 records from source to target"), "\(third)")
        let values = try scratch.values("target")
        #expect(values.count == corpus.count)
        #expect(Set(values) == Set(corpus.values))

        // The group's committed offsets are at the end of the source.
        let rest = try scratch.run(["consume", "source", "--group", "g"])
        #expect(rest.exitCode == 0 && rest.stdoutLines.isEmpty, "\(rest)")

        // Another group starts from the beginning, into its own target.
        let other = try scratch.run(["copy", "source", "other", "--group", "h", "--until-idle"])
        #expect(other.exitCode == 0, "\(other)")
        #expect(Set(try scratch.values("other")) == Set(corpus.values))
    }

    @Test("a missing TARGET is created like SOURCE (partitions and compression)")
    func createsTarget() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "5", "--compression", "zstd"])
        try scratch.produce("source", (0..<20).map { "{\"n\":\($0)}" })
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stderrErrorLines.contains { $0.contains("created topic target") && $0.contains("5 partitions") }, "\(result)")
        let describe = try scratch.run(["topics", "describe", "target"])
        #expect(describe.exitCode == 0, "\(describe)")
        #expect(describe.stdoutLines.contains("partitions: 5"), "\(describe)")
        #expect(describe.stdoutLines.contains("compression: zstd"), "\(describe)")
        #expect(try scratch.values("target").count == 20)

        // An existing target keeps its own layout; keyed records go where Kafka's partitioner puts them there.
        try scratch.createTopic("narrow", ["--partitions", "2"])
        try scratch.produce("source", (0..<30).map { "{\"id\":\"x\($0)\",\"k\":\"key\($0)\"}" }, ["--key-field", "k"])
        let narrow = try scratch.run(["copy", "source", "narrow", "--group", "n", "--until-idle"])
        #expect(narrow.exitCode == 0, "\(narrow)")
        #expect(!narrow.stderr.contains("created topic"), "\(narrow)")
        let copied = try scratch.envelopes("narrow")
        #expect(copied.count == 50)
        #expect(Set(copied.map(\.partition)).isSubset(of: [0, 1]))
        for envelope in copied {
            if let key = envelope.key { #expect(envelope.partition == KafkaMurmur2.partition(key, count: 2), "\(envelope)") }
        }
    }

    @Test("an empty SOURCE: copy --until-idle exits at once, having created TARGET and taken the transactional id")
    func emptySource() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "2"])
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.hasPrefix("copied 0 records from source to target in 0 transactions"), "\(result)")
        #expect(try scratch.values("target").isEmpty)
        let rows = try scratch.transactionRows()
        #expect(rows.map(\.transactionalID) == ["copy-g-source-target"], "\(rows)")
        #expect(rows.first?.state == "Empty", "\(rows)")
    }

    @Test("a missing SOURCE is a one-line error, and creates no TARGET")
    func missingSource() throws {
        let scratch = try Scratch()
        try scratch.createTopic("other")
        let result = try scratch.run(["copy", "nosuch", "target", "--group", "g", "--until-idle"])
        expectOneLineError(result, containing: ["nosuch"])
        let list = try scratch.run(["topics", "list"])
        #expect(list.exitCode == 0)
        #expect(!list.stdout.contains("target"), "a failed copy created its target: \(list)")
    }

    @Test("SOURCE and TARGET must differ; an invalid topic name is rejected")
    func sameTopic() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        expectOneLineError(try scratch.run(["copy", "source", "source", "--group", "g", "--until-idle"]), containing: ["differ"])
        expectOneLineError(try scratch.run(["copy", "source", "bad/name", "--group", "g", "--until-idle"]))
    }

    @Test("an invalid --commit-interval is a one-line error", arguments: ["abc", "0ms", "-5ms", "0", "nan", "ms", "10 parsecs"])
    func invalidCommitInterval(_ interval: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle", "--commit-interval=\(interval)"])
        expectOneLineError(result, containing: ["commit interval"])
    }

    @Test("an absurd --commit-interval is a one-line error, not a crash",
          arguments: ["infs", "1e300ms", "10000000w"])
    func absurdCommitInterval(_ interval: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        try scratch.produce("source", ["1"])
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle", "--commit-interval=\(interval)"])
        expectOneLineError(result, containing: ["commit interval"])
    }

    @Test("valid --commit-interval spellings", arguments: ["10ms", "1s", "250", "0.5s"])
    func validCommitInterval(_ interval: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "2"])
        try scratch.produce("source", (0..<100).map { "\($0)" })
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle", "--commit-interval", interval])
        #expect(result.exitCode == 0, "\(result)")
        #expect(try scratch.values("target").sorted() == (0..<100).map { "\($0)" }.sorted())
    }

    @Test("usage errors: no --group, unknown --transform or --guarantee", arguments: [
        (["copy", "source", "target"], "--group"),
        (["copy", "source", "target", "--group", "g", "--transform", "reverse"], "reverse"),
        (["copy", "source", "target", "--group", "g", "--guarantee", "at-most-once"], "at-most-once"),
        (["copy", "source", "--group", "g"], "target"),
    ])
    func usageErrors(_ arguments: [String], _ fragment: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("source")
        expectUsageError(try scratch.run(arguments), containing: [fragment])
    }

    @Test("--guarantee at-least-once copies everything once when not killed, without transactions")
    func atLeastOnce() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "8", "--compression", "lz4"])
        var corpus = CopyCorpus()
        try scratch.produce(corpus.add(prefix: "alo", keyed: 15_000, keyless: 5_000), to: "source")
        let result = try scratch.run(["copy", "source", "target", "--group", "g", "--guarantee", "at-least-once", "--until-idle"], timeout: 120)
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.hasPrefix("copied 20000 records"), "\(result)")
        let copied = try scratch.envelopes("target")
        #expect(copied.count == corpus.count)
        #expect(Set(copied.compactMap(\.value)) == Set(corpus.values))
        #expect(copied.allSatisfy { corpus.keys[$0.value ?? ""] == .some($0.key) }, "keys must be kept")
        let rest = try scratch.run(["consume", "source", "--group", "g"])
        #expect(rest.exitCode == 0 && rest.stdoutLines.isEmpty, "\(rest)")
        // No transactional id, no transactional batches, no markers.
        let list = try scratch.run(["transactions", "list"])
        #expect(list.stdoutLines == ["no transactions"], "\(list)")
        for partition in 0..<8 {
            for line in try scratch.dumpBatchLines("target", partition: partition) {
                #expect(DumpOutput.field("isTransactional", in: line) == "false", "\(line)")
                #expect(DumpOutput.field("isControl", in: line) == "false", "\(line)")
            }
        }
        // A later exactly-once run with the same group resumes where at-least-once committed.
        let again = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(again.stdout.hasPrefix("copied 0 records"), "\(again)")
    }

    @Test("without --until-idle copy follows: it keeps the directory until SIGTERM, then finishes cleanly")
    func followsUntilTerminated() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "2"])
        try scratch.produce("source", (0..<500).map { "\"r\($0)\"" })
        let copy = try PipelineProcess(["copy", "source", "target", "--group", "g", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
        defer { copy.killAndWait() }
        let caughtUp = PipelineProcess.waitUntil(timeout: 20) { copy.stderrSoFar.contains("lag 0") }
        try #require(caughtUp, "copy never reported catching up: \(copy.stderrSoFar)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(copy.isRunning, "copy without --until-idle must keep following")

        // It owns the directory meanwhile: neither a reader nor a second copy can open it.
        let blocked = try scratch.run(["consume", "target"])
        expectOneLineError(blocked, containing: ["in use", "copy"])
        let secondCopy = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        expectOneLineError(secondCopy, containing: ["in use", "copy"])

        copy.kill(SIGTERM)
        let ended = copy.wait()
        #expect(!ended.signaled && ended.exitCode == 0, "SIGTERM should end copy cleanly: \(ended)")
        #expect(ended.stdout.hasPrefix("copied 500 records from source to target"), "\(ended)")
        #expect(try scratch.values("target").count == 500)
        let rows = try scratch.transactionRows()
        #expect(rows.first?.state == "CompleteCommit", "\(rows)")
    }

    @Test("--transactional-id names the transactional id; default and custom ids share the group's offsets")
    func customTransactionalID() throws {
        let scratch = try Scratch()
        try scratch.createTopic("source", ["--partitions", "3"])
        try scratch.produce("source", (0..<60).map { "\($0)" })
        let first = try scratch.run(["copy", "source", "target", "--group", "g", "--transactional-id", "my-copier", "--until-idle"])
        #expect(first.exitCode == 0, "\(first)")
        var rows = try scratch.transactionRows()
        #expect(rows.map(\.transactionalID) == ["my-copier"], "\(rows)")
        #expect(rows.first?.state == "CompleteCommit")

        try scratch.produce("source", (60..<90).map { "\($0)" })
        let second = try scratch.run(["copy", "source", "target", "--group", "g", "--until-idle"])
        #expect(second.stdout.hasPrefix("copied 30 records"), "\(second)")
        rows = try scratch.transactionRows()
        #expect(Set(rows.map(\.transactionalID)) == ["copy-g-source-target", "my-copier"], "\(rows)")
        #expect(try scratch.values("target").sorted() == (0..<90).map { "\($0)" }.sorted())
    }
}
