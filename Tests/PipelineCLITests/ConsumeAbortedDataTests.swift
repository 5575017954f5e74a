import Foundation
import Testing
import StreamCore
import RecordFormat
import LogStorage

/// `pipeline consume` over a partition whose committed records follow more than a fetch's
/// worth of aborted transactions (issue 18.3): read-committed, it prints the committed records
/// and exits at the last stable offset, not at the first poll that only skipped aborted data.
@Suite("pipeline consume over aborted data")
struct ConsumeAbortedDataTests {
    /// Topic `t` (one partition): `abortedMebibytes` MiB in aborted transactions of ~256 KiB
    /// (producer 7), then `{"n":1}` … `{"n":committed}` as plain records, through the library.
    private func seed(_ scratch: Scratch, abortedMebibytes: Int, committed: Int) throws -> [String] {
        let log = try LogManager.open(directory: scratch.dataDir)
        defer { log.close() }
        let partition = try log.createTopic(TopicName(rawValue: "t")!, config: TopicConfig(partitionCount: 1)).partitions[0]
        let timestamp = Timestamp(milliseconds: 1_700_000_000_000)
        var sequence: Int32 = 0
        for _ in 0..<(abortedMebibytes * 4) {
            for _ in 0..<4 {
                var builder = RecordBatchBuilder(producerID: ProducerID(7), producerEpoch: ProducerEpoch(0),
                                                 baseSequence: sequence, isTransactional: true)
                for index in 0..<64 {
                    builder.append(key: Array("aborted-\(index)".utf8), value: [UInt8](repeating: 0x7A, count: 1000), timestamp: timestamp)
                }
                try partition.append(try builder.build())
                sequence += 64
            }
            try partition.append(RecordBatchBuilder.controlBatch(
                type: .abort, producerID: ProducerID(7), producerEpoch: ProducerEpoch(0), coordinatorEpoch: 0, timestamp: timestamp))
        }
        let lines = (1...committed).map { "{\"n\":\($0)}" }
        for line in lines {
            var builder = RecordBatchBuilder()
            builder.append(key: nil, value: Array(line.utf8), timestamp: timestamp)
            try partition.append(try builder.build())
        }
        try partition.sync()
        return lines
    }

    @Test("read-committed prints the committed records after 3 MiB of aborted transactions")
    func committedAfterAbortedData() throws {
        let scratch = try Scratch()
        let lines = try seed(scratch, abortedMebibytes: 3, committed: 20)
        let result = try scratch.run(["consume", "t"], timeout: 60)
        expectSuccess(result)
        #expect(!result.timedOut)
        #expect(result.stdoutLines == lines)
        // With a group it commits the stable end, so a second read prints nothing new.
        let grouped = try scratch.run(["consume", "t", "--group", "g"], timeout: 60)
        expectSuccess(grouped)
        #expect(grouped.stdoutLines == lines)
        #expect(try scratch.run(["consume", "t", "--group", "g"]).stdoutLines.isEmpty)
        // Read-uncommitted shows the aborted records too.
        let uncommitted = try scratch.run(["consume", "t", "--isolation", "read-uncommitted"], timeout: 60)
        #expect(uncommitted.stdoutLines.count == 3 * 4 * 4 * 64 + 20)
    }
}

/// The issue's own steps, smaller: `order-totals` with a long commit interval is SIGKILLed while
/// its first transaction holds more than a fetch's worth of `customer-totals` output; the rerun
/// aborts it and commits everything after it; `consume customer-totals` must then print every
/// committed update, not stop at the aborted data.
@Suite("pipeline consume after a killed run", .serialized)
struct ConsumeAfterKilledRunTests {
    @Test("consume prints a rerun's committed output that follows a killed run's aborted transaction of over 1 MiB")
    func consumeAfterKilledRun() throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: 183)
        try scratch.produceOrders(ledger.goodOrders(40_000, customers: 0..<30_000, using: &random))
        let output = scratch.segmentPath("customer-totals")
        let run = try PipelineProcess(["run", "order-totals", "--commit-interval", "1h", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 120)
        // The kill must land with over 1 MiB of the open transaction's output in the log.
        let inFlight = PipelineProcess.waitUntil(timeout: 90) { ((try? fileSize(output)) ?? 0) > 3 << 19 || !run.isRunning }
        run.kill(SIGKILL)
        let killed = run.wait()
        #expect(inFlight && killed.signaled && killed.exitCode == 128 + SIGKILL, "the kill did not land mid-transaction: \(killed)")
        let abortedBytes = try fileSize(output)
        #expect(abortedBytes > 1 << 20, "only \(abortedBytes) bytes of output were in flight")
        #expect(try scratch.run(["consume", "customer-totals", "--isolation", "read-committed"]).stdoutLines.isEmpty,
                "nothing of the killed run is committed")

        expectRunSuccess(try scratch.run(["run", "order-totals", "--until-idle"], timeout: 180), pipeline: "order-totals")
        let committed = try scratch.envelopes("customer-totals")
        #expect(committed.count == 40_000, "consume printed \(committed.count) committed updates after \(abortedBytes) bytes of aborted output")
        let check = try customerTotalsProblems(committed, ledger: ledger)
        #expect(check.count == 0, "\(check.described.joined(separator: "\n"))")
    }
}
