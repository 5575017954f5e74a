import LogStorage
import RecordFormat
import Simulation
import StreamCore
import Testing

func consumerConfig(group: String? = nil, member: String? = nil, reset: OffsetResetPolicy = .earliest) -> ConsumerConfig {
    var config = ConsumerConfig(groupID: group)
    config.autoOffsetReset = reset
    if let member { config.memberID = member }
    return config
}

@Suite struct ConsumerTests {
    static let topic = topicName("t")
    static func tp(_ partition: Int32) -> TopicPartition { TopicPartition(topic, PartitionID(partition)) }

    /// Four partitions, partition p holding `count` records valued "p<p>-<i>" at timestamps
    /// clockStart + 10·i.
    static func fill(_ log: LogManager, partitions: Int = 4, count: Int = 10) throws {
        let created = try log.createTopic(topic, config: TopicConfig(partitionCount: partitions))
        for partition in try created.partitions {
            let p = partition.topicPartition.partition.rawValue
            for index in 0..<count {
                try partition.append(makeBatch([TestRecord(key: "k\(index)", value: "p\(p)-\(index)", timestamp: clockStart + Int64(10 * index))]))
            }
            try partition.sync()
        }
    }

    @Test func assignedPartitionsArePolledInOrderWithinTheLimit() throws {
        let log = try openLog(SimulatedDisk(seed: 101), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 2, count: 25)
        let consumer = LogConsumer(log: log, config: consumerConfig())
        try consumer.assign([Self.tp(1), Self.tp(0)])
        #expect(consumer.assignment == [Self.tp(0), Self.tp(1)])
        var seen: [TopicPartition: [Int64]] = [:]
        var polls = 0
        while true {
            let records = try consumer.poll(maxRecords: 7)
            if records.isEmpty { break }
            polls += 1
            #expect(records.count <= 7)
            for record in records { seen[record.topicPartition, default: []].append(record.offset.rawValue) }
        }
        #expect(polls >= 8)
        #expect(seen[Self.tp(0)] == Array(0..<25) && seen[Self.tp(1)] == Array(0..<25))
        #expect(try consumer.position(Self.tp(0)) == 25)
        // A new record shows up at the next poll.
        try log.partition(Self.tp(1)).append(makeBatch([TestRecord(key: "n", value: "new", timestamp: clockStart)]))
        #expect(try consumer.poll().map(\.offset) == [25])
        #expect(logErrorCode { try consumer.assign([TopicPartition(topicName("nope"), 0)]) } == .unknownTopic)
    }

    @Test func membersOfAGroupSplitThePartitionsAndRebalanceOnLeave() throws {
        let log = try openLog(SimulatedDisk(seed: 102), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 5)
        let a = LogConsumer(log: log, config: consumerConfig(group: "g", member: "member-a"))
        let b = LogConsumer(log: log, config: consumerConfig(group: "g", member: "member-b"))
        try a.subscribe([Self.topic])
        #expect(a.assignment.count == 5)
        try b.subscribe([Self.topic])
        // Kafka's range assignor: sorted members, the first ones take one extra.
        #expect(a.assignment == [Self.tp(0), Self.tp(1), Self.tp(2)])
        #expect(b.assignment == [Self.tp(3), Self.tp(4)])
        let fromA = try a.poll()
        let fromB = try b.poll()
        #expect(Set(fromA.map(\.topicPartition)) == Set([0, 1, 2].map(Self.tp)))
        #expect(Set(fromB.map(\.topicPartition)) == Set([3, 4].map(Self.tp)))
        #expect(fromA.count + fromB.count == 50)
        #expect(log.groups.members(of: "g") == ["member-a", "member-b"])

        b.close()
        #expect(a.assignment.count == 5)
        #expect(log.groups.members(of: "g") == ["member-a"])
        // A's positions in the partitions it kept survive the rebalance; B's partitions start
        // from the reset policy (nothing was committed).
        #expect(try a.position(Self.tp(0)) == 10)
        #expect(try a.poll().count == 20)
    }

    @Test func aStaleGenerationCannotCommit() throws {
        let log = try openLog(SimulatedDisk(seed: 103), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 2)
        let a = LogConsumer(log: log, config: consumerConfig(group: "g", member: "a"))
        try a.subscribe([Self.topic])
        _ = try a.poll()
        try a.commit()
        #expect(a.committed(Self.tp(0)) == 10)
        let b = LogConsumer(log: log, config: consumerConfig(group: "g", member: "b"))
        try b.subscribe([Self.topic])
        let error = logError { try a.commit([Self.tp(0): 3]) }
        #expect(error?.code == .groupMembership)
        #expect(a.committed(Self.tp(0)) == 10, "a refused commit changed the committed offset")
        // After learning the new generation the member may commit again.
        _ = a.assignment
        try a.commit([Self.tp(0): 4])
        #expect(a.committed(Self.tp(0)) == 4)
        // Committing needs a group.
        let loner = LogConsumer(log: log, config: consumerConfig())
        try loner.assign([Self.tp(0)])
        #expect(logErrorCode { try loner.commit() } == .groupMembership)
        #expect(logErrorCode { try loner.subscribe([Self.topic]) } == .groupMembership)
    }

    @Test func committedOffsetsSurviveAReopenInConsumerOffsets() throws {
        let disk = SimulatedDisk(seed: 104)
        let clock = makeClock()
        var options = smallOptions()
        options.offsetsTopicPartitions = 8
        var log = try openLog(disk, clock: clock, options: options)
        try Self.fill(log, partitions: 2)
        let consumer = LogConsumer(log: log, config: consumerConfig(group: "billing", member: "m"))
        try consumer.assign([Self.tp(0), Self.tp(1)])
        _ = try consumer.poll(maxRecords: 13)
        let positions = [try consumer.position(Self.tp(0)), try consumer.position(Self.tp(1))]
        #expect(positions.map(\.rawValue).reduce(0, +) == 13)
        try consumer.commit()
        // Durable without a close: the commit synced.
        disk.crash()
        disk.restart()
        log = try openLog(disk, clock: clock, options: options)
        defer { log.close() }
        #expect(log.offsets.committed(group: "billing", Self.tp(0))?.offset == positions[0])
        #expect(log.offsets.committed(group: "billing", Self.tp(1))?.offset == positions[1])
        #expect(log.offsets.committed(group: "billing", Self.tp(1))?.commitTimestamp == clock.now())
        #expect(log.offsets.groupNames() == ["billing"])
        let next = LogConsumer(log: log, config: consumerConfig(group: "billing", member: "m2", reset: .none))
        try next.assign([Self.tp(0), Self.tp(1)])
        #expect(try next.position(Self.tp(0)) == positions[0])
        #expect(try next.poll().count == 20 - 13)

        // Stored in Kafka's format, in the partition Kafka would choose for the group.
        let index = ConsumerOffsets.partitionIndex(forGroup: "billing", partitionCount: 8)
        #expect(index == Int32(abs(Int("billing".utf16.reduce(Int32(0)) { $0 &* 31 &+ Int32($1) })) % 8))
        let stored = try readAll(log.partition(TopicPartition(ConsumerOffsets.topicName, PartitionID(index))))
        let decoded = stored.compactMap { record in record.record.key.flatMap(ConsumerOffsets.decodeKey) }
        #expect(decoded.contains { $0.0 == "billing" && $0.1 == Self.tp(0) })
        let values = stored.compactMap { $0.record.value.flatMap(ConsumerOffsets.decodeValue) }
        #expect(values.map(\.offset).sorted() == positions.sorted())
        #expect(stored.first?.record.key.map { Array($0.prefix(2)) } == [0, 1], "key version 1")
        #expect(stored.first?.record.value.map { Array($0.prefix(2)) } == [0, 3], "value version 3")
        // Java's String.hashCode for a known value, as Kafka computes the group's partition.
        #expect(ConsumerOffsets.partitionIndex(forGroup: "test", partitionCount: 8) == 3556498 % 8)
        #expect(ConsumerOffsets.partitionIndex(forGroup: "test", partitionCount: 50) == 3556498 % 50)
    }

    @Test(arguments: OffsetResetPolicy.allCases)
    func autoOffsetResetWithoutACommittedOffset(policy: OffsetResetPolicy) throws {
        let log = try openLog(SimulatedDisk(seed: 105), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 1)
        let consumer = LogConsumer(log: log, config: consumerConfig(group: "fresh", reset: policy))
        try consumer.assign([Self.tp(0)])
        switch policy {
        case .earliest:
            #expect(try consumer.poll().map(\.offset.rawValue) == Array(0..<10))
        case .latest:
            #expect(try consumer.poll().isEmpty)
            try log.partition(Self.tp(0)).append(makeBatch([TestRecord(key: "k", value: "later", timestamp: clockStart)]))
            #expect(try consumer.poll().map(\.offset) == [10])
        case .none:
            let error = logError { try consumer.poll() }
            #expect(error?.code == .offsetOutOfRange)
            try consumer.seek(Self.tp(0), to: .offset(4))
            #expect(try consumer.poll().first?.offset == 4)
        }
    }

    @Test func seekByTimestampOffsetAndEnds() throws {
        let log = try openLog(SimulatedDisk(seed: 106), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 1)  // offset i at clockStart + 10·i
        let consumer = LogConsumer(log: log, config: consumerConfig())
        try consumer.assign([Self.tp(0)])
        for (stamp, offset) in [(Int64(-100), Int64(0)), (0, 0), (1, 1), (35, 4), (90, 9), (91, 10), (10_000, 10)] {
            try consumer.seek(Self.tp(0), to: .timestamp(Timestamp(milliseconds: clockStart + stamp)))
            #expect(try consumer.position(Self.tp(0)) == Offset(offset), "timestamp +\(stamp)")
        }
        try consumer.seek(Self.tp(0), to: .timestamp(Timestamp(milliseconds: clockStart + 35)))
        #expect(try consumer.poll().map(\.offset.rawValue) == Array(4..<10))
        try consumer.seek(Self.tp(0), to: .earliest)
        #expect(try consumer.poll(maxRecords: 1).first?.offset == 0)
        try consumer.seek(Self.tp(0), to: .latest)
        #expect(try consumer.poll().isEmpty)
        try consumer.seek(Self.tp(0), to: .offset(10))
        let error = logError { try consumer.seek(Self.tp(0), to: .offset(11)) }
        #expect(error?.code == .offsetOutOfRange)
        #expect(error?.message.contains("latest 10") == true)
        #expect(logErrorCode { try consumer.seek(Self.tp(0), to: .offset(-1)) } == .offsetOutOfRange)
        try consumer.seekAll(to: .earliest)
        #expect(try consumer.position(Self.tp(0)) == 0)
    }

    @Test func lagCountsFromThePositionOrTheCommittedOffset() throws {
        let log = try openLog(SimulatedDisk(seed: 107), clock: makeClock())
        defer { log.close() }
        try Self.fill(log, partitions: 2)
        let consumer = LogConsumer(log: log, config: consumerConfig(group: "g"))
        try consumer.assign([Self.tp(0), Self.tp(1)])
        #expect(try consumer.lag() == [Self.tp(0): 10, Self.tp(1): 10])
        try consumer.seek(Self.tp(0), to: .offset(4))
        try consumer.seek(Self.tp(1), to: .latest)
        #expect(try consumer.lag() == [Self.tp(0): 6, Self.tp(1): 0])
        try consumer.commit()
        let other = LogConsumer(log: log, config: consumerConfig(group: "g", reset: .none))
        try other.assign([Self.tp(0), Self.tp(1)])
        #expect(try other.lag() == [Self.tp(0): 6, Self.tp(1): 0])
        try log.partition(Self.tp(1)).append(makeBatch(makeRecords("x", count: 3, timestamp: clockStart)))
        #expect(try other.lag()[Self.tp(1)] == 3)
    }

    @Test func deletedGroupsStayDeletedAndCompactionKeepsTheLatestCommits() throws {
        let disk = SimulatedDisk(seed: 108)
        let clock = makeClock()
        var log = try openLog(disk, clock: clock)
        try Self.fill(log, partitions: 2)
        for offset in 1...5 { try log.offsets.commit(group: "keep", offsets: [Self.tp(0): CommittedOffset(offset: Offset(Int64(offset)), metadata: "m\(offset)")]) }
        try log.offsets.commit(group: "drop", offsets: [Self.tp(0): CommittedOffset(offset: 7), Self.tp(1): CommittedOffset(offset: 8)])
        try log.offsets.deleteGroup("drop")
        #expect(log.offsets.committedOffsets(group: "drop").isEmpty)
        let offsetsPartition = try log.partition(TopicPartition(ConsumerOffsets.topicName, 0))
        try offsetsPartition.rollNow()
        try offsetsPartition.compact()
        #expect(log.offsets.groupNames() == ["keep"])
        log.close()
        log = try openLog(disk, clock: clock)
        defer { log.close() }
        #expect(log.offsets.groupNames() == ["keep"])
        #expect(log.offsets.committed(group: "keep", Self.tp(0))?.offset == 5)
        #expect(log.offsets.committed(group: "keep", Self.tp(0))?.metadata == "m5")
        #expect(log.offsets.committed(group: "drop", Self.tp(1)) == nil)
    }
}
