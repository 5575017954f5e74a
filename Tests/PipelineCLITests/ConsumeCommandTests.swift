import Foundation
import Testing

/// `pipeline consume` against the real binary.
@Suite("pipeline consume")
struct ConsumeCommandTests {
    /// A one-partition topic `t` holding `{"n":1}` … `{"n":count}` at offsets 0…count-1.
    private func numbered(_ count: Int, partitions: Int = 1) throws -> (Scratch, [String]) {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "\(partitions)"])
        let lines = (1...count).map { "{\"n\":\($0)}" }
        try scratch.produce("t", lines)
        return (scratch, lines)
    }

    @Test("without options it prints every value once and exits at the end")
    func consumeAll() throws {
        let (scratch, lines) = try numbered(10)
        let result = try scratch.run(["consume", "t"], timeout: 20)
        expectSuccess(result)
        #expect(!result.timedOut)
        #expect(result.stdoutLines == lines)
        // Reading again without a group reads from the beginning again.
        #expect(try scratch.consumeLines("t") == lines)
    }

    @Test("an empty topic prints nothing and exits 0")
    func consumeEmpty() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "3"])
        let result = try scratch.run(["consume", "t"])
        expectSuccess(result)
        #expect(result.stdout.isEmpty)
    }

    @Test("consuming an unknown topic is a one-line error")
    func unknownTopic() throws {
        let scratch = try Scratch()
        try scratch.createTopic("other")
        expectOneLineError(try scratch.run(["consume", "missing"]), containing: ["unknown topic", "missing"])
        expectOneLineError(try scratch.run(["consume", "missing", "--group", "g"]), containing: ["unknown topic", "missing"])
    }

    @Test("--max N stops after N records", arguments: [0, 1, 3, 10, 25])
    func max(_ limit: Int) throws {
        let (scratch, lines) = try numbered(10)
        let result = try scratch.run(["consume", "t", "--max", "\(limit)"])
        expectSuccess(result)
        #expect(result.stdoutLines == Array(lines.prefix(limit)))
    }

    @Test("--max over several partitions prints exactly N")
    func maxAcrossPartitions() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "4"])
        try scratch.produce("t", (0..<40).map { "{\"id\":\"k\($0)\"}" }, ["--key-field", "id"])
        #expect(try scratch.consumeLines("t", ["--max", "17"]).count == 17)
        #expect(Set(try scratch.consumeLines("t")).count == 40)
    }

    @Test("a negative --max is rejected")
    func negativeMax() throws {
        let (scratch, _) = try numbered(2)
        expectUsageError(try scratch.run(["consume", "t", "--max=-1"]), containing: ["--max"])
    }

    @Test("--offset N starts at offset N", arguments: [0, 4, 9, 10])
    func offset(_ start: Int) throws {
        let (scratch, lines) = try numbered(10)
        #expect(try scratch.consumeLines("t", ["--offset", "\(start)"]) == Array(lines.dropFirst(start)))
        let envelopes = try scratch.consumeEnvelopes("t", ["--offset", "\(start)", "--max", "1"])
        if start < 10 { #expect(envelopes.first?["offset"] as? Int == start) } else { #expect(envelopes.isEmpty) }
    }

    @Test("--offset past the end, or negative, is an error", arguments: ["11", "1000000"])
    func offsetOutOfRange(_ value: String) throws {
        let (scratch, _) = try numbered(10)
        let result = try scratch.run(["consume", "t", "--offset", value])
        expectOneLineError(result, containing: ["out of range", value])
        #expect(result.stdout.isEmpty)
        expectUsageError(try scratch.run(["consume", "t", "--offset=-1"]), containing: ["--offset"])
    }

    @Test("--offset with --partition reads one partition")
    func offsetInPartition() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "3"])
        try scratch.produce("t", (1...6).map { "{\"n\":\($0)}" }, ["--key", "same"])
        let partition = KafkaMurmur2.partition("same", count: 3)
        let envelopes = try scratch.consumeEnvelopes("t", ["--partition", "\(partition)", "--offset", "2"])
        #expect(envelopes.map { $0["offset"] as? Int } == [2, 3, 4, 5])
        #expect(envelopes.allSatisfy { $0["partition"] as? Int == partition })
        let other = (partition + 1) % 3
        #expect(try scratch.consumeLines("t", ["--partition", "\(other)"]).isEmpty)
        expectOneLineError(try scratch.run(["consume", "t", "--partition", "\(other)", "--offset", "1"]), containing: ["out of range"])
        expectOneLineError(try scratch.run(["consume", "t", "--partition", "7"]), containing: ["7"])
    }

    @Test("--from-beginning reads everything, and conflicts with --offset")
    func fromBeginning() throws {
        let (scratch, lines) = try numbered(5)
        #expect(try scratch.consumeLines("t", ["--from-beginning"]) == lines)
        expectUsageError(try scratch.run(["consume", "t", "--from-beginning", "--offset", "2"]), containing: ["--from-beginning"])
    }

    @Test("--group resumes where the previous run of the same group stopped")
    func groupResumes() throws {
        let (scratch, lines) = try numbered(5, partitions: 3)
        #expect(Set(try scratch.consumeLines("t", ["--group", "g1"])) == Set(lines))
        // Nothing new: the group prints nothing.
        #expect(try scratch.consumeLines("t", ["--group", "g1"]).isEmpty)
        let more = ["{\"n\":6}", "{\"n\":7}"]
        try scratch.produce("t", more)
        #expect(Set(try scratch.consumeLines("t", ["--group", "g1"])) == Set(more))
        // Another group starts from the earliest offsets.
        #expect(Set(try scratch.consumeLines("t", ["--group", "g2"])) == Set(lines + more))
        // --from-beginning rereads a group's partitions from the start.
        #expect(Set(try scratch.consumeLines("t", ["--group", "g1", "--from-beginning"])) == Set(lines + more))
        #expect(try scratch.consumeLines("t", ["--group", "g1"]).isEmpty)
        // A run without a group is not affected by groups.
        #expect(try scratch.consumeLines("t").count == 7)
    }

    @Test("--group with --max commits only what it printed")
    func groupWithMax() throws {
        let (scratch, lines) = try numbered(10)
        #expect(try scratch.consumeLines("t", ["--group", "g", "--max", "3"]) == Array(lines[0..<3]))
        #expect(try scratch.consumeLines("t", ["--group", "g", "--max", "4"]) == Array(lines[3..<7]))
        #expect(try scratch.consumeLines("t", ["--group", "g"]) == Array(lines[7...]))
        #expect(try scratch.consumeLines("t", ["--group", "g"]).isEmpty)
    }

    @Test("--format json prints a full envelope per record")
    func jsonEnvelope() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "2"])
        let before = Int(Date().timeIntervalSince1970 * 1000)
        try scratch.produce("t", ["{\"id\":\"a\",\"s\":\"q\\\"uote\\\\ \\n\"}", "{\"id\":\"a\",\"n\":2}"], ["--key-field", "id"])
        try scratch.produce("t", ["[\"keyless\"]"], ["--key", "b"])
        try scratch.produce("t", ["{\"no\":\"key\"}"])
        let after = Int(Date().timeIntervalSince1970 * 1000)

        let lines = try scratch.consumeLines("t", ["--format", "json"])
        #expect(lines.count == 4)
        var seen: [String] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(Set(object.keys) == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"], "\(line)")
            #expect(object["topic"] as? String == "t")
            let partition = try #require(object["partition"] as? Int)
            #expect((0..<2).contains(partition))
            #expect((object["offset"] as? Int).map { $0 >= 0 } == true)
            let timestamp = try #require(object["timestamp"] as? Int)
            #expect(timestamp >= before - 1000 && timestamp <= after + 1000, "timestamp \(timestamp) not in [\(before), \(after)]")
            #expect((object["headers"] as? [Any])?.isEmpty == true)
            let value = try #require(object["value"] as? String)
            // The value is the produced JSON text, unchanged.
            _ = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
            if let key = object["key"] as? String {
                #expect(partition == KafkaMurmur2.partition(key, count: 2))
            } else {
                #expect(object["key"] is NSNull, "a keyless record has key null: \(line)")
            }
            seen.append(value)
        }
        #expect(Set(seen) == ["{\"id\":\"a\",\"s\":\"q\\\"uote\\\\ \\n\"}", "{\"id\":\"a\",\"n\":2}", "[\"keyless\"]", "{\"no\":\"key\"}"])
        // Offsets within a partition are 0, 1, 2, … in order.
        let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        for partition in 0..<2 {
            let offsets = parsed.filter { $0["partition"] as? Int == partition }.compactMap { $0["offset"] as? Int }
            #expect(offsets == Array(0..<offsets.count))
        }
    }

    @Test("an unknown --format is rejected")
    func unknownFormat() throws {
        let (scratch, _) = try numbered(1)
        expectUsageError(try scratch.run(["consume", "t", "--format", "yaml"]), containing: ["yaml"])
    }

    @Test("compressed topics read back the same", arguments: ["none", "lz4", "zstd"])
    func compressedRoundTrip(_ codec: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "2", "--compression", codec])
        let lines = (0..<300).map { "{\"id\":\"c\($0 % 13)\",\"text\":\"\(String(repeating: "abc", count: $0 % 20))\"}" }
        try scratch.produce("t", lines, ["--key-field", "id"])
        #expect(try scratch.consumeLines("t").sorted() == lines.sorted())
        let dump = try scratch.runBare(["log", "dump", scratch.segmentPath("t", partition: KafkaMurmur2.partition("c0", count: 2))])
        let batches = DumpOutput(dump.stdout).batchLines
        #expect(!batches.isEmpty)
        #expect(batches.allSatisfy { DumpOutput.field("codec", in: $0) == codec }, "\(dump)")
    }
}
