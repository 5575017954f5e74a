import Foundation
import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

func producerConfig(lingerMilliseconds: Int = 0, batchBytesMax: Int = 256 << 10, syncOnFlush: Bool = true) -> ProducerConfig {
    var config = ProducerConfig()
    config.lingerMilliseconds = lingerMilliseconds
    config.batchBytesMax = batchBytesMax
    config.syncOnFlush = syncOnFlush
    return config
}

@Suite struct ProducerTests {
    @Test(arguments: [1, 3, 7, 16])
    func keyedRecordsGoWhereKafkasPartitionerSends(partitionCount: Int) throws {
        let log = try openLog(SimulatedDisk(seed: 91), clock: makeClock())
        defer { log.close() }
        let topic = try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: partitionCount))
        let producer = LogProducer(log: log, config: producerConfig())
        var expected: [PartitionID: [String]] = [:]
        for index in 0..<200 {
            let key = "customer-\(index * 7919 % 1000)"
            let partition = Murmur2Partitioner.partition(forKey: Array(key.utf8), partitionCount: partitionCount)
            let metadata = try producer.send(topic: topicName("t"), key: Array(key.utf8), value: Array("v\(index)".utf8)).wait()
            #expect(metadata.topicPartition == TopicPartition(topicName("t"), partition), "key \(key)")
            #expect(metadata.offset == Offset(Int64(expected[partition, default: []].count)))
            expected[partition, default: []].append(key)
        }
        for partition in try topic.partitions {
            let keys = try readAll(partition).map { String(decoding: $0.record.key!, as: UTF8.self) }
            #expect(keys == expected[partition.topicPartition.partition, default: []])
        }
        // The same key always lands in the same partition; an empty key is a key too.
        let empty = try producer.send(topic: topicName("t"), key: [], value: nil).wait()
        #expect(empty.topicPartition.partition == Murmur2Partitioner.partition(forKey: [], partitionCount: partitionCount))
    }

    /// Keyless records must spread over the partitions in whole batches (the producer's doc:
    /// "keyless records stick to one partition until its batch is appended, then move to the
    /// next"), also when every send appends its batch at once.
    @Test(arguments: [0, 60_000])
    func keylessRecordsSpreadOverPartitions(lingerMilliseconds: Int) throws {
        let log = try openLog(SimulatedDisk(seed: 92), clock: makeClock())
        defer { log.close() }
        let topic = try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 3))
        let producer = LogProducer(log: log, config: producerConfig(lingerMilliseconds: lingerMilliseconds))
        var used = Set<PartitionID>()
        for round in 0..<12 {
            var pending: [PendingRecord] = []
            for index in 0..<5 { pending.append(try producer.send(topic: topicName("t"), key: nil, value: Array("r\(round).\(index)".utf8))) }
            try producer.flush()
            for record in pending { used.insert(try #require(record.result).get().topicPartition.partition) }
        }
        #expect(used.count > 1, "60 keyless records in 12 flushed batches all went to partition \(used.sorted())")
        #expect(try topic.partitions.reduce(0) { $0 + (try readAll($1).count) } == 60)
    }

    @Test func keylessRecordsMoveOnWhenABatchFills() throws {
        let log = try openLog(SimulatedDisk(seed: 93), clock: makeClock())
        defer { log.close() }
        let topic = try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 3))
        let producer = LogProducer(log: log, config: producerConfig(lingerMilliseconds: 60_000, batchBytesMax: 600))
        var pending: [PendingRecord] = []
        for index in 0..<60 { pending.append(try producer.send(topic: topicName("t"), key: nil, value: Array(String(repeating: "v", count: 50 + index % 3).utf8))) }
        try producer.flush()
        let partitions = try pending.map { try #require($0.result).get().topicPartition.partition }
        #expect(Set(partitions).count == 3)
        // Consecutive records share a partition in runs (whole batches), not one by one.
        let switches = zip(partitions, partitions.dropFirst()).filter { $0 != $1 }.count
        #expect(switches < 20)
        #expect(try topic.partitions.reduce(0) { $0 + (try readAll($1).count) } == 60)
    }

    @Test func batchesAreCutBySize() throws {
        let log = try openLog(SimulatedDisk(seed: 94), clock: makeClock())
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let producer = LogProducer(log: log, config: producerConfig(lingerMilliseconds: 60_000, batchBytesMax: 1_000))
        var pending: [PendingRecord] = []
        var values: [String] = []
        for index in 0..<50 {
            let value = "value-\(index)-" + String(repeating: "x", count: 80)
            values.append(value)
            pending.append(try producer.send(topic: topicName("t"), key: Array("k".utf8), value: Array(value.utf8),
                                             timestamp: Timestamp(milliseconds: clockStart + Int64(index)), partition: 0))
        }
        // Full batches went out as the next record did not fit; the last one waits for its linger.
        #expect(pending.last?.result == nil)
        #expect(pending.first?.result != nil)
        #expect(partition.logEndOffset > 0)
        try producer.flush()
        let offsets = try pending.map { try #require($0.result).get().offset.rawValue }
        #expect(offsets == Array(0..<50))
        let headers = try readHeaders(partition)
        #expect(headers.count >= 5)
        #expect(headers.allSatisfy { $0.totalSizeBytes <= 1_000 }, "\(headers.map(\.totalSizeBytes))")
        #expect(try readAll(partition).map { String(decoding: $0.record.value!, as: UTF8.self) } == values)
        #expect(try readAll(partition).map(\.record.timestamp) == (0..<50).map { clockStart + Int64($0) })
    }

    @Test func lingerZeroAppendsEverySendAtOnce() throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 95), clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let producer = LogProducer(log: log, config: producerConfig())
        for index in 0..<10 {
            clock.advance(byMilliseconds: 3)
            let pending = try producer.send(topic: topicName("t"), key: Array("k".utf8), value: [UInt8(index)])
            let result = try #require(pending.result).get()
            #expect(result.offset == Offset(Int64(index)))
            #expect(result.timestamp == clock.now(), "the default timestamp is the engine clock's")
            #expect(partition.logEndOffset == Offset(Int64(index + 1)))
        }
        #expect(try readHeaders(partition).count == 10)
    }

    /// Linger runs on the engine clock: a batch waits while the simulated clock stands still and
    /// goes once it has moved past the linger time.
    @Test func lingerExpiresOnTheEngineClock() throws {
        let clock = makeClock()
        let log = try openLog(SimulatedDisk(seed: 96), clock: clock)
        defer { log.close() }
        let partition = try log.createTopic(topicName("t"), config: TopicConfig()).partition(0)
        let producer = LogProducer(log: log, config: producerConfig(lingerMilliseconds: 20))
        let pending = try producer.send(topic: topicName("t"), key: Array("k".utf8), value: Array("v".utf8))
        Thread.sleep(forTimeInterval: 0.1)
        #expect(pending.result == nil, "appended although the engine clock did not move")
        clock.advance(byMilliseconds: 25)
        let deadline = Date().addingTimeInterval(5)
        while pending.result == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try #require(pending.result).get().offset == 0)
        #expect(partition.logEndOffset == 1)
        try producer.close()
    }

    @Test func waitAndFlushMakeRecordsDurable() throws {
        let disk = SimulatedDisk(seed: 97)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 2))
        let producer = LogProducer(log: log, config: producerConfig(lingerMilliseconds: 60_000))
        let first = try producer.send(topic: topicName("t"), key: nil, value: Array("one".utf8), partition: 0)
        let metadata = try first.wait()
        #expect(metadata.offset == 0)
        for index in 0..<5 { try producer.send(topic: topicName("t"), key: nil, value: Array("p1-\(index)".utf8), partition: 1) }
        try producer.flush()
        disk.crash()
        disk.restart()
        let reopened = try openLog(disk, clock: clock)
        defer { reopened.close() }
        #expect(try readAll(reopened.partition(TopicPartition(topicName("t"), 0))).count == 1)
        #expect(try readAll(reopened.partition(TopicPartition(topicName("t"), 1))).count == 5)
    }

    @Test func sendErrors() throws {
        let log = try openLog(SimulatedDisk(seed: 98), clock: makeClock())
        defer { log.close() }
        try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 2, batchBytesMax: 1_000))
        let producer = LogProducer(log: log, config: producerConfig())
        #expect(logErrorCode { try producer.send(topic: topicName("missing"), key: nil, value: [1]) } == .unknownTopic)
        #expect(logErrorCode { try producer.send(topic: topicName("t"), key: nil, value: [1], partition: 2) } == .invalidPartition)
        #expect(logErrorCode { try producer.send(topic: topicName("t"), key: nil, value: [1], partition: -1) } == .invalidPartition)
        let tooLarge = logError { try producer.send(topic: topicName("t"), key: nil, value: Array(repeating: 1, count: 1_000)) }
        #expect(tooLarge?.code == .recordTooLarge)
        #expect(try producer.send(topic: topicName("t"), key: nil, value: Array(repeating: 1, count: 800), partition: 0).wait().offset == 0)
        try producer.close()
        #expect(logErrorCode { try producer.send(topic: topicName("t"), key: nil, value: [1]) } == .closed)
    }
}
