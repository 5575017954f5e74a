import Testing
import StreamCore
import RecordFormat
@testable import LogStorage
import Simulation

/// A segment's age counts from its first batch's timestamp after a clean open: whatever that
/// timestamp says (a client's CreateTime may be any 64-bit value, and a transient read flip in the
/// unchecked header read can make it anything), the age check never traps on overflow and the
/// partition keeps taking appends. (The 2,000-seed soak of the pipeline simulation trapped here
/// with "arithmetic overflow" in `PartitionLog.shouldRoll`.)
@Suite struct SegmentAgeTests {
    @Test(arguments: [Int64.min + 1, Int64.min + 1_000, Int64.max - 1, -2])
    func anExtremeFirstTimestampNeverTrapsTheAgeCheck(timestamp: Int64) throws {
        let disk = SimulatedDisk(seed: 7)
        let clock = makeClock()
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
            try partition.append(makeBatch(makeRecords("first", count: 1, timestamp: timestamp)))
            try partition.sync()
            log.close()
        }
        let log = try openLog(disk, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), PartitionID(0)))
        let appended = try partition.append(makeBatch(makeRecords("next", count: 1, timestamp: clockStart)))
        #expect(appended.baseOffset == 1)
        #expect(partition.logEndOffset == 2)
    }

    /// A clean open takes the segment's age from its first batch only when that batch reads with
    /// a matching CRC: a misread header (here one read flipping a bit of maxTimestamp to 1988,
    /// which made the segment roll at the next append) is read again whole.
    @Test func aMisreadFirstTimestampIsNotBelievedAfterACleanOpen() throws {
        let disk = SimulatedDisk(seed: 8)
        let clock = makeClock()
        // An index entry per batch: the clean open's check of the index tail starts at the last
        // batch, so the only read of the first batch's header is the age's.
        let config = TopicConfig(indexIntervalBytes: 1)
        do {
            let log = try openLog(disk, clock: clock)
            let partition = try log.createTopic(topicName("t"), config: config).partition(0)
            for index in 0..<3 {
                try partition.append(makeBatch(makeRecords("r\(index)", count: 1, timestamp: clockStart)))
            }
            try partition.sync()
            log.close()
        }
        // maxTimestamp is bytes 35-42; its third byte holds 0x01 of 0x0000018B_CFE56800.
        let flaky = FlakyStorage(disk: disk, flips: [.init(pathSuffix: ".log", position: 37, xor: 0x01, remaining: 1)])
        let log = try openLog(flaky, clock: clock)
        defer { log.close() }
        let partition = try log.partition(TopicPartition(topicName("t"), PartitionID(0)))
        try partition.append(makeBatch(makeRecords("next", count: 1, timestamp: clockStart)))
        #expect(flaky.appliedCount == 1, "the flip landed on the open's read of the first header")
        #expect(partition.segmentCount == 1, "the segment did not roll on a timestamp its CRC refutes")
    }
}
