import Foundation
import Testing

/// Error messages that tell the user what is wrong and what to do (issue 18.10): topic names
/// that fit the file system, negative numbers, impossible dates, `--fixed` lines that match no
/// dead letter.
@Suite("command-line errors", .serialized)
struct CommandErrorTests {
    @Test("a topic name of 246 characters works end to end; 247 and Kafka's 249 are refused up front, naming the limit")
    func topicNameLimit() throws {
        let scratch = try Scratch()
        let longest = String(repeating: "t", count: 246)
        try scratch.createTopic(longest)
        try scratch.produce(longest, ["1", "2"])
        #expect(try scratch.consumeLines(longest) == ["1", "2"])
        expectSuccess(try scratch.run(["topics", "delete", longest]))
        for length in [247, 249] {
            let refused = try scratch.run(["topics", "create", String(repeating: "t", count: length)])
            expectOneLineError(refused, containing: ["invalid topic name", "longer than 246 characters"])
        }
    }

    @Test("a negative number is refused as negative, not as a missing value", arguments: [
        (["consume", "t", "--partition", "-1"], "--partition must not be negative"),
        (["consume", "t", "--offset", "-5"], "--offset must not be negative"),
        (["consume", "t", "--max", "-2"], "--max must not be negative"),
        (["topics", "create", "u", "--partitions", "-3"], "partitions"),
    ])
    func negativeNumbers(arguments: [String], message: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let result = try scratch.run(arguments)
        #expect(result.exitCode != 0, "\(result)")
        let first = result.stderrErrorLines.first ?? ""
        #expect(first.contains(message), "\(result)")
        #expect(!result.stderr.contains("Missing value"), "\(result)")
    }

    @Test("replay --from refuses impossible dates and accepts real ones", arguments: [
        ("2025-02-30T00:00:00Z", false), ("2023-02-29T00:00:00Z", false), ("2025-04-31T12:00:00Z", false),
        ("2025-13-01T00:00:00Z", false), ("2025-06-11T24:00:00Z", false), ("2025-06-11T12:00:00+24:00", false),
        ("2024-02-29T00:00:00Z", true), ("2000-02-29T12:00:00.250+02:00", true), ("2025-06-30T23:59:59Z", true),
    ])
    func replayDates(text: String, valid: Bool) throws {
        let data = try DeadLetteredData.make(goodCount: 6)
        let result = try data.scratch.run(["replay", "order-totals", "--from", text, "--yes"])
        if valid {
            expectSuccess(result)
        } else {
            expectUsageError(result, containing: ["invalid --from"])
        }
    }

    @Test("dlq redrive --fixed says how many entries matched no dead letter, and fails when none did")
    func fixedLinesMatchingNothing() throws {
        let data = try DeadLetteredData.make(goodCount: 10)
        let scratch = data.scratch
        let exported = try scratch.run(["dlq", "show", "order-totals", "--format", "json"])
        expectSuccess(exported)
        let real = try #require(exported.stdoutLines.first)
        let bogus = #"{"topic":"order-totals.dlq","partition":0,"offset":9999,"value":"x"}"#
        let none = try scratch.writeLines([bogus, bogus.replacingOccurrences(of: "9999", with: "9998")], name: "none.jsonl")
        let refused = try scratch.run(["dlq", "redrive", "order-totals", "--fixed", none])
        #expect(refused.exitCode != 0, "\(refused)")
        #expect(refused.stderrErrorLines.contains { $0.hasPrefix("Error:") && $0.contains("none of the 2 entries") }, "\(refused)")

        let some = try scratch.writeLines([real, bogus], name: "some.jsonl")
        let partial = try scratch.run(["dlq", "redrive", "order-totals", "--fixed", some])
        #expect(partial.exitCode == 0, "\(partial)")
        #expect(partial.stdout.contains("redriven 1,"), "\(partial)")
        #expect(partial.stderrErrorLines.contains { $0.contains("1 of the 2 entries") && $0.contains("match no dead letter") }, "\(partial)")
    }
}
