import Foundation
import Testing

/// `pipeline produce` against the real binary.
@Suite("pipeline produce")
struct ProduceCommandTests {
    @Test("JSON lines from stdin are produced, with a per-partition summary")
    func produceJSONFromStdin() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let lines = ["{\"a\":1}", "[1,2,3]", "\"text\"", "42", "null", "{\"nested\":{\"b\":[true,false]}}"]
        let result = try scratch.produce("t", lines)
        expectSuccess(result)
        #expect(result.stdout.contains("produced 6 records to t"), "\(result)")
        #expect(result.stdout.contains("partition 0: 6"), "\(result)")
        #expect(try scratch.consumeLines("t") == lines)
    }

    @Test("blank lines are skipped in JSON input, and a last line without a newline counts")
    func blankLinesAndNoTrailingNewline() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(["produce", "t"], input: "{\"a\":1}\n\n   \n{\"a\":2}")
        expectSuccess(result)
        #expect(result.stdout.contains("produced 2 records"), "\(result)")
        #expect(try scratch.consumeLines("t") == ["{\"a\":1}", "{\"a\":2}"])
    }

    @Test("empty input produces nothing and succeeds")
    func emptyInput() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(["produce", "t"], input: "")
        expectSuccess(result)
        #expect(result.stdout.contains("produced 0 records"), "\(result)")
        #expect(try scratch.consumeLines("t").isEmpty)
    }

    @Test("--file reads the lines from a file")
    func produceFromFile() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "3"])
        let file = scratch.root.appendingPathComponent("input.jsonl")
        let lines = (1...50).map { "{\"id\":\"user-\($0 % 7)\",\"n\":\($0)}" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let result = try scratch.run(["produce", "t", "--file", file.path, "--key-field", "id"])
        expectSuccess(result)
        #expect(result.stdout.contains("produced 50 records to t"), "\(result)")
        #expect(try scratch.consumeLines("t").sorted() == lines.sorted())
    }

    @Test("--file naming a missing file is a one-line error")
    func produceFromMissingFile() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let missing = scratch.root.appendingPathComponent("nope.jsonl").path
        expectOneLineError(try scratch.run(["produce", "t", "--file", missing]), containing: ["nope.jsonl"])
    }

    @Test("malformed JSON on line 3 of 5 stops there: names line 3, says 2 were produced, and only those 2 are visible")
    func malformedLine() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let input = "{\"n\":1}\n{\"n\":2}\n{\"n\":3,\n{\"n\":4}\n{\"n\":5}\n"
        let result = try scratch.run(["produce", "t"], input: input)
        expectOneLineError(result, containing: ["line 3"])
        let said = result.stdout + result.stderr
        #expect(said.contains("2 records"), "must say 2 records were produced: \(result)")
        #expect(!said.contains("line 4") && !said.contains("line 5"))
        #expect(try scratch.consumeLines("t") == ["{\"n\":1}", "{\"n\":2}"])
    }

    @Test("malformed JSON on the first line produces nothing", arguments: ["{oops", "{\"a\":1}}", "tru", "'single'", "{\"a\":1} {\"b\":2}"])
    func malformedFirstLine(_ line: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(["produce", "t"], input: line + "\n{\"fine\":true}\n")
        expectOneLineError(result, containing: ["line 1"])
        #expect((result.stdout + result.stderr).contains("0 records"), "\(result)")
        #expect(try scratch.consumeLines("t").isEmpty)
    }

    @Test("malformed JSON from --file names the line too")
    func malformedLineInFile() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let file = scratch.root.appendingPathComponent("input.jsonl")
        try Data("1\n2\n3\n4\n{\n6\n".utf8).write(to: file)
        let result = try scratch.run(["produce", "t", "--file", file.path])
        expectOneLineError(result, containing: ["line 5"])
        #expect((result.stdout + result.stderr).contains("4 records"), "\(result)")
        #expect(try scratch.consumeLines("t") == ["1", "2", "3", "4"])
    }

    @Test("raw format passes bytes through unchanged; consume --format json shows them, base64 for non-UTF-8")
    func rawBytes() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let values: [[UInt8]] = [
            Array("{\"not\": json".utf8),        // JSON-looking garbage
            [0xFF, 0xFE, 0x00, 0x62, 0x69, 0x6E], // invalid UTF-8 with a NUL
            Array("plain text\t with tab".utf8),
            Array("{\"valid\":true}".utf8),
            [0xC3, 0x28],                         // an invalid two-byte sequence
            Array("carriage\r".utf8),
            Array("ünïcödé ✓".utf8),
        ]
        var input: [UInt8] = []
        for value in values { input += value + [0x0A] }
        let result = try scratch.run(["produce", "t", "--format", "raw"], stdin: Data(input))
        expectSuccess(result)
        #expect(result.stdout.contains("produced \(values.count) records"), "\(result)")

        let envelopes = try scratch.consumeEnvelopes("t")
        try #require(envelopes.count == values.count)
        for (envelope, expected) in zip(envelopes, values) {
            let value = try #require(envelope["value"] as? String)
            if let text = String(validating: expected, as: UTF8.self) {
                #expect(value == text)
                #expect(envelope["value_encoding"] == nil)
            } else {
                #expect(envelope["value_encoding"] as? String == "base64", "\(envelope)")
                #expect(Data(base64Encoded: value).map(Array.init) == expected, "\(envelope)")
            }
        }
    }

    @Test("raw format keeps empty lines as empty records")
    func rawEmptyLines() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(["produce", "t", "--format", "raw"], input: "a\n\nb\n")
        expectSuccess(result)
        #expect(result.stdout.contains("produced 3 records"), "\(result)")
        let values = try scratch.consumeEnvelopes("t").map { $0["value"] as? String }
        #expect(values == ["a", "", "b"])
    }

    @Test("consume --format value prints a raw value's bytes unchanged, even when not UTF-8")
    func rawBytesRoundTripThroughValueFormat() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let input: [UInt8] = [0xFF, 0xFE, 0x00, 0x62, 0x0A, 0x41, 0xC3, 0x28, 0x0A, 0x7B, 0x22, 0x0A]
        expectSuccess(try scratch.run(["produce", "t", "--format", "raw"], stdin: Data(input)))
        let consumed = try scratch.run(["consume", "t"])
        expectSuccess(consumed)
        #expect(Array(consumed.stdoutData) == input, "bytes changed: \(Array(consumed.stdoutData)) vs \(input)")
    }

    @Test("--key-field: the same key always lands in the same partition, the one Kafka's murmur2 picks")
    func keyFieldPartitioning() throws {
        let scratch = try Scratch()
        let partitions = 7
        try scratch.createTopic("t", ["--partitions", "\(partitions)"])
        let keys = (0..<24).map { "CUST-\(1000 + $0 * 37)" } + ["foobar", "a", "", "ünï"]
        var lines: [String] = []
        for round in 0..<3 {
            for key in keys { lines.append("{\"customer\":\"\(key)\",\"round\":\(round)}") }
        }
        lines.append("{\"customer\":12345,\"round\":9}") // a number key is its text
        let result = try scratch.produce("t", lines, ["--key-field", "customer"])
        #expect(result.stdout.contains("produced \(lines.count) records"), "\(result)")

        let envelopes = try scratch.consumeEnvelopes("t")
        #expect(envelopes.count == lines.count)
        var partitionOfKey: [String: Int] = [:]
        for envelope in envelopes {
            let key = try #require(envelope["key"] as? String, "keyed record without key: \(envelope)")
            let partition = try #require(envelope["partition"] as? Int)
            #expect(partition == KafkaMurmur2.partition(key, count: partitions), "key \(key) in partition \(partition)")
            if let earlier = partitionOfKey[key] { #expect(earlier == partition, "key \(key) split across partitions") }
            partitionOfKey[key] = partition
            let value = try #require(envelope["value"] as? String)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            #expect("\(object["customer"]!)" == key)
        }
        #expect(partitionOfKey["12345"] == KafkaMurmur2.partition("12345", count: partitions))
        #expect(Set(partitionOfKey.values).count > 1, "keys should spread over partitions")

        // The summary's per-partition counts agree with where the records are.
        var counts: [Int: Int] = [:]
        for envelope in envelopes { counts[envelope["partition"] as! Int, default: 0] += 1 }
        for (partition, count) in counts {
            #expect(result.stdout.contains("partition \(partition): \(count)"), "summary lacks partition \(partition): \(result)")
        }
    }

    @Test("--key-field on a line that is not an object is a one-line error naming the line")
    func keyFieldOnNonObject() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(["produce", "t", "--key-field", "id"], input: "{\"id\":\"a\"}\n[1]\n{\"id\":\"b\"}\n")
        expectOneLineError(result, containing: ["line 2"])
        #expect(try scratch.consumeLines("t") == ["{\"id\":\"a\"}"])
    }

    @Test("--key gives every record the same key and partition")
    func constantKey() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "5"])
        let result = try scratch.produce("t", (1...20).map { "{\"n\":\($0)}" }, ["--key", "foobar"])
        let expected = KafkaMurmur2.partition("foobar", count: 5)
        #expect(result.stdout.contains("partition \(expected): 20"), "\(result)")
        let envelopes = try scratch.consumeEnvelopes("t")
        #expect(envelopes.count == 20)
        #expect(envelopes.allSatisfy { $0["key"] as? String == "foobar" && $0["partition"] as? Int == expected })
        #expect(envelopes.map { $0["value"] as? String } == (1...20).map { "{\"n\":\($0)}" }, "order within a partition")
    }

    @Test("--key with raw format keys raw records")
    func constantKeyRaw() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "4"])
        expectSuccess(try scratch.run(["produce", "t", "--format", "raw", "--key", "k1"], input: "x\ny\n"))
        let envelopes = try scratch.consumeEnvelopes("t")
        #expect(envelopes.map { $0["key"] as? String } == ["k1", "k1"])
        #expect(envelopes.allSatisfy { $0["partition"] as? Int == KafkaMurmur2.partition("k1", count: 4) })
    }

    @Test("--key and --key-field together, and --key-field with raw, are rejected")
    func conflictingKeyOptions() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        expectUsageError(try scratch.run(["produce", "t", "--key", "a", "--key-field", "b"], input: "{}\n"), containing: ["--key"])
        expectUsageError(try scratch.run(["produce", "t", "--key-field", "b", "--format", "raw"], input: "{}\n"), containing: ["--key-field"])
        expectUsageError(try scratch.run(["produce", "t", "--format", "xml"], input: "{}\n"), containing: ["xml"])
        #expect(try scratch.consumeLines("t").isEmpty)
    }

    @Test("produce to an unknown topic is a one-line error")
    func unknownTopic() throws {
        let scratch = try Scratch()
        try scratch.createTopic("other")
        let result = try scratch.run(["produce", "missing"], input: "{\"a\":1}\n")
        expectOneLineError(result, containing: ["unknown topic", "missing"])
        #expect(try scratch.run(["topics", "list"]).stdoutLines.count == 1)
    }

    @Test("produce to an unknown topic fails even with empty input")
    func unknownTopicEmptyInput() throws {
        let scratch = try Scratch()
        try scratch.createTopic("other")
        let result = try scratch.run(["produce", "missing"], input: "")
        expectOneLineError(result, containing: ["unknown topic", "missing"])
        #expect(!result.stdout.contains("produced"), "no summary for a topic that does not exist: \(result)")
    }

    @Test("a record over the topic's batch limit is a one-line error and nothing becomes visible")
    func recordTooLarge() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--max-batch-bytes", "1KiB"])
        let big = "{\"pad\":\"" + String(repeating: "x", count: 4000) + "\"}"
        let result = try scratch.run(["produce", "t"], input: big + "\n")
        expectOneLineError(result, containing: ["line 1"])
        #expect(try scratch.consumeLines("t").isEmpty)
        let describe = try scratch.run(["topics", "describe", "t"])
        #expect(describe.stdoutLines.last == "total: 0 offsets, 0 B", "\(describe)")
        #expect(try fileSize(scratch.segmentPath("t")) == 0)

        // Raw too; and small records still fit afterwards.
        expectOneLineError(try scratch.run(["produce", "t", "--format", "raw"], input: String(repeating: "y", count: 4096) + "\n"), containing: ["line 1"])
        try scratch.produce("t", ["{\"small\":1}"])
        #expect(try scratch.consumeLines("t") == ["{\"small\":1}"])
    }

    @Test("an oversized record after good lines: the good lines before it are produced, it is not")
    func recordTooLargeAfterGoodLines() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--max-batch-bytes", "1KiB", "--compression", "lz4"])
        let big = "\"" + String(repeating: "z", count: 4000) + "\""
        let result = try scratch.run(["produce", "t"], input: "1\n2\n\(big)\n4\n")
        expectOneLineError(result, containing: ["line 3"])
        #expect((result.stdout + result.stderr).contains("2 records"), "\(result)")
        #expect(try scratch.consumeLines("t") == ["1", "2"])
    }

    @Test("many small records split into batches under a small batch limit, with every codec", arguments: ["none", "lz4", "zstd"])
    func manyRecordsUnderSmallLimit(_ codec: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--max-batch-bytes", "1KiB", "--compression", codec])
        // Incompressible-looking values close to the limit exercise the size estimate.
        var generator = SystemRandomNumberGenerator()
        let lines = (0..<60).map { index in
            let length = [50, 300, 900][index % 3]
            return String((0..<length).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/".randomElement(using: &generator)! })
        }
        let result = try scratch.run(["produce", "t", "--format", "raw"], input: lines.joined(separator: "\n") + "\n")
        expectSuccess(result)
        #expect(try scratch.consumeLines("t") == lines)
        let dump = try scratch.runBare(["log", "dump", scratch.segmentPath("t")])
        for line in DumpOutput(dump.stdout).batchLines {
            #expect(Int(DumpOutput.field("size", in: line) ?? "") ?? .max <= 1024, "\(line)")
        }
    }
}
