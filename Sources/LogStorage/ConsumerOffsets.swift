package import StreamCore
package import RecordFormat

/// A group's committed position in one partition.
package struct CommittedOffset: Sendable, Equatable {
    /// The next offset the group will read.
    package var offset: Offset
    package var metadata: String
    package var commitTimestamp: Timestamp
    package init(offset: Offset, metadata: String = "", commitTimestamp: Timestamp = .none) {
        self.offset = offset
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
    }
}

/// Committed consumer offsets, kept in the internal compacted topic `__consumer_offsets` in
/// Kafka's own record formats, and mirrored in memory.
///
/// Key (version 1) and value (version 3), big-endian, strings as i16 length + UTF-8:
/// ```
/// key:   | version: i16 = 1 | group: string | topic: string | partition: i32 |
/// value: | version: i16 = 3 | offset: i64 | leaderEpoch: i32 = -1 | metadata: string | commitTimestamp: i64 |
/// ```
/// A group lives in partition `abs(javaHashCode(group)) % partitionCount`, as in Kafka. A null
/// value (tombstone) removes a committed offset.
///
/// Offsets committed inside a transaction (KIP-98's `sendOffsetsToTransaction`) are staged per
/// producer and applied only when the transaction's COMMIT marker is written; an ABORT drops them.
///
/// - Invariant: the in-memory map equals the fold of the topic's committed records, in offset
///   order; nothing of an open or aborted transaction is in it.
/// Thread-safety: safe from any thread.
package final class ConsumerOffsets: @unchecked Sendable {
    package static let topicName = TopicName(rawValue: "__consumer_offsets")!
    private let partitions: [PartitionLog]
    private let clock: any EngineClock
    private let lock = Lock()
    private var committed: [String: [TopicPartition: CommittedOffset]] = [:]
    /// Offsets written by open transactions, by producer.
    private var staged: [ProducerID: [StagedOffset]] = [:]

    /// An offset written by an open transaction (nil: a tombstone).
    private struct StagedOffset: Equatable {
        var group: String
        var topicPartition: TopicPartition
        var offset: CommittedOffset?
    }

    init(partitions: [PartitionLog], clock: any EngineClock) throws(LogError) {
        self.partitions = partitions
        self.clock = clock
        try loadUntilStable()
    }

    /// Folds the whole topic, twice or more until two passes agree: record offsets sit outside
    /// the batch CRC and a compacted topic has gaps, so a transient read error could otherwise
    /// go unnoticed.
    private func loadUntilStable() throws(LogError) {
        var previous: ([String: [TopicPartition: CommittedOffset]], [ProducerID: [StagedOffset]])?
        for _ in 0..<5 {
            committed = [:]
            staged = [:]
            for partition in partitions { try load(partition) }
            if let previous, previous.0 == committed, previous.1 == staged { return }
            previous = (committed, staged)
        }
    }

    private func load(_ partition: PartitionLog) throws(LogError) {
        var offset = partition.logStartOffset
        while offset < partition.logEndOffset {
            let fetched = try partition.read(from: offset, maxBytes: 4 << 20)
            guard let last = fetched.batches.last else { break }
            for batch in fetched.batches {
                if batch.header.isControl {
                    let marker = try formatCall("loading \(partition.topicPartition)") { () throws(RecordFormatError) in try batch.controlRecord() }
                    completeTransaction(producerID: batch.header.producerID, committed: marker.type == .commit)
                    continue
                }
                let records = try formatCall("loading \(partition.topicPartition)") { () throws(RecordFormatError) in try batch.records() }
                for record in records where record.offset >= offset {
                    if batch.header.isTransactional {
                        stage(record, producerID: batch.header.producerID)
                    } else {
                        apply(record)
                    }
                }
            }
            offset = last.header.lastOffset + 1
        }
    }

    /// Folds one `__consumer_offsets` record into the map (unknown key versions are skipped).
    package func apply(_ record: Record) {
        guard let key = record.key, let (group, topicPartition) = ConsumerOffsets.decodeKey(key) else { return }
        lock.lock(); defer { lock.unlock() }
        if let value = record.value, let committedOffset = ConsumerOffsets.decodeValue(value) {
            committed[group, default: [:]][topicPartition] = committedOffset
        } else if record.value == nil {
            committed[group]?[topicPartition] = nil
            if committed[group]?.isEmpty == true { committed[group] = nil }
        }
    }

    private func stage(_ record: Record, producerID: ProducerID) {
        guard let key = record.key, let (group, topicPartition) = ConsumerOffsets.decodeKey(key) else { return }
        lock.lock(); defer { lock.unlock() }
        staged[producerID, default: []].append(StagedOffset(group: group, topicPartition: topicPartition, offset: record.value.flatMap(ConsumerOffsets.decodeValue)))
    }

    /// Stages offsets that a transaction of `producerID` has just appended.
    package func stage(group: String, offsets: [TopicPartition: CommittedOffset], producerID: ProducerID) {
        lock.lock(); defer { lock.unlock() }
        for (topicPartition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            staged[producerID, default: []].append(StagedOffset(group: group, topicPartition: topicPartition, offset: offset))
        }
    }

    /// Applies (commit) or drops (abort) what a producer's transaction staged; called when its
    /// marker is written to `__consumer_offsets`.
    package func completeTransaction(producerID: ProducerID, committed isCommit: Bool) {
        lock.lock(); defer { lock.unlock() }
        guard let entries = staged.removeValue(forKey: producerID), isCommit else { return }
        for entry in entries {
            if let offset = entry.offset {
                committed[entry.group, default: [:]][entry.topicPartition] = offset
            } else {
                committed[entry.group]?[entry.topicPartition] = nil
            }
        }
    }

    /// The records that commit `offsets` for `group`, for a transactional batch.
    package static func offsetRecords(group: String, offsets: [TopicPartition: CommittedOffset]) -> [(key: [UInt8], value: [UInt8])] {
        offsets.sorted(by: { $0.key < $1.key }).map { (encodeKey(group: group, $0.key), encodeValue($0.value)) }
    }

    /// The partition of `__consumer_offsets` that holds `group`.
    package func partition(forGroup group: String) -> PartitionLog {
        partitions[Int(ConsumerOffsets.partitionIndex(forGroup: group, partitionCount: partitions.count))]
    }

    /// Kafka's choice: `Utils.abs(group.hashCode()) % partitionCount`, with Java's String hash.
    package static func partitionIndex(forGroup group: String, partitionCount: Int) -> Int32 {
        var hash: Int32 = 0
        for unit in group.utf16 { hash = hash &* 31 &+ Int32(unit) }
        let positive = hash == Int32.min ? 0 : abs(hash)
        return positive % Int32(partitionCount)
    }

    /// Commits offsets for a group durably (appended as one batch and synced).
    package func commit(group: String, offsets: [TopicPartition: CommittedOffset]) throws(LogError) {
        guard !offsets.isEmpty else { return }
        let now = clock.now()
        var builder = RecordBatchBuilder()
        var stamped: [TopicPartition: CommittedOffset] = [:]
        for (topicPartition, value) in offsets.sorted(by: { $0.key < $1.key }) {
            var entry = value
            entry.commitTimestamp = now
            stamped[topicPartition] = entry
            builder.append(key: ConsumerOffsets.encodeKey(group: group, topicPartition), value: ConsumerOffsets.encodeValue(entry), headers: [], timestamp: now)
        }
        let batch = try formatCall("committing offsets of group \(group)") { () throws(RecordFormatError) in try builder.build() }
        let partition = partition(forGroup: group)
        try partition.append(batch)
        try partition.sync()
        lock.lock(); defer { lock.unlock() }
        for (topicPartition, entry) in stamped { committed[group, default: [:]][topicPartition] = entry }
    }

    /// The committed offset of `group` in one partition.
    package func committed(group: String, _ topicPartition: TopicPartition) -> CommittedOffset? {
        lock.lock(); defer { lock.unlock() }
        return committed[group]?[topicPartition]
    }

    /// Every committed offset of `group`.
    package func committedOffsets(group: String) -> [TopicPartition: CommittedOffset] {
        lock.lock(); defer { lock.unlock() }
        return committed[group] ?? [:]
    }

    /// Whether an open transaction has staged an offset of `group` in `topicPartition` (Kafka's
    /// pending transactional offset, which an OffsetFetch with `require_stable` waits out).
    package func hasStagedOffset(group: String, _ topicPartition: TopicPartition) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return staged.values.contains { entries in entries.contains { $0.group == group && $0.topicPartition == topicPartition } }
    }

    /// The groups that have committed offsets.
    package func groupNames() -> [String] {
        lock.lock(); defer { lock.unlock() }
        return committed.keys.sorted()
    }

    /// Removes a group's offsets (tombstones, so compaction drops them).
    package func deleteGroup(_ group: String) throws(LogError) {
        let existing = committedOffsets(group: group)
        guard !existing.isEmpty else { return }
        let now = clock.now()
        var builder = RecordBatchBuilder()
        for topicPartition in existing.keys.sorted() {
            builder.append(key: ConsumerOffsets.encodeKey(group: group, topicPartition), value: nil, headers: [], timestamp: now)
        }
        let batch = try formatCall("deleting group \(group)") { () throws(RecordFormatError) in try builder.build() }
        let partition = partition(forGroup: group)
        try partition.append(batch)
        try partition.sync()
        lock.lock(); defer { lock.unlock() }
        committed[group] = nil
    }

    // MARK: Kafka's record formats

    package static func encodeKey(group: String, _ topicPartition: TopicPartition) -> [UInt8] {
        var writer = BigEndianWriter()
        writer.int16(1)
        writer.string(group)
        writer.string(topicPartition.topic.rawValue)
        writer.int32(topicPartition.partition.rawValue)
        return writer.bytes
    }

    package static func encodeValue(_ value: CommittedOffset) -> [UInt8] {
        var writer = BigEndianWriter()
        writer.int16(3)
        writer.int64(value.offset.rawValue)
        writer.int32(-1)
        writer.string(value.metadata)
        writer.int64(value.commitTimestamp.rawValue)
        return writer.bytes
    }

    package static func decodeKey(_ bytes: [UInt8]) -> (String, TopicPartition)? {
        var reader = BigEndianReader(bytes)
        guard let version = reader.int16(), version == 0 || version == 1,
              let group = reader.string(), let topic = reader.string(), let partition = reader.int32(),
              let topicName = TopicName(rawValue: topic)
        else { return nil }
        return (group, TopicPartition(topicName, PartitionID(partition)))
    }

    package static func decodeValue(_ bytes: [UInt8]) -> CommittedOffset? {
        var reader = BigEndianReader(bytes)
        guard let version = reader.int16(), let offset = reader.int64() else { return nil }
        switch version {
        case 0, 1:
            guard let metadata = reader.string(), let timestamp = reader.int64() else { return nil }
            return CommittedOffset(offset: Offset(offset), metadata: metadata, commitTimestamp: Timestamp(milliseconds: timestamp))
        case 3:
            guard reader.int32() != nil, let metadata = reader.string(), let timestamp = reader.int64() else { return nil }
            return CommittedOffset(offset: Offset(offset), metadata: metadata, commitTimestamp: Timestamp(milliseconds: timestamp))
        default:
            return nil
        }
    }
}
