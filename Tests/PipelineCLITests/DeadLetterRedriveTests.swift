import Foundation
import Testing

/// `pipeline dlq redrive`: each dead letter is sent back once, with its key, value, source
/// headers and its DLQ position, over repeated and filtered runs.
@Suite("pipeline dlq redrive", .serialized)
struct DeadLetterRedriveTests {
    /// What `target` (read-committed) must hold after redriving `letters` into it: each DLQ
    /// record exactly once, same key and value, `dlq.redrive.partition`/`dlq.redrive.offset`
    /// naming its DLQ position, no other dlq.* header, keyed records in the murmur2 partition.
    static func redriveProblems(_ target: [Envelope], letters: [Envelope], partitions: Int) -> [String] {
        var problems: [String] = []
        let byPosition = Dictionary(uniqueKeysWithValues: letters.map { ($0.position, $0) })
        var seen: [String: Int] = [:]
        for record in target {
            guard let partition = record.header("dlq.redrive.partition"), let offset = record.header("dlq.redrive.offset") else {
                problems.append("\(record.position) has no dlq.redrive headers: \(record.headers)")
                continue
            }
            let position = "\(partition):\(offset)"
            seen[position, default: 0] += 1
            guard let letter = byPosition[position] else {
                problems.append("\(record.position) names DLQ position \(position), which holds no dead letter")
                continue
            }
            if record.key != letter.key || record.value != letter.value { problems.append("\(position): key/value differ") }
            if record.timestamp != letter.timestamp { problems.append("\(position): timestamp \(record.timestamp), was \(letter.timestamp)") }
            let stray = record.headers.map(\.key).filter { $0.hasPrefix("dlq.") && !$0.hasPrefix("dlq.redrive.") }
            if !stray.isEmpty { problems.append("\(position): dlq headers kept: \(stray)") }
            if let key = record.key, record.partition != KafkaMurmur2.partition(key, count: partitions) {
                problems.append("\(position): key \(key) in partition \(record.partition), murmur2 gives \(KafkaMurmur2.partition(key, count: partitions))")
            }
        }
        for (position, count) in seen where count > 1 { problems.append("\(position) redriven \(count) times") }
        for letter in letters where seen[letter.position] == nil { problems.append("\(letter.position) never redriven") }
        return problems
    }

    @Test("redrive --to TOPIC: each record once with its DLQ position; a second run redrives 0")
    func redriveTwice() throws {
        let data = try DeadLetteredData.make()
        let scratch = data.scratch
        try scratch.createTopic("orders-fixed", ["--partitions", "4"])
        let first = try scratch.redrive(["--to", "orders-fixed"])
        #expect(first == RedriveCounts(redriven: 8, alreadyRedriven: 0, filteredOut: 0))
        var target = try scratch.envelopes("orders-fixed")
        #expect(target.count == 8)
        let problems = Self.redriveProblems(target, letters: data.deadLetters, partitions: 4)
        #expect(problems.isEmpty, "\(problems)")

        let second = try scratch.redrive(["--to", "orders-fixed"])
        #expect(second == RedriveCounts(redriven: 0, alreadyRedriven: 8, filteredOut: 0))
        target = try scratch.envelopes("orders-fixed", ["--isolation", "read-uncommitted"])
        #expect(target.count == 8, "the second run wrote \(target.count - 8) records")

        let list = try scratch.run(["dlq", "list", "order-totals"])
        expectSuccess(list)
        #expect(DeadLetterListing(list.stdout).totalLine == "total: 8 dead letters in order-totals.dlq, 8 redriven", "\(list)")
        let show = try scratch.run(["dlq", "show", "order-totals", "--format", "json"])
        #expect(show.stdoutLines.count == 8 && show.stdoutLines.allSatisfy { $0.contains("\"redriven\":true") }, "\(show)")
    }

    @Test("redrive --error-type T redrives only those; a later run without a filter redrives the rest back to the source topic")
    func filteredThenRest() throws {
        let data = try DeadLetteredData.make()
        let scratch = data.scratch
        let decodeType = try #require(data.deadLetters.first { $0.header("dlq.stage") == "decode" }?.header("dlq.error.type"))
        let decodeLetters = data.deadLetters.filter { $0.header("dlq.error.type") == decodeType }
        let rest = data.deadLetters.filter { $0.header("dlq.error.type") != decodeType }
        #expect(decodeLetters.count == 3 && rest.count == 5)
        try scratch.createTopic("orders-fixed", ["--partitions", "2"])

        let filtered = try scratch.redrive(["--error-type", decodeType, "--to", "orders-fixed"])
        #expect(filtered == RedriveCounts(redriven: 3, alreadyRedriven: 0, filteredOut: 5))
        let fixed = try scratch.envelopes("orders-fixed")
        #expect(Self.redriveProblems(fixed, letters: decodeLetters, partitions: 2).isEmpty, "\(Self.redriveProblems(fixed, letters: decodeLetters, partitions: 2))")

        // Without --to, the rest go back to `orders` (their dlq.source.topic).
        let ordersBefore = try scratch.envelopes("orders")
        let unfiltered = try scratch.redrive([])
        #expect(unfiltered == RedriveCounts(redriven: 5, alreadyRedriven: 3, filteredOut: 0))
        let ordersAfter = try scratch.envelopes("orders")
        let before = Set(ordersBefore.map(\.position))
        let added = ordersAfter.filter { !before.contains($0.position) }
        #expect(added.count == 5)
        #expect(Self.redriveProblems(added, letters: rest, partitions: 3).isEmpty, "\(Self.redriveProblems(added, letters: rest, partitions: 3))")
        #expect(try scratch.redrive([]) == RedriveCounts(redriven: 0, alreadyRedriven: 8, filteredOut: 0))

        // Nothing was fixed: the pipeline dead-letters them again, as new dead letters that name
        // the DLQ position they were redriven from.
        let run = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectRunSuccess(run, pipeline: "order-totals")
        #expect(runSummary(run.stdout, pipeline: "order-totals").map { $0.processed == 5 && $0.deadLettered == 5 } == true, "\(run)")
        let letters = try scratch.envelopes("order-totals.dlq")
        #expect(letters.count == 13)
        let again = letters.filter { $0.header("dlq.redrive.offset") != nil }
        #expect(Set(again.map { "\($0.header("dlq.redrive.partition") ?? "?"):\($0.header("dlq.redrive.offset") ?? "?")" }) == Set(rest.map(\.position)))
        #expect(try scratch.redrive(["--to", "orders-fixed"]) == RedriveCounts(redriven: 5, alreadyRedriven: 8, filteredOut: 0))
    }

    @Test("redrive errors: unknown target topic, the DLQ itself; nothing redriven")
    func errors() throws {
        let data = try DeadLetteredData.make(goodCount: 10)
        let scratch = data.scratch
        expectOneLineError(try scratch.run(["dlq", "redrive", "order-totals", "--to", "no-such-topic"]), containing: ["no-such-topic"])
        expectOneLineError(try scratch.run(["dlq", "redrive", "order-totals", "--to", "order-totals.dlq"]), containing: ["order-totals.dlq"])
        let list = try scratch.run(["dlq", "list", "order-totals"])
        #expect(DeadLetterListing(list.stdout).totalLine == "total: 8 dead letters in order-totals.dlq, 0 redriven", "\(list)")
    }

    @Test("a pipeline without a DLQ topic has nothing to redrive")
    func noTopic() throws {
        let scratch = try Scratch()
        let result = try scratch.run(["dlq", "redrive", "order-totals"])
        expectSuccess(result)
        #expect(result.stdout.contains("nothing to redrive"), "\(result)")
    }
}
