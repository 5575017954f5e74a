import Foundation
import Testing

/// `pipeline topics create|list|describe|delete` against the real binary.
@Suite("pipeline topics")
struct TopicsCommandTests {
    @Test("create prints the topic's settings, and list shows it")
    func createAndList() throws {
        let scratch = try Scratch()
        let created = try scratch.run(["topics", "create", "orders", "--partitions", "3", "--compression", "lz4"])
        expectSuccess(created)
        #expect(created.stdout.contains("orders"))
        #expect(created.stdout.contains("3 partitions"))
        #expect(created.stdout.contains("lz4"))

        try scratch.createTopic("events.v1_raw-x", ["--compression", "ZSTD", "--cleanup", "compact"])
        let list = try scratch.run(["topics", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines.count == 2, "internal topics must not be listed: \(list)")
        let orders = try #require(list.stdoutLines.first { $0.hasPrefix("orders\t") })
        #expect(orders.contains("partitions=3") && orders.contains("compression=lz4") && orders.contains("cleanup=delete"))
        let events = try #require(list.stdoutLines.first { $0.hasPrefix("events.v1_raw-x\t") })
        #expect(events.contains("partitions=1") && events.contains("compression=zstd") && events.contains("cleanup=compact"))

        let internalList = try scratch.run(["topics", "list", "--internal"])
        expectSuccess(internalList)
        #expect(internalList.stdoutLines.contains { $0.hasPrefix("__consumer_offsets\t") })
    }

    @Test("list of an empty data directory prints nothing and succeeds")
    func listEmpty() throws {
        let scratch = try Scratch()
        let list = try scratch.run(["topics", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines.isEmpty)
    }

    @Test("--data-dir defaults to ./sluice-data")
    func defaultDataDirectory() throws {
        let scratch = try Scratch()
        expectSuccess(try scratch.runBare(["topics", "create", "t"]))
        #expect(FileManager.default.fileExists(atPath: scratch.root.appendingPathComponent("sluice-data/topics/t/topic.json").path))
        let list = try scratch.runBare(["topics", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines.first?.hasPrefix("t\t") == true)
    }

    @Test("describe shows partitions, offsets, sizes and codec")
    func describe() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "2", "--compression", "zstd", "--retention", "12h,5GiB", "--max-batch-bytes", "64KiB"])
        // Constant key: every record lands in one, predictable partition.
        let partition = KafkaMurmur2.partition("k", count: 2)
        try scratch.produce("t", (1...5).map { "{\"n\":\($0)}" }, ["--key", "k"])

        let result = try scratch.run(["topics", "describe", "t"])
        expectSuccess(result)
        let lines = result.stdoutLines
        #expect(lines.contains("topic: t"))
        #expect(lines.contains("partitions: 2"))
        #expect(lines.contains("compression: zstd"))
        #expect(lines.contains("cleanup: delete"))
        #expect(lines.contains { $0.hasPrefix("retention: 12h") && $0.contains("5 GiB") }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("max batch: 64 KiB") }, "\(result)")
        let header = try #require(lines.first { $0.hasPrefix("PARTITION") })
        #expect(header.split(separator: " ", omittingEmptySubsequences: true) == ["PARTITION", "EARLIEST", "LATEST", "OFFSETS", "SEGMENTS", "SIZE"])

        let size = try fileSize(scratch.segmentPath("t", partition: partition))
        #expect(size > 0)
        for index in 0..<2 {
            let row = try #require(lines.first { $0.hasPrefix("\(index) ") }, "no row for partition \(index): \(result)")
            let cells = row.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if index == partition {
                #expect(cells == ["\(index)", "0", "5", "5", "1", "\(size)", "B"], "\(row)")
            } else {
                #expect(cells == ["\(index)", "0", "0", "0", "1", "0", "B"], "\(row)")
            }
        }
        #expect(lines.last == "total: 5 offsets, \(size) B")
    }

    @Test("create accepts every compression, cleanup policy and retention form")
    func createOptions() throws {
        let scratch = try Scratch()
        for (index, codec) in ["none", "lz4", "zstd", "LZ4"].enumerated() {
            let result = try scratch.run(["topics", "create", "c\(index)", "--compression", codec])
            expectSuccess(result)
            let describe = try scratch.run(["topics", "describe", "c\(index)"])
            #expect(describe.stdoutLines.contains("compression: \(codec.lowercased())"), "\(describe)")
        }
        try scratch.createTopic("compacted", ["--cleanup", "compact"])
        #expect(try scratch.run(["topics", "describe", "compacted"]).stdoutLines.contains("cleanup: compact"))
        let retentions = [("7d", "retention: 1w,"), ("forever", "retention: forever,"), ("10GiB", "10 GiB per partition"), ("36h,512MiB", "retention: 36h, 512 MiB")]
        for (index, (retention, expected)) in retentions.enumerated() {
            try scratch.createTopic("r\(index)", ["--retention", retention])
            let describe = try scratch.run(["topics", "describe", "r\(index)"])
            #expect(describe.stdoutLines.contains { $0.contains(expected) }, "--retention \(retention): \(describe)")
        }
    }

    @Test("an invalid topic name is a one-line error and creates nothing", arguments: [
        "bad name", "a/b", "..", "", "ünïcode", String(repeating: "x", count: 300),
    ])
    func invalidName(_ name: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", name]), containing: ["topic name"])
        let list = try scratch.run(["topics", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines.isEmpty)
    }

    @Test("an invalid topic name is rejected by describe, delete, produce and consume")
    func invalidNameElsewhere() throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "describe", "a/b"]), containing: ["invalid topic name"])
        expectOneLineError(try scratch.run(["topics", "delete", "a/b"]), containing: ["invalid topic name"])
        expectOneLineError(try scratch.run(["produce", "a b"], input: "1\n"), containing: ["invalid topic name"])
        expectOneLineError(try scratch.run(["consume", "a b"]), containing: ["invalid topic name"])
    }

    @Test("creating an existing topic is a one-line error and keeps its data")
    func duplicateCreate() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "2"])
        try scratch.produce("t", ["1", "2"])
        expectOneLineError(try scratch.run(["topics", "create", "t", "--partitions", "5"]), containing: ["'t'", "already exists"])
        #expect(try scratch.run(["topics", "describe", "t"]).stdoutLines.contains("partitions: 2"))
        #expect(try scratch.consumeLines("t").sorted() == ["1", "2"])
    }

    @Test("invalid --partitions values are one-line errors", arguments: ["0", "-3", "100000"])
    func invalidPartitions(_ value: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", "t", "--partitions=\(value)"]), containing: ["partitions"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("a non-numeric --partitions is a usage error")
    func nonNumericPartitions() throws {
        let scratch = try Scratch()
        expectUsageError(try scratch.run(["topics", "create", "t", "--partitions", "abc"]), containing: ["abc", "--partitions"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("invalid --compression values are one-line errors", arguments: ["snappy", "gzip", "lz5", ""])
    func invalidCompression(_ value: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", "t", "--compression", value]), containing: ["compression"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("invalid --cleanup values are one-line errors", arguments: ["remove", "compact,delete", ""])
    func invalidCleanup(_ value: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", "t", "--cleanup", value]), containing: ["cleanup"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("invalid --retention values are one-line errors", arguments: ["soon", "0d", "-5h", "10xb", "0", "abcGiB", "7d,oops"])
    func invalidRetention(_ value: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", "t", "--retention=\(value)"]), containing: ["retention"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("invalid --max-batch-bytes values are one-line errors", arguments: ["0", "lots", "16", "2GiB"])
    func invalidMaxBatchBytes(_ value: String) throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "create", "t", "--max-batch-bytes", value]), containing: ["batch"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.isEmpty)
    }

    @Test("describe and delete of an unknown topic are one-line errors")
    func unknownTopic() throws {
        let scratch = try Scratch()
        try scratch.createTopic("other")
        expectOneLineError(try scratch.run(["topics", "describe", "missing"]), containing: ["unknown topic", "missing"])
        expectOneLineError(try scratch.run(["topics", "delete", "missing"]), containing: ["unknown topic", "missing"])
    }

    @Test("delete removes the topic: consume, produce and describe then say unknown topic")
    func deleteTopic() throws {
        let scratch = try Scratch()
        try scratch.createTopic("doomed", ["--partitions", "2"])
        try scratch.createTopic("kept")
        try scratch.produce("doomed", ["1", "2", "3"])
        let deleted = try scratch.run(["topics", "delete", "doomed"])
        expectSuccess(deleted)
        #expect(deleted.stdout.contains("doomed"))
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("topics/doomed").path))

        expectOneLineError(try scratch.run(["consume", "doomed"]), containing: ["unknown topic", "doomed"])
        expectOneLineError(try scratch.run(["topics", "describe", "doomed"]), containing: ["unknown topic"])
        expectOneLineError(try scratch.run(["topics", "delete", "doomed"]), containing: ["unknown topic"])
        let list = try scratch.run(["topics", "list"])
        #expect(list.stdoutLines.count == 1 && list.stdoutLines[0].hasPrefix("kept\t"), "\(list)")

        // The name is free again, and the new topic starts empty.
        try scratch.createTopic("doomed")
        #expect(try scratch.consumeLines("doomed").isEmpty)
    }

    @Test("the internal offsets topic cannot be deleted")
    func deleteInternal() throws {
        let scratch = try Scratch()
        expectOneLineError(try scratch.run(["topics", "delete", "__consumer_offsets"]), containing: ["__consumer_offsets"])
    }
}
