package import StreamCore

/// A topic: its name, its persisted configuration and its partitions, each opened on first use.
///
/// Opening a data directory reads only each topic's `topic.json`; a partition's segments,
/// indexes and producer state are opened (and, after an unclean shutdown, recovered) the first
/// time ``partition(_:)`` or ``partitions`` asks for it, so a command pays for what it touches.
/// One process owns the data directory, so recovering a partition at its first use is as safe as
/// recovering it at open: nothing has read or written it before.
///
/// - Invariant: each partition is opened at most once, and nothing sees it before its opening
///   (recovery and its first maintenance) is complete.
/// - Invariant: after ``close()`` no partition is opened any more.
/// Thread-safety: safe from any thread; opening one partition does not wait for another's.
package final class Topic: @unchecked Sendable {
    package let name: TopicName
    package let config: TopicConfig
    package let directory: String
    /// Opens (and recovers) one partition; called at most once per partition.
    private let openPartition: @Sendable (PartitionID) throws(LogError) -> PartitionLog
    private let slots: [Slot]

    /// One partition's place: the log once opened, under its own lock.
    private final class Slot: @unchecked Sendable {
        let lock = Lock()
        var log: PartitionLog?
        var isClosed = false
    }

    convenience init(name: TopicName, config: TopicConfig, directory: String,
         openPartition: @escaping @Sendable (PartitionID) throws(LogError) -> PartitionLog) {
        self.init(name: name, config: config, directory: directory, slots: (0..<config.partitionCount).map { _ in Slot() },
                  openPartition: openPartition)
    }

    private init(name: TopicName, config: TopicConfig, directory: String, slots: [Slot],
                 openPartition: @escaping @Sendable (PartitionID) throws(LogError) -> PartitionLog) {
        self.name = name
        self.config = config
        self.directory = directory
        self.openPartition = openPartition
        self.slots = slots
    }

    /// This topic grown to `config`'s larger partition count (CreatePartitions): the partitions
    /// it has keep their places, opened or not, and the new ones open on first use; every
    /// partition not opened yet opens with `openPartition` (the new configuration).
    func grown(to config: TopicConfig, openPartition: @escaping @Sendable (PartitionID) throws(LogError) -> PartitionLog) -> Topic {
        precondition(config.partitionCount >= slots.count, "a topic only grows")
        let added = (slots.count..<config.partitionCount).map { _ in Slot() }
        return Topic(name: name, config: config, directory: directory, slots: slots + added, openPartition: openPartition)
    }

    /// The partitions opened so far; opens none.
    var openedPartitions: [PartitionLog] {
        slots.compactMap { slot in
            slot.lock.lock(); defer { slot.lock.unlock() }
            return slot.log
        }
    }

    /// The partition with this id, opened (and recovered) on first use.
    /// - Throws: `.invalidPartition`; `.closed` after the topic was closed or deleted; whatever
    ///   opening the partition throws (it is then retried by the next call).
    package func partition(_ id: PartitionID) throws(LogError) -> PartitionLog {
        guard id.rawValue >= 0, Int(id.rawValue) < slots.count else {
            throw LogError(.invalidPartition, "topic '\(name)' has no partition \(id) (it has \(slots.count))")
        }
        let slot = slots[Int(id.rawValue)]
        slot.lock.lock(); defer { slot.lock.unlock() }
        if let log = slot.log { return log }
        if slot.isClosed { throw LogError(.closed, "topic '\(name)' is closed (partition \(id) was never opened)") }
        let log = try openPartition(id)
        slot.log = log
        return log
    }

    /// Every partition, in order, each opened on first use.
    /// - Complexity: opens every partition not opened yet; prefer ``partition(_:)`` or
    ///   ``topicPartitions`` where they are enough.
    package var partitions: [PartitionLog] {
        get throws(LogError) {
            var all: [PartitionLog] = []
            all.reserveCapacity(slots.count)
            for index in slots.indices { all.append(try partition(PartitionID(Int32(index)))) }
            return all
        }
    }

    /// Whether partition `id` was opened; opens nothing.
    package func isOpened(_ id: PartitionID) -> Bool {
        guard id.rawValue >= 0, Int(id.rawValue) < slots.count else { return false }
        let slot = slots[Int(id.rawValue)]
        slot.lock.lock(); defer { slot.lock.unlock() }
        return slot.log != nil
    }

    package var partitionCount: Int { slots.count }

    /// Every partition's name, in order; opens none.
    package var topicPartitions: [TopicPartition] { (0..<slots.count).map { TopicPartition(name, PartitionID($0)) } }

    /// Closes the partitions opened so far (waiting for any being opened), and refuses to open
    /// any other from now on.
    func close() {
        for slot in slots {
            slot.lock.lock()
            slot.isClosed = true
            let log = slot.log
            slot.lock.unlock()
            log?.close()
        }
    }
}
