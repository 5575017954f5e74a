import Foundation
import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

@Suite struct TopicTests {
    @Test func createListDeleteAndRecreate() throws {
        let disk = SimulatedDisk(seed: 51)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        #expect(log.topicNames() == [])
        #expect(log.topicNames(includeInternal: true) == [ConsumerOffsets.topicName])
        try log.createTopic(topicName("orders"), config: TopicConfig(partitionCount: 3))
        try log.createTopic(topicName("audit.v1"), config: TopicConfig())
        try log.createTopic(topicName("Z_last-1"), config: TopicConfig())
        #expect(log.topicNames().map(\.rawValue) == ["Z_last-1", "audit.v1", "orders"])
        #expect(try log.topic(named: "orders").partitionCount == 3)
        #expect(disk.isDirectory("\(dataDirectory)/topics/orders/2"))
        let partition = try log.partition(TopicPartition(topicName("orders"), 2))
        try partition.append(makeBatch(makeRecords("a", count: 3, timestamp: clockStart)))

        try log.deleteTopic(topicName("orders"))
        #expect(!log.hasTopic(topicName("orders")))
        #expect(log.topicNames().map(\.rawValue) == ["Z_last-1", "audit.v1"])
        #expect(!disk.exists("\(dataDirectory)/topics/orders"))
        #expect(try disk.listDirectory("\(dataDirectory)/topics").allSatisfy { !$0.hasPrefix(".") })
        #expect(logErrorCode { try log.topic(topicName("orders")) } == .unknownTopic)
        #expect(logErrorCode { try log.deleteTopic(topicName("orders")) } == .unknownTopic)
        #expect(logErrorCode { try log.partition(TopicPartition(topicName("orders"), 0)) } == .unknownTopic)

        // A new topic of the same name starts empty.
        let again = try log.createTopic(topicName("orders"), config: TopicConfig(partitionCount: 1))
        #expect(try again.partition(0).logEndOffset == 0)
        #expect(again.partitionCount == 1)
    }

    @Test(arguments: ["", ".", "..", "a/b", "a b", "tab\t", "é", "日本", String(repeating: "x", count: 250), "../escape", "a\u{0}b"])
    func invalidNamesAreRefused(name: String) throws {
        let log = try openLog(SimulatedDisk(seed: 52), clock: makeClock())
        defer { log.close() }
        #expect(TopicName(rawValue: name) == nil)
        let error = logError { try log.topic(named: name) }
        #expect(error?.code == .invalidTopicName)
    }

    @Test func legalNamesAtTheEdges() throws {
        let log = try openLog(SimulatedDisk(seed: 53), clock: makeClock())
        defer { log.close() }
        for name in [String(repeating: "x", count: TopicName.lengthMax), "a", "A.b_c-9", "..."] {
            #expect(logErrorCode { try log.topic(named: name) } == .unknownTopic, "\(name)")
            try log.createTopic(topicName(name), config: TopicConfig())
            #expect(try log.topic(named: name).name.rawValue == name)
        }
    }

    /// Kafka allows topic names that begin with a dot; the data directory must not mistake
    /// them for its own staging directories and delete them on open.
    @Test func topicsWhoseNamesStartWithADotSurviveAReopen() throws {
        try Self.checkTopicSurvivesAReopen(".hidden")
    }

    @Test(arguments: [".creating-orders", ".deleting-orders"])
    func topicsNamedLikeStagingDirectoriesSurviveAReopen(name: String) throws {
        try Self.checkTopicSurvivesAReopen(name)
    }

    static func checkTopicSurvivesAReopen(_ name: String) throws {
        let disk = SimulatedDisk(seed: 54)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        let created = Result { try log.createTopic(topicName(name), config: TopicConfig()) }
        guard case .success(let topic) = created else {
            // Refusing such names up front is a fine answer too.
            #expect((try? created.get()) == nil)
            log.close()
            return
        }
        try topic.partition(0).append(makeBatch(makeRecords("a", count: 2, timestamp: clockStart)))
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        #expect(log.hasTopic(topicName(name)), "topic '\(name)' was accepted, then deleted by the next open")
        #expect(try log.topic(topicName(name)).partition(0).logEndOffset == 2)
    }

    @Test func duplicatesAreRefusedAlsoAfterAReopen() throws {
        let disk = SimulatedDisk(seed: 55)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 2))
        let error = logError { try log.createTopic(topicName("t"), config: TopicConfig()) }
        #expect(error?.code == .topicExists)
        #expect(error?.message.contains("'t'") == true)
        #expect(logErrorCode { try log.createTopic(ConsumerOffsets.topicName, config: TopicConfig()) } == .topicExists)
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        #expect(logErrorCode { try log.createTopic(topicName("t"), config: TopicConfig()) } == .topicExists)
        #expect(try log.topic(topicName("t")).partitionCount == 2)
    }

    static let invalidConfigs: [TopicConfig] = [
        TopicConfig(partitionCount: 0),
        TopicConfig(partitionCount: TopicConfig.partitionCountMax + 1),
        TopicConfig(segmentBytesMax: 1023, batchBytesMax: 512),
        TopicConfig(segmentBytesMax: TopicConfig.segmentBytesLimit + 1),
        TopicConfig(segmentBytesMax: 4096, batchBytesMax: 4097),
        TopicConfig(batchBytesMax: 63),
        TopicConfig(segmentAgeMilliseconds: 0),
        TopicConfig(retentionMilliseconds: 0),
        TopicConfig(retentionMilliseconds: -2),
        TopicConfig(retentionBytes: 0),
        TopicConfig(indexIntervalBytes: 0),
    ]

    @Test(arguments: invalidConfigs)
    func invalidConfigsAreRefusedAndLeaveNothing(config: TopicConfig) throws {
        let disk = SimulatedDisk(seed: 56)
        let log = try openLog(disk, clock: makeClock())
        defer { log.close() }
        let error = logError { try log.createTopic(topicName("bad"), config: config) }
        #expect(error?.code == .invalidConfig)
        #expect(!log.hasTopic(topicName("bad")))
        #expect(try disk.listDirectory("\(dataDirectory)/topics") == [ConsumerOffsets.topicName.rawValue])
    }

    @Test func configIsPersistedAndReloaded() throws {
        let disk = SimulatedDisk(seed: 57)
        let clock = makeClock()
        let config = TopicConfig(
            partitionCount: 3, compression: .zstd, segmentBytesMax: 8192, segmentAgeMilliseconds: 90_000,
            retentionMilliseconds: -1, retentionBytes: 1 << 20, cleanupPolicy: .delete, deleteRetentionMilliseconds: 5_000,
            batchBytesMax: 4096, indexIntervalBytes: 128)
        var log = try openLog(disk, clock: clock)
        try log.createTopic(topicName("t"), config: config)
        log.close()
        let json = try #require(disk.currentContents(path: "\(dataDirectory)/topics/t/topic.json"))
        #expect(try JSONDecoder().decode(TopicConfig.self, from: Data(json)) == config)
        #expect(disk.durableContents(path: "\(dataDirectory)/topics/t/topic.json") == json)
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        let topic = try log.topic(topicName("t"))
        #expect(topic.config == config)
        #expect(try topic.partitions.allSatisfy { $0.config == config })
    }

    @Test func unreadableConfigFailsTheOpenWithItsPath() throws {
        let disk = SimulatedDisk(seed: 58)
        let clock = makeClock()
        let log = try openLog(disk, clock: clock)
        try log.createTopic(topicName("t"), config: TopicConfig())
        log.close()
        let path = "\(dataDirectory)/topics/t/topic.json"
        disk.corruptByte(path: path, position: 0, xor: 0xFF)
        let error = logError { try openLog(disk, clock: clock) }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.contains(path) == true, "\(error?.message ?? "")")
        // The failed open released the directory lock.
        disk.corruptByte(path: path, position: 0, xor: 0xFF)
        try openLog(disk, clock: clock).close()
    }

    @Test func internalTopicsCannotBeDeleted() throws {
        let log = try openLog(SimulatedDisk(seed: 59), clock: makeClock())
        defer { log.close() }
        #expect(logErrorCode { try log.deleteTopic(ConsumerOffsets.topicName) } == .invalidConfig)
        #expect(log.hasTopic(ConsumerOffsets.topicName))
        #expect(try log.topic(ConsumerOffsets.topicName).config.cleanupPolicy == .compact)
    }

    @Test(arguments: [Int32(-1), 3, 100])
    func invalidPartitionsAreRefused(partition: Int32) throws {
        let log = try openLog(SimulatedDisk(seed: 60), clock: makeClock())
        defer { log.close() }
        try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 3))
        let error = logError { try log.partition(TopicPartition(topicName("t"), PartitionID(partition))) }
        #expect(error?.code == .invalidPartition)
        #expect(error?.message.contains("3") == true)
    }

    /// A crash at every operation of a topic creation: after reopening, the topic is either
    /// absent or whole; never half there, never leftovers.
    @Test func crashDuringCreationLeavesNoHalfTopic() throws {
        let config = TopicConfig(partitionCount: 3, compression: .lz4, segmentBytesMax: 4096, batchBytesMax: 4096)
        let probe = SimulatedDisk(seed: 61)
        let probeLog = try openLog(probe, clock: makeClock())
        let start = probe.mutatingOperationCount
        try probeLog.createTopic(topicName("t"), config: config)
        let operationCount = probe.mutatingOperationCount - start
        probeLog.close()
        var failures: [String] = []
        var sawAbsent = false, sawPresent = false
        for point in 0..<operationCount {
            let disk = SimulatedDisk(seed: UInt64(point), faults: .init(tornWrites: true))
            let clock = makeClock()
            let log = try openLog(disk, clock: clock)
            disk.crash(afterOperations: point)
            let created = logError { try log.createTopic(topicName("t"), config: config) } == nil
            let context = "crash point \(point) at \(disk.lastCrashOperation.map(String.init(describing:)) ?? "?")"
            disk.restart()
            let reopened: LogManager
            do { reopened = try openLog(disk, clock: clock) } catch { failures.append("\(context): reopen failed: \(error)"); continue }
            defer { reopened.close() }
            let names = try disk.listDirectory("\(dataDirectory)/topics")
            if names.contains(where: { $0.hasPrefix(".") }) { failures.append("\(context): leftovers \(names)") }
            guard reopened.hasTopic(topicName("t")) else {
                sawAbsent = true
                if created { failures.append("\(context): created, then gone") }
                if names.contains("t") { failures.append("\(context): a directory without a topic") }
                continue
            }
            sawPresent = true
            let topic = try reopened.topic(topicName("t"))
            if topic.config != config || topic.partitionCount != 3 { failures.append("\(context): config \(topic.config)") }
            for partition in try topic.partitions {
                if partition.logEndOffset != 0 { failures.append("\(context): \(partition.topicPartition) not empty") }
                _ = try partition.append(makeBatch(makeRecords("x", count: 1, timestamp: clockStart)))
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(6).joined(separator: "\n"))")
        #expect(sawAbsent && sawPresent)
    }

    /// A crash at every operation of a topic deletion: after reopening the topic is either whole
    /// with its data, or gone; never leftovers.
    @Test func crashDuringDeletionLeavesAWholeTopicOrNone() throws {
        func build(_ disk: SimulatedDisk, _ clock: SimulatedClock) throws -> (LogManager, [PlacedRecord]) {
            let log = try openLog(disk, clock: clock)
            let topic = try log.createTopic(topicName("t"), config: TopicConfig(partitionCount: 2, segmentBytesMax: 1024, batchBytesMax: 1024))
            var batches: [[TestRecord]] = []
            for index in 0..<6 {
                let records = makeRecords("d\(index)", count: 2, timestamp: clockStart, valueBytes: 200)
                try topic.partition(1).append(makeBatch(records))
                batches.append(records)
            }
            try topic.partition(1).sync()
            return (log, placed(batches))
        }
        let probe = SimulatedDisk(seed: 62)
        let (probeLog, _) = try build(probe, makeClock())
        let start = probe.mutatingOperationCount
        try probeLog.deleteTopic(topicName("t"))
        let operationCount = probe.mutatingOperationCount - start
        probeLog.close()
        var failures: [String] = []
        for point in 0..<operationCount {
            let disk = SimulatedDisk(seed: UInt64(point))
            let clock = makeClock()
            let (log, records) = try build(disk, clock)
            disk.crash(afterOperations: point)
            _ = logError { try log.deleteTopic(topicName("t")) }
            let context = "crash point \(point) at \(disk.lastCrashOperation.map(String.init(describing:)) ?? "?")"
            disk.restart()
            let reopened = try openLog(disk, clock: clock)
            defer { reopened.close() }
            let names = try disk.listDirectory("\(dataDirectory)/topics")
            if names.contains(where: { $0.hasPrefix(".") }) { failures.append("\(context): leftovers \(names)") }
            if reopened.hasTopic(topicName("t")) {
                let partition = try reopened.partition(TopicPartition(topicName("t"), 1))
                if try readAll(partition) != records { failures.append("\(context): the surviving topic lost data") }
            } else if names.contains("t") {
                failures.append("\(context): a directory without a topic")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(6).joined(separator: "\n"))")
    }

    @Test func theDirectoryLockNamesItsOwnerOnTheSimulatedDisk() throws {
        let disk = SimulatedDisk(seed: 63)
        let clock = makeClock()
        let first = try openLog(disk, clock: clock, options: smallOptions(owner: "first-owner"))
        let error = logError { try openLog(disk, clock: clock, options: smallOptions(owner: "second-owner")) }
        #expect(error?.code == .locked)
        #expect(error?.message.contains("first-owner") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("pid") == true)
        #expect(error?.message.contains(dataDirectory) == true)
        #expect(error?.storageError?.code == .locked)
        first.close()
        let second = try openLog(disk, clock: clock, options: smallOptions(owner: "second-owner"))
        second.close()
        // Another directory on the same disk is independent.
        let other = try openLog(disk, clock: clock, directory: "/other")
        other.close()
    }

    /// The same on real files: a second open in this process conflicts on the `flock`, and the
    /// data written through POSIXStorage reads back after a reopen.
    @Test func theDirectoryLockNamesItsOwnerOnRealFiles() throws {
        let directory = makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let clock = makeClock()
        let first = try openLog(POSIXStorage(), clock: clock, directory: directory, options: smallOptions(owner: "posix-owner"))
        let partition = try first.createTopic(topicName("t"), config: TopicConfig(segmentBytesMax: 1024, batchBytesMax: 1024)).partition(0)
        let batches = (0..<8).map { makeRecords("p\($0)", count: 2, timestamp: clockStart, valueBytes: 150) }
        for (index, batch) in batches.enumerated() { try partition.append(makeBatch(batch, codec: index % 2 == 0 ? .none : .zstd)) }
        try partition.sync()
        let error = logError { try openLog(POSIXStorage(), clock: clock, directory: directory) }
        #expect(error?.code == .locked)
        #expect(error?.message.contains("posix-owner") == true, "\(error?.message ?? "")")
        first.close()
        let second = try openLog(POSIXStorage(), clock: clock, directory: directory)
        defer { second.close() }
        let reopened = try second.partition(TopicPartition(topicName("t"), 0))
        #expect(try readAll(reopened) == placed(batches))
        #expect(reopened.segmentCount > 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/topics/t/0")
        #expect(files.contains("00000000000000000000.log"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/.lock"))
    }
}

extension TopicConfig: CustomTestStringConvertible {
    public var testDescription: String {
        "partitions \(partitionCount), segment \(segmentBytesMax), batch \(batchBytesMax), age \(segmentAgeMilliseconds), retention \(retentionMilliseconds) ms / \(retentionBytes) B, index \(indexIntervalBytes)"
    }
}
