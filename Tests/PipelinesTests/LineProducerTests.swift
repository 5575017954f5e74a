import Foundation
import Testing
import EngineTestSupport
import StreamCore
import LogStorage
import Simulation
import PipelineCLI
#if canImport(Glibc)
import Glibc
#endif

/// `produce`'s streaming core on the simulated disk: a full disk names the first line that was
/// not produced (every line before it is visible, none after it), and memory stays bounded.
@Suite("produce's line producer")
struct LineProducerTests {
    /// A temporary file holding `lines`, opened for reading.
    static func input(_ lines: [String]) throws -> (descriptor: Int32, path: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-lines-\(UUID().uuidString.prefix(8))").path
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        return (descriptor, path)
    }

    static func visibleValues(_ log: LogManager, _ topic: TopicName) throws -> [String] {
        var config = ConsumerConfig()
        config.autoOffsetReset = .earliest
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign(try log.topic(topic).partitions.map(\.topicPartition))
        var values: [String] = []
        while true {
            let records = try consumer.poll(maxRecords: 10_000)
            if records.isEmpty { return values }
            values += records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }
    }

    @Test("a full disk: the error names the first line not produced; exactly the lines before it are visible",
          arguments: [UInt64(1), 2, 3])
    func fullDisk(seed: UInt64) throws {
        let disk = SimulatedDisk(seed: seed)
        let log = try openSimulatedLog(disk: disk, clock: SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000)))
        let topic = TopicName(rawValue: "t")!
        var config = TopicConfig(partitionCount: 1)
        config.batchBytesMax = 16 << 10
        try log.createTopic(topic, config: config)
        // Room for about 3,000 of the 20,000 lines, wherever the seed puts the limit.
        disk.faults.capacityBytes = disk.storedBytes + 200_000 + Int(seed) * 37_000
        let lines = (1...20_000).map { "line-\($0)-" + String(repeating: "x", count: 40) }
        let (descriptor, path) = try Self.input(lines)
        defer { close(descriptor); try? FileManager.default.removeItem(atPath: path) }
        let outcome = LineProducer(log: log, topic: topic, format: .raw, keying: .none)
            .produce(LineInput(descriptor: descriptor, lineBytesMax: config.batchBytesMax))
        let failure = try #require(outcome.failure, "the disk never filled")
        let visible = try Self.visibleValues(log, topic)
        #expect(visible == Array(lines.prefix(visible.count)), "the visible records are not the first lines in order")
        #expect(outcome.summary.produced == visible.count)
        #expect(failure.hasPrefix("line \(visible.count + 1): "), "\(failure) — \(visible.count) lines are visible")
        #expect(failure.contains("(\(visible.count) records before it were produced"), "\(failure)")
        #expect(visible.count > 0 && visible.count < lines.count)
    }

    @Test("memory is bounded: one chunk plus a line buffered, at most settleRecordsMax records pending")
    func boundedBuffers() throws {
        let disk = SimulatedDisk(seed: 9)
        let log = try openSimulatedLog(disk: disk, clock: SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000)))
        let topic = TopicName(rawValue: "t")!
        try log.createTopic(topic, config: TopicConfig(partitionCount: 2))
        let lines = (1...60_000).map { #"{"n":\#($0),"pad":"\#(String(repeating: "p", count: $0 % 300))"}"# }
        let (descriptor, path) = try Self.input(lines)
        defer { close(descriptor); try? FileManager.default.removeItem(atPath: path) }
        let input = LineInput(descriptor: descriptor, lineBytesMax: 4096)
        let outcome = LineProducer(log: log, topic: topic, format: .json, keying: .none).produce(input)
        #expect(outcome.failure == nil)
        #expect(outcome.summary.produced == lines.count)
        #expect(input.bufferedBytesPeak <= input.lineBytesMax + LineInput.chunkBytes, "\(input.bufferedBytesPeak) bytes buffered")
        #expect(outcome.pendingRecordsPeak <= LineProducer.settleRecordsMax && outcome.pendingRecordsPeak > 0)
        #expect(try Self.visibleValues(log, topic).count == lines.count)
    }
}
