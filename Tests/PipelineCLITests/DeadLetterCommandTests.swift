import Foundation
import Testing

/// `pipeline dlq list` and `pipeline dlq show` over a data directory where `order-totals`
/// dead-lettered malformed JSON, orders without customer_id and negative amounts.
@Suite("pipeline dlq list/show", .serialized)
struct DeadLetterCommandTests {
    static let contractHeaders = [
        "dlq.pipeline", "dlq.operator", "dlq.stage", "dlq.error.type", "dlq.error.message", "dlq.source.topic",
        "dlq.source.partition", "dlq.source.offset", "dlq.source.timestamp", "dlq.attempts",
        "dlq.first.failure.time", "dlq.last.failure.time",
    ]

    @Test("list and show of a pipeline without a DLQ topic say so; an unknown pipeline is a one-line error")
    func noTopicAndUnknownPipeline() throws {
        let scratch = try Scratch()
        let list = try scratch.run(["dlq", "list", "order-totals"])
        expectSuccess(list)
        #expect(list.stdout == "order-totals has no dead letters (no topic order-totals.dlq)\n", "\(list)")
        let show = try scratch.run(["dlq", "show", "order-totals"])
        expectSuccess(show)
        #expect(show.stdout.contains("no dead letters"), "\(show)")
        for command in [["dlq", "list"], ["dlq", "show"], ["dlq", "redrive"], ["replay"]] {
            let extra = command == ["replay"] ? ["--from", "earliest", "--yes"] : []
            let result = try scratch.run(command + ["no-such-pipeline"] + extra)
            expectOneLineError(result, containing: ["unknown pipeline", "no-such-pipeline", "order-totals"])
            #expect(result.stdout.isEmpty, "\(result)")
        }
    }

    @Test("list counts the dead letters by error type and stage, with the total")
    func list() throws {
        let data = try DeadLetteredData.make()
        var expected: [String: Int] = [:]
        for letter in data.deadLetters {
            expected["\(letter.header("dlq.error.type") ?? "?")/\(letter.header("dlq.stage") ?? "?")", default: 0] += 1
        }
        let result = try data.scratch.run(["dlq", "list", "order-totals"])
        expectSuccess(result)
        let listing = DeadLetterListing(result.stdout)
        #expect(result.stdoutLines.first?.hasPrefix("ERROR TYPE") == true, "\(result)")
        var shown: [String: Int] = [:]
        for row in listing.rows { shown["\(row.errorType)/\(row.stage)"] = row.count }
        #expect(shown == expected, "\(result)")
        #expect(listing.rows.allSatisfy { $0.redriven == 0 }, "\(result)")
        // The stages match the kinds of poison: 3 malformed JSON fail to decode, 5 in processing.
        #expect(listing.rows.filter { $0.stage == "decode" }.reduce(0) { $0 + $1.count } == 3, "\(result)")
        #expect(listing.rows.filter { $0.stage == "process" }.reduce(0) { $0 + $1.count } == 5, "\(result)")
        #expect(listing.totalLine == "total: 8 dead letters in order-totals.dlq, 0 redriven", "\(result)")
        // Largest count first.
        #expect(listing.rows.map(\.count) == listing.rows.map(\.count).sorted(by: >), "\(result)")
    }

    @Test("show --format json: every dead letter once, with its DLQ position, key, value and every dlq.* header")
    func showJSON() throws {
        let data = try DeadLetteredData.make()
        let result = try data.scratch.run(["dlq", "show", "order-totals", "--format", "json"])
        expectSuccess(result)
        let objects = try result.stdoutLines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
        #expect(objects.count == data.deadLetters.count, "\(result)")
        let byPosition = Dictionary(uniqueKeysWithValues: data.deadLetters.map { ($0.position, $0) })
        var seen = Set<String>()
        for object in objects {
            let position = "\(object["partition"] as? Int ?? -1):\(object["offset"] as? Int ?? -1)"
            #expect(seen.insert(position).inserted, "\(position) shown twice")
            guard let letter = byPosition[position] else {
                Issue.record("shown \(position), which is no dead letter: \(object)")
                continue
            }
            #expect(object["topic"] as? String == "order-totals.dlq")
            #expect(object["key"] as? String == letter.key)
            #expect(object["value"] as? String == letter.value)
            #expect(object["redriven"] as? Bool == false)
            let headers = try #require(object["headers"] as? [String: String], "\(object)")
            for name in Self.contractHeaders {
                #expect(headers[name] != nil && headers[name] == letter.header(name), "\(position): \(name) is \(headers[name] ?? "nil"), the record has \(letter.header(name) ?? "nil")")
            }
            #expect(data.ledger.poison.contains { $0.value == letter.value && $0.key == letter.key })
        }
    }

    @Test("show (text) prints a block per record with key, value and every header; --error-type and --limit select")
    func showText() throws {
        let data = try DeadLetteredData.make()
        let all = try data.scratch.run(["dlq", "show", "order-totals"])
        expectSuccess(all)
        let blocks = all.stdout.components(separatedBy: "\norder-totals.dlq ").count
        #expect(blocks == data.deadLetters.count, "\(all)")
        #expect(all.stdoutLines.last == "\(data.deadLetters.count) dead letters shown", "\(all)")
        for letter in data.deadLetters {
            #expect(all.stdout.contains("order-totals.dlq \(letter.position)  timestamp \(letter.timestamp) "), "no block for \(letter.position)")
            #expect(all.stdout.contains("  key:   \(letter.key ?? "(null)")\n  value: \(letter.value ?? "")\n"), "key/value of \(letter.position)")
            #expect(all.stdout.contains("  dlq.source.offset: \(letter.header("dlq.source.offset") ?? "?")\n"))
        }
        for name in Self.contractHeaders {
            #expect(all.stdoutLines.filter { $0.hasPrefix("  \(name): ") }.count == data.deadLetters.count, "\(name)")
        }

        let errorType = try #require(data.deadLetters.first { $0.header("dlq.stage") == "process" }?.header("dlq.error.type"))
        let matching = data.deadLetters.filter { $0.header("dlq.error.type") == errorType }.count
        #expect(matching > 2 && matching < data.deadLetters.count)
        let filtered = try data.scratch.run(["dlq", "show", "order-totals", "--error-type", errorType, "--format", "json"])
        expectSuccess(filtered)
        #expect(filtered.stdoutLines.count == matching, "\(filtered)")
        #expect(filtered.stdoutLines.allSatisfy { $0.contains("\"dlq.error.type\":\"\(errorType)\"") }, "\(filtered)")
        let limited = try data.scratch.run(["dlq", "show", "order-totals", "--error-type", errorType, "--limit", "2", "--format", "json"])
        expectSuccess(limited)
        #expect(limited.stdoutLines.count == 2, "\(limited)")
        #expect(Array(filtered.stdoutLines.prefix(2)) == limited.stdoutLines)
        let none = try data.scratch.run(["dlq", "show", "order-totals", "--error-type", "NoSuchError"])
        expectSuccess(none)
        #expect(none.stdoutLines == ["0 dead letters of error type NoSuchError shown"], "\(none)")
    }

    @Test("show prints a value that is not UTF-8 as hex (text) and base64 (json)")
    func binaryValue() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders")
        let path = scratch.root.appendingPathComponent("binary.txt")
        try Data([0xFF, 0xFE, 0x41, 0x0A]).write(to: path)
        expectSuccess(try scratch.run(["produce", "orders", "--format", "raw", "--key", "K1", "--file", path.path]))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60), pipeline: "order-totals")
        let text = try scratch.run(["dlq", "show", "order-totals"])
        expectSuccess(text)
        #expect(text.stdout.contains("  value: 0xfffe41\n"), "\(text)")
        let json = try scratch.run(["dlq", "show", "order-totals", "--format", "json"])
        expectSuccess(json)
        #expect(json.stdout.contains("\"value\":\"//5B\",\"value_encoding\":\"base64\""), "\(json)")
    }
}
