import Foundation
import Testing

/// Internal topics (changelogs, repartition topics, redrive markers, the audit trail) are
/// protected from `topics delete` unless `--force`; a pipeline whose changelog is gone, or holds
/// less than its checkpoint says, while its offsets remain refuses to run until a replay from
/// earliest rebuilds its state.
@Suite("internal topics and lost state", .serialized)
struct InternalTopicTests {
    static let changelog = "order-totals-customer-totals-changelog"

    /// Every customer's stored total equals the ledger's.
    private static func expectExactStore(_ data: DeadLetteredData, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let shown = try data.scratch.stateShow("order-totals", "customer-totals")
        try #require(shown.exitCode == 0, "\(shown)")
        var exact = 0
        for line in shown.stdoutLines {
            let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard fields.count == 2, let row = try CustomerTotalRow.decodeAll([fields[1]]).first else { continue }
            if row == data.ledger.total(of: fields[0]) { exact += 1 }
        }
        #expect(exact == data.ledger.cents.count, "\(exact) of \(data.ledger.cents.count) customers exact", sourceLocation: sourceLocation)
    }

    @Test("topics delete refuses a pipeline's internal topics, naming the pipeline, unless --force")
    func deleteRefusesInternalTopics() throws {
        let data = try DeadLetteredData.make(goodCount: 40)
        let scratch = data.scratch
        let refused = try scratch.run(["topics", "delete", Self.changelog])
        expectOneLineError(refused, containing: ["refusing", Self.changelog, "store customer-totals", "pipeline order-totals", "--force"])
        #expect(try scratch.run(["topics", "list"]).stdout.contains(Self.changelog))
        // The audit topic (the run wrote it) and the redrive markers (protected by name before
        // any redrive writes them) are refused too.
        #expect(try scratch.run(["topics", "list"]).stdout.contains("order-totals.audit"))
        try scratch.createTopic("order-totals.dlq.redriven")
        for name in ["order-totals.audit", "order-totals.dlq.redriven"] {
            expectOneLineError(try scratch.run(["topics", "delete", name]), containing: ["refusing", "order-totals", "--force"])
        }
        // An ordinary topic is deleted as before; so is an internal one with --force.
        try scratch.createTopic("scratch-topic")
        expectSuccess(try scratch.run(["topics", "delete", "scratch-topic"]))
        expectSuccess(try scratch.run(["topics", "delete", "order-totals.audit", "--force"]))
    }

    @Test("a changelog deleted with --force: run refuses with the way out; replay --from earliest rebuilds the exact totals")
    func deletedChangelogRefusesToRun() throws {
        let data = try DeadLetteredData.make(goodCount: 80)
        let scratch = data.scratch
        expectSuccess(try scratch.run(["topics", "delete", Self.changelog, "--force"]))
        let refused = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectOneLineError(refused, containing: [Self.changelog, "missing", "pipeline replay order-totals --from earliest"])
        // Nothing ran on empty state: no new totals were emitted.
        #expect(try scratch.envelopes("customer-totals").count == data.ledger.goodCount)

        expectSuccess(try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"]))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")
        try Self.expectExactStore(data)
    }

    @Test("a changelog deleted and recreated empty: the checkpoint says more, so run refuses")
    func recreatedChangelogRefusesToRun() throws {
        let data = try DeadLetteredData.make(goodCount: 80)
        let scratch = data.scratch
        expectSuccess(try scratch.run(["topics", "delete", Self.changelog, "--force"]))
        try scratch.createTopic(Self.changelog, ["--partitions", "3", "--cleanup", "compact"])
        let refused = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 60)
        expectOneLineError(refused, containing: ["checkpoint", "changelog ends at 0", "pipeline replay order-totals --from earliest"])
        #expect(try scratch.envelopes("customer-totals").count == data.ledger.goodCount)
        expectSuccess(try scratch.run(["replay", "order-totals", "--from", "earliest", "--yes"]))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")
        try Self.expectExactStore(data)
    }
}
