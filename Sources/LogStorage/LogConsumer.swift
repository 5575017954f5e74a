package import StreamCore
import RecordFormat
import Foundation
import Logging

/// What a consumer does when it has no valid position in a partition (no committed offset, or
/// one outside the partition's range): start at the earliest or latest offset, or fail.
package enum OffsetResetPolicy: String, Sendable, CaseIterable {
    case earliest
    case latest
    case none
}

/// Consumer settings.
package struct ConsumerConfig: Sendable {
    /// The consumer group; needed for ``LogConsumer/subscribe(_:)`` and for committing.
    package var groupID: String?
    package var autoOffsetReset: OffsetResetPolicy = .latest
    /// What to do with a position outside the partition's offsets: a committed offset below the
    /// log start (retention deleted records the group had not read) or past the log end (the log
    /// was cut short), or a position retention overtook while reading. Nil resets by
    /// ``autoOffsetReset``, as Kafka does; `.none` fails with `.offsetOutOfRange`. Every reset is
    /// reported once by ``LogConsumer/takeOffsetResets()``.
    package var outOfRangeReset: OffsetResetPolicy?
    /// The most records one poll returns.
    package var maxPollRecords: Int = 500
    /// About how many bytes one poll reads per partition.
    package var fetchBytesMax: Int = 1 << 20
    /// Read committed data only (below the last stable offset, aborted transactions skipped),
    /// or everything.
    package var isolation: IsolationLevel = .readUncommitted
    /// This member's id within its group.
    package var memberID: String = "consumer-\(UUID().uuidString.prefix(8))"
    package init(groupID: String? = nil) { self.groupID = groupID }
}

/// A record as a consumer sees it.
package struct ConsumerRecord: Sendable, Equatable {
    package var topicPartition: TopicPartition
    package var offset: Offset
    package var timestamp: Timestamp
    package var key: [UInt8]?
    package var value: [UInt8]?
    package var headers: [RecordHeader]
}

/// A position a consumer found outside its partition's offsets, and where it went on from.
package struct OffsetOutOfRange: Sendable, Equatable, CustomStringConvertible {
    package var topicPartition: TopicPartition
    /// The group's committed offset, or the consumer's own position when retention deleted
    /// records under it while it was reading.
    package var offset: Offset
    /// Whether ``offset`` is the group's committed offset.
    package var isCommitted: Bool
    package var logStartOffset: Offset
    package var logEndOffset: Offset
    /// Where the consumer went on from; nil when it failed instead.
    package var resetTo: Offset?

    package init(topicPartition: TopicPartition, offset: Offset, isCommitted: Bool, logStartOffset: Offset, logEndOffset: Offset,
                 resetTo: Offset? = nil) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.isCommitted = isCommitted
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.resetTo = resetTo
    }

    /// Below the log start: the records deleted before they were read. Past the log end: the
    /// records consumed that the log no longer holds.
    package var recordsLost: Int64 {
        offset < logStartOffset ? logStartOffset - offset : offset - logEndOffset
    }

    package var description: String {
        let below = offset < logStartOffset
        return "\(topicPartition): \(isCommitted ? "committed offset" : "position") \(offset) is "
            + (below ? "below the log start" : "past the log end")
            + " (log start \(logStartOffset), log end \(logEndOffset)): \(recordsLost) records "
            + (below ? "were deleted before they were read" : "consumed are no longer in the log")
    }
}

/// Where to move a consumer's position.
package enum SeekTarget: Sendable, Equatable {
    case earliest
    case latest
    case offset(Offset)
    /// The first record whose timestamp is at or after this one (the end when none is).
    case timestamp(Timestamp)
}

/// Reads records from assigned partitions, as one member of a group or standalone.
///
/// With ``subscribe(_:)`` the group coordinator assigns partitions and rebalances when members
/// come and go; with ``assign(_:)`` the caller chooses. Positions start at the group's committed
/// offset, else by ``ConsumerConfig/autoOffsetReset``; a committed offset or position outside the
/// partition's offsets goes by ``ConsumerConfig/outOfRangeReset``, and every such reset is logged
/// as a warning with its numbers and kept for ``takeOffsetResets()``. Control batches
/// (transaction markers) take offsets but are never returned.
///
/// Thread-safety: one owner thread at a time, like Kafka's consumer.
package final class LogConsumer {
    private let log: LogManager
    package let config: ConsumerConfig
    private var assigned: [TopicPartition] = []
    private var positions: [TopicPartition: Offset] = [:]
    private var subscription: Set<TopicName>?
    private var generation: Int32 = -1
    private var nextPartitionIndex = 0
    private var offsetResets: [OffsetOutOfRange] = []

    package init(log: LogManager, config: ConsumerConfig) {
        self.log = log
        self.config = config
    }

    /// The partitions this consumer reads now.
    package var assignment: [TopicPartition] {
        refreshGroupAssignment()
        return assigned
    }

    /// Reads exactly these partitions (no group rebalancing).
    package func assign(_ partitions: [TopicPartition]) throws(LogError) {
        for partition in partitions { _ = try log.partition(partition) }
        leaveGroup()
        subscription = nil
        assigned = partitions.sorted()
        positions = positions.filter { partitions.contains($0.key) }
    }

    /// Joins the consumer group for these topics; partitions are assigned by the coordinator.
    package func subscribe(_ topics: [TopicName]) throws(LogError) {
        guard let group = config.groupID else { throw LogError(.groupMembership, "subscribing needs a consumer group") }
        for topic in topics { _ = try log.topic(topic) }
        subscription = Set(topics)
        let joined = log.groups.join(group: group, memberID: config.memberID, topics: Set(topics), partitionCount: partitionCount)
        apply(joined)
    }

    private func partitionCount(_ topic: TopicName) -> Int {
        (try? log.topic(topic).partitionCount) ?? 0
    }

    private func refreshGroupAssignment() {
        guard subscription != nil, let group = config.groupID,
              let current = log.groups.assignment(group: group, memberID: config.memberID),
              current.generation != generation
        else { return }
        apply(current)
    }

    private func apply(_ assignment: GroupAssignment) {
        generation = assignment.generation
        assigned = assignment.partitions
        positions = positions.filter { assignment.partitions.contains($0.key) }
    }

    // MARK: Positions

    /// The next offset this consumer will read in `partition`, resolving it when unknown.
    package func position(_ partition: TopicPartition) throws(LogError) -> Offset {
        if let position = positions[partition] { return position }
        let resolved = try initialPosition(partition)
        positions[partition] = resolved
        return resolved
    }

    private func initialPosition(_ topicPartition: TopicPartition) throws(LogError) -> Offset {
        let partition = try log.partition(topicPartition)
        if let group = config.groupID, let committed = log.offsets.committed(group: group, topicPartition) {
            if committed.offset >= partition.logStartOffset && committed.offset <= partition.logEndOffset {
                return committed.offset
            }
            return try outOfRange(topicPartition, at: committed.offset, isCommitted: true)
        }
        switch config.autoOffsetReset {
        case .earliest: return partition.logStartOffset
        case .latest: return partition.logEndOffset
        case .none: throw LogError(.offsetOutOfRange, "no committed offset for \(topicPartition) and the reset policy is 'none'")
        }
    }

    /// Resolves a committed offset or position outside the partition's offsets by
    /// ``ConsumerConfig/outOfRangeReset`` (else ``ConsumerConfig/autoOffsetReset``), keeping the
    /// reset for ``takeOffsetResets()``.
    /// - Throws: `.offsetOutOfRange` with every number of ``OffsetOutOfRange`` when the policy
    ///   is `.none`.
    private func outOfRange(_ topicPartition: TopicPartition, at offset: Offset, isCommitted: Bool) throws(LogError) -> Offset {
        let partition = try log.partition(topicPartition)
        var event = OffsetOutOfRange(topicPartition: topicPartition, offset: offset, isCommitted: isCommitted,
                                     logStartOffset: partition.logStartOffset, logEndOffset: partition.logEndOffset)
        let resetTo: Offset
        switch config.outOfRangeReset ?? config.autoOffsetReset {
        case .earliest: resetTo = event.logStartOffset
        case .latest: resetTo = event.logEndOffset
        case .none: throw LogError(.offsetOutOfRange, event.description)
        }
        event.resetTo = resetTo
        offsetResets.append(event)
        log.logger.warning("\(event.description); going on from offset \(resetTo), the log \(resetTo == event.logStartOffset ? "start" : "end")", metadata: [
            "partition": "\(topicPartition)", "group": "\(config.groupID ?? "none")", "recordsLost": "\(event.recordsLost)",
        ])
        return resetTo
    }

    /// The out-of-range positions this consumer reset since the last call, oldest first; each
    /// is returned once.
    package func takeOffsetResets() -> [OffsetOutOfRange] {
        defer { offsetResets = [] }
        return offsetResets
    }

    /// Moves the position in one partition.
    /// - Throws: `.offsetOutOfRange` for an offset outside `earliest...latest`.
    package func seek(_ topicPartition: TopicPartition, to target: SeekTarget) throws(LogError) {
        let partition = try log.partition(topicPartition)
        switch target {
        case .earliest: positions[topicPartition] = partition.logStartOffset
        case .latest: positions[topicPartition] = partition.logEndOffset
        case .offset(let offset):
            guard offset >= partition.logStartOffset, offset <= partition.logEndOffset else {
                throw LogError.offsetOutOfRange(topicPartition, requested: offset, earliest: partition.logStartOffset, latest: partition.logEndOffset)
            }
            positions[topicPartition] = offset
        case .timestamp(let timestamp):
            positions[topicPartition] = try partition.offset(forTimestamp: timestamp) ?? partition.logEndOffset
        }
    }

    /// Moves the position in every assigned partition.
    package func seekAll(to target: SeekTarget) throws(LogError) {
        for partition in assignment { try seek(partition, to: target) }
    }

    // MARK: Poll

    /// Returns the next records of the assigned partitions (at most `maxPollRecords`), visiting
    /// partitions in turn so none starves.
    ///
    /// A partition is read on past markers and aborted transactions, however many fetches of
    /// `fetchBytesMax` that takes, until it yields records or its position reaches its visible
    /// end, so an empty result means every partition was caught up when it was read. Callers
    /// that wait for the end ask ``isCaughtUp`` (positions at the last stable offset), which
    /// stays right when records arrive between two polls.
    package func poll(maxRecords: Int? = nil) throws(LogError) -> [ConsumerRecord] {
        refreshGroupAssignment()
        let limit = maxRecords ?? config.maxPollRecords
        var records: [ConsumerRecord] = []
        guard !assigned.isEmpty else { return records }
        let start = nextPartitionIndex % assigned.count
        nextPartitionIndex += 1
        for step in 0..<assigned.count where records.count < limit {
            let topicPartition = assigned[(start + step) % assigned.count]
            try fetch(topicPartition, into: &records, limit: limit)
        }
        return records
    }

    private func fetch(_ topicPartition: TopicPartition, into records: inout [ConsumerRecord], limit: Int) throws(LogError) {
        let partition = try log.partition(topicPartition)
        var position = try self.position(topicPartition)
        if position < partition.logStartOffset {
            // Retention removed what this consumer had not read yet.
            position = try outOfRange(topicPartition, at: position, isCommitted: false)
        }
        let visibleEnd = config.isolation == .readCommitted ? partition.lastStableOffset : partition.logEndOffset
        // At the last stable offset there is nothing to read; a transaction that damage keeps
        // open there would hold it for ever, which is reported, not waited on.
        if config.isolation == .readCommitted && position >= visibleEnd { try partition.checkStableOffsetResolvable() }
        let countBefore = records.count
        // Fetch after fetch while they held only markers and aborted batches: a run of aborted
        // transactions longer than one fetch must not look like the end.
        while position < visibleEnd && records.count == countBefore {
            let fetched = try partition.read(from: position, maxBytes: config.fetchBytesMax, isolation: config.isolation)
            let before = position
            batches: for batch in fetched.batches {
                if batch.header.isControl || LogConsumer.isAborted(batch.header, in: fetched.abortedTransactions) {
                    position = max(position, batch.header.lastOffset + 1)
                    continue
                }
                let decoded = try formatCall("reading \(topicPartition)") { () throws(RecordFormatError) in try batch.records() }
                for record in decoded where record.offset >= position {
                    if records.count >= limit { break batches }
                    records.append(ConsumerRecord(
                        topicPartition: topicPartition, offset: record.offset, timestamp: record.timestamp,
                        key: record.key, value: record.value, headers: record.headers))
                    position = record.offset + 1
                }
                if records.count < limit { position = max(position, batch.header.lastOffset + 1) }
            }
            // A read that moved nothing (no batch below the visible end) ends this poll; the
            // position stays, so ``isCaughtUp`` does not claim the end.
            if position == before { break }
        }
        positions[topicPartition] = position
    }

    /// Whether a batch belongs to one of the aborted transactions a read-committed fetch returned.
    static func isAborted(_ header: RecordBatchHeader, in aborted: [AbortedTransaction]) -> Bool {
        guard header.isTransactional, !aborted.isEmpty else { return false }
        return aborted.contains {
            $0.producerID == header.producerID && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset
        }
    }

    // MARK: Offsets

    /// Commits the current position of every assigned partition that has one.
    package func commit() throws(LogError) {
        var offsets: [TopicPartition: Offset] = [:]
        for partition in assigned { if let position = positions[partition] { offsets[partition] = position } }
        try commit(offsets)
    }

    /// Commits the given offsets (each the next offset to read) for the group.
    /// - Throws: `.groupMembership` without a group, or when this member's generation is stale.
    package func commit(_ offsets: [TopicPartition: Offset]) throws(LogError) {
        guard let group = config.groupID else { throw LogError(.groupMembership, "committing offsets needs a consumer group") }
        if subscription != nil && !log.groups.isCurrent(group: group, memberID: config.memberID, generation: generation) {
            throw LogError(.groupMembership, "the group \(group) rebalanced; this member's generation \(generation) is stale")
        }
        try log.offsets.commit(group: group, offsets: offsets.mapValues { CommittedOffset(offset: $0) })
    }

    /// The group's committed offset in a partition.
    package func committed(_ topicPartition: TopicPartition) -> Offset? {
        guard let group = config.groupID else { return nil }
        return log.offsets.committed(group: group, topicPartition)?.offset
    }

    /// How far behind each assigned partition is: from the position (or the committed offset
    /// when there is none yet) to the log end, or to the last stable offset when reading committed.
    package func lag() throws(LogError) -> [TopicPartition: Int64] {
        var lags: [TopicPartition: Int64] = [:]
        for topicPartition in assignment {
            let partition = try log.partition(topicPartition)
            let end = config.isolation == .readCommitted ? partition.lastStableOffset : partition.logEndOffset
            let from = try position(topicPartition)
            lags[topicPartition] = max(0, end - from)
        }
        return lags
    }

    /// Whether every assigned partition's position has reached its visible end: the last stable
    /// offset when reading committed, the log end otherwise. This, not an empty poll, is what
    /// "caught up" means; it is true with nothing assigned.
    package var isCaughtUp: Bool {
        guard let lags = try? lag() else { return false }
        return lags.values.allSatisfy { $0 == 0 }
    }

    /// Leaves the group (its partitions are reassigned to the other members).
    package func close() {
        leaveGroup()
    }

    private func leaveGroup() {
        guard subscription != nil, let group = config.groupID else { return }
        log.groups.leave(group: group, memberID: config.memberID, partitionCount: partitionCount)
    }
}
