import Foundation
import Testing
import StreamCore

/// `pipeline run` when a pipeline's committed offset is outside its source partition (issues
/// 18.2 and 10.3): past the log end after a truncation, or below the log start after retention
/// deleted records it had not read. Exactly-once, the run stops with an error naming topic,
/// partition, committed offset, log start and end and the records lost; with
/// `--offset-out-of-range earliest` it goes on from the log start, logs a warning with the same
/// numbers and counts the loss in its summary.
@Suite("pipeline run: committed offset out of range", .serialized)
struct OffsetOutOfRangeRunTests {
    private static func orders(_ ledger: inout OrderLedger, _ count: Int, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        return ledger.goodOrders(count, customers: 1..<20, using: &random)
    }

    /// The `records lost` the summary line of `run` reports for `orders/0`, if any.
    private static func recordsLost(in stdout: String) -> Int? {
        guard let range = stdout.range(of: "records lost: orders/0 ") else { return nil }
        return Int(stdout[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("a committed offset past the end of a truncated log stops the run; earliest goes on and says so")
    func truncatedLog() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1"])
        var ledger = OrderLedger()
        for part in 0..<4 { try scratch.produceOrders(Self.orders(&ledger, 50, seed: 180 + UInt64(part))) }
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")
        // Cut the log: recovery drops the torn tail, so the log now ends below the committed 200.
        let segment = scratch.segmentPath("orders")
        try truncateFile(segment, by: try fileSize(segment) / 2)
        let failed = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectOneLineError(failed, containing: ["orders/0", "committed offset 200", "past the log end", "log start 0"])
        let end = try #require(failed.stderrErrorLines.first.flatMap { line -> Int? in
            guard let range = line.range(of: ", log end ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }, "\(failed)")
        #expect(end < 200 && end > 0, "\(failed)")
        #expect(failed.stderrErrorLines.first?.contains("\(200 - end) records") == true, "\(failed)")

        let resumed = try scratch.run(["run", "order-totals", "--until-idle", "--offset-out-of-range", "earliest"], timeout: 120)
        expectRunSuccess(resumed, pipeline: "order-totals")
        #expect(resumed.stderrLogLines.contains { $0.contains("warning") && $0.contains("orders/0") && $0.contains("committed offset 200") },
                "\(resumed)")
        #expect(runSummary(resumed.stdout, pipeline: "order-totals")?.processed == end, "\(resumed)")
        #expect(Self.recordsLost(in: resumed.stdout) == 200 - end, "\(resumed)")
        // Back in range: a default run goes on without complaint.
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")
    }

    @Test("retention deleting records a pipeline had not read stops the run; earliest goes on and counts the loss")
    func retentionDeletedPrefix() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1", "--segment-bytes", "4KiB", "--max-batch-bytes", "1KiB", "--retention-bytes", "8KiB"])
        var ledger = OrderLedger()
        try scratch.produceOrders(Self.orders(&ledger, 30, seed: 103))
        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120), pipeline: "order-totals")
        // 400 more orders (~50 KiB): retention keeps about the newest 8 KiB, far past offset 30.
        try scratch.produceOrders(Self.orders(&ledger, 400, seed: 104))
        let failed = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectOneLineError(failed, containing: ["orders/0", "committed offset 30", "below the log start", "log end 430", "records"])
        let start = try #require(failed.stderrErrorLines.first.flatMap { line -> Int? in
            guard let range = line.range(of: "(log start ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }, "\(failed)")
        #expect(start > 30, "\(failed)")

        let resumed = try scratch.run(["run", "order-totals", "--until-idle", "--offset-out-of-range", "earliest"], timeout: 120)
        expectRunSuccess(resumed, pipeline: "order-totals")
        #expect(resumed.stderrLogLines.contains { $0.contains("warning") && $0.contains("orders/0") && $0.contains("\(start - 30) records") },
                "\(resumed)")
        #expect(runSummary(resumed.stdout, pipeline: "order-totals")?.processed == 430 - start, "\(resumed)")
        #expect(Self.recordsLost(in: resumed.stdout) == start - 30, "\(resumed)")
    }
}
