import Foundation
import Testing
import Sluice
import StreamCore
import LogStorage
import Transactions
import RecordFormat
import PipelineRuntime
import EngineTestSupport

/// Copies `events` to `events-copy`, with a chosen out-of-range policy.
private struct CopyEvents: PipelineDefinition {
    let name = "copy-events"
    let summary = "events → events-copy"
    var policy: OffsetOutOfRangePolicy
    var configuration: PipelineConfiguration { PipelineConfiguration(offsetOutOfRange: policy) }
    var body: Topology {
        Source("events", value: .string).sink("events-copy", value: .string)
    }
}

/// Retention deleting records under a running exactly-once pipeline before it read them (issue
/// 10.3): `.fail` stops it with the numbers; `.earliest` goes on and counts the records lost.
@Suite("a running pipeline whose source retention overtakes it")
struct OffsetOutOfRangeTests {
    private static func setUp(_ policy: OffsetOutOfRangePolicy) throws -> (TestEngine, PipelineRunner, PartitionLog) {
        let engine = try TestEngine()
        let events = TopicName(rawValue: "events")!
        let config = TopicConfig(partitionCount: 1, segmentBytesMax: 2048, retentionMilliseconds: -1, retentionBytes: 8192, batchBytesMax: 1024)
        let partition = try engine.log.createTopic(events, config: config).partitions[0]
        try append(partition, 0..<20)
        let runner = try PipelineRunner(pipeline: CopyEvents(policy: policy), log: engine.log, coordinator: engine.coordinator, pollRecordsMax: 5)
        return (engine, runner, partition)
    }

    private static func append(_ partition: PartitionLog, _ range: Range<Int>) throws {
        for index in range {
            var builder = RecordBatchBuilder()
            builder.append(key: Array("k".utf8), value: Array("event-\(index)-padding-padding-padding-padding".utf8), timestamp: Timestamp(milliseconds: 1))
            try partition.append(try builder.build())
        }
    }

    @Test("fail: the step that finds its position deleted stops the pipeline with topic, partition, offsets and records lost")
    func failStops() throws {
        let (engine, runner, partition) = try Self.setUp(.fail)
        _ = engine
        #expect(try runner.step() == 5)
        try Self.append(partition, 20..<400)
        let start = partition.logStartOffset
        #expect(start > Offset(5))
        let error = #expect(throws: PipelineRunError.self) { try runner.step() }
        #expect(error?.description.contains("events/0: position 5 is below the log start (log start \(start), log end 400): \(start - Offset(5)) records were deleted") == true,
                "\(String(describing: error))")
    }

    @Test("earliest: the pipeline goes on from the log start and counts the records lost")
    func earliestGoesOn() throws {
        let (engine, runner, partition) = try Self.setUp(.earliest)
        #expect(try runner.step() == 5)
        try Self.append(partition, 20..<400)
        let start = partition.logStartOffset
        for _ in 0..<500 where !runner.isIdle { try runner.step() }
        #expect(runner.isIdle)
        #expect(runner.progress.recordsLost == [TopicPartition(TopicName(rawValue: "events")!, PartitionID(0)): start - Offset(5)])
        #expect(runner.progress.recordsProcessed == 5 + Int(Offset(400) - start))
        #expect(try engine.values(TopicName(rawValue: "events-copy")!).count == 5 + Int(Offset(400) - start))
    }
}
