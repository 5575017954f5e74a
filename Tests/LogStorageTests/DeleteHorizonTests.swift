import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

/// Tombstones are removed by a delete horizon the cleaner sets when it first sees them (KIP-534,
/// issue 10.9), never by the producer's record timestamp.
@Suite struct DeleteHorizonTests {
    static let retention = CompactionTests.deleteRetention

    /// A sealed segment with a tombstone stamped long ago, one stamped far in the future and a
    /// live value, then an active segment; the log stays open.
    static func tombstones(_ disk: SimulatedDisk, clock: SimulatedClock) throws -> (LogManager, PartitionLog) {
        let log = try openLog(disk, clock: clock)
        let partition = try log.createTopic(topicName("c"), config: CompactionTests.config).partition(0)
        try partition.append(makeBatch([TestRecord(key: "a", value: "1", timestamp: clockStart), TestRecord(key: "b", value: "1", timestamp: clockStart)]))
        try partition.append(makeBatch([
            TestRecord(key: "a", value: nil, timestamp: clockStart - 1000 * retention),
            TestRecord(key: "b", value: nil, timestamp: clockStart + 1000 * retention),
            TestRecord(key: "c", value: "1", timestamp: clockStart),
        ]))
        try partition.rollNow()
        try partition.append(makeBatch([TestRecord(key: "d", value: "1", timestamp: clockStart)]))
        try partition.sync()
        return (log, partition)
    }

    @Test func tombstonesLiveForTheDeleteRetentionAfterTheCleanerFirstSawThemWhateverTheirTimestamps() throws {
        let disk = SimulatedDisk(seed: 61)
        let clock = makeClock()
        let (log, partition) = try Self.tombstones(disk, clock: clock)
        defer { log.close() }
        try partition.compact()
        #expect(try readAll(partition).map(\.offset) == [2, 3, 4, 5], "the values go at once; an ancient tombstone stays")
        // The horizon is in the batch (attribute bit 6, base timestamp = horizon), so it is durable.
        let marked = try #require(try readHeaders(partition).first { $0.baseOffset == 2 })
        #expect(marked.hasDeleteHorizon)
        #expect(marked.deleteHorizon == Timestamp(milliseconds: clockStart + Self.retention))
        #expect(try readAll(partition).first { $0.offset == 3 }?.record.timestamp == clockStart + 1000 * Self.retention,
                "record timestamps are unchanged by the horizon")
        clock.advance(byMilliseconds: Self.retention - 1)
        try partition.compact()
        #expect(try readAll(partition).map(\.offset) == [2, 3, 4, 5], "before the horizon both tombstones stay")
        clock.advance(byMilliseconds: 1)
        let report = try partition.compact()
        #expect(report.tombstonesRemoved == 2)
        #expect(try readAll(partition).map(\.offset) == [4, 5], "at the horizon even a tombstone stamped in the future goes")
    }

    @Test func theHorizonSurvivesARestart() throws {
        let disk = SimulatedDisk(seed: 62)
        let clock = makeClock()
        let (log, partition) = try Self.tombstones(disk, clock: clock)
        try partition.compact()
        log.close()
        // Half the retention later, a reopen (whose maintenance pass compacts the whole log
        // again) must not restart the clock of the tombstones…
        clock.advance(byMilliseconds: Self.retention / 2)
        let reopened = try openLog(disk, clock: clock)
        #expect(try readAll(reopened.partition(CompactionTests.compacted)).map(\.offset) == [2, 3, 4, 5])
        reopened.close()
        // …so one past the first horizon, the next open removes them.
        clock.advance(byMilliseconds: Self.retention / 2)
        let again = try openLog(disk, clock: clock)
        defer { again.close() }
        #expect(try readAll(again.partition(CompactionTests.compacted)).map(\.offset) == [4, 5])
    }
}
