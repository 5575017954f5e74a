import StreamCore
import RecordFormat
import LogStorage
import Transactions

/// OffsetCommit, OffsetFetch, TxnOffsetCommit and DeleteGroups, over ``ConsumerOffsets``.
extension GroupCoordinatorService {
    /// A partition of a request, resolved: its place in the answer and where it lives, or the
    /// error it gets before the group is even looked at.
    private struct ResolvedPartition {
        var topicIndex: Int
        var partitionIndex: Int32
        var topicPartition: TopicPartition?
        var offset: CommittedOffset
        var error: KafkaErrorCode
    }

    /// Checks each partition on its own: the topic and partition must exist (else
    /// UNKNOWN_TOPIC_OR_PARTITION) and the metadata fit (else OFFSET_METADATA_TOO_LARGE).
    private func resolve(_ topics: [OffsetCommitRequestTopic], metadataLengthMax: Int) -> [ResolvedPartition] {
        var resolved: [ResolvedPartition] = []
        for (topicIndex, topic) in topics.enumerated() {
            let partitionCount: Int? = TopicName(rawValue: topic.name).flatMap { name in
                log.hasTopic(name) ? (try? log.topic(name))?.partitionCount : nil
            }
            for partition in topic.partitions {
                let metadata = partition.committedMetadata ?? ""
                let offset = CommittedOffset(offset: Offset(partition.committedOffset), metadata: metadata)
                var entry = ResolvedPartition(topicIndex: topicIndex, partitionIndex: partition.partitionIndex, topicPartition: nil,
                                              offset: offset, error: .none)
                if let partitionCount, let name = TopicName(rawValue: topic.name),
                   partition.partitionIndex >= 0, Int(partition.partitionIndex) < partitionCount {
                    entry.topicPartition = TopicPartition(name, PartitionID(partition.partitionIndex))
                    if metadata.utf16.count > metadataLengthMax { entry.error = .offsetMetadataTooLarge }
                } else {
                    entry.error = .unknownTopicOrPartition
                }
                resolved.append(entry)
            }
        }
        return resolved
    }

    private static func answer(_ topics: [OffsetCommitRequestTopic], _ resolved: [ResolvedPartition]) -> [OffsetCommitResponseTopic] {
        var answer = topics.map { OffsetCommitResponseTopic(name: $0.name, partitions: []) }
        for entry in resolved {
            answer[entry.topicIndex].partitions.append(OffsetCommitResponsePartition(partitionIndex: entry.partitionIndex, errorCode: entry.error))
        }
        return answer
    }

    /// The error a client gets for an offset write that failed (Kafka's mapping for the group
    /// coordinator's appends): a fenced producer is PRODUCER_FENCED, an oversize batch
    /// INVALID_COMMIT_OFFSET_SIZE, a storage failure NOT_COORDINATOR (the client finds the
    /// coordinator again and retries).
    private static func writeError(_ error: LogError) -> KafkaErrorCode {
        switch error.code {
        case .producerFenced: .producerFenced
        case .recordTooLarge: .invalidCommitOffsetSize
        case .outOfOrderSequence, .invalidTransactionState: .invalidTxnState
        default: .notCoordinator
        }
    }

    // MARK: OffsetCommit

    /// OffsetCommit: checks the member (generation, id, instance; a simple commit only while
    /// the group has no members), then appends and syncs the offsets in one batch before
    /// answering. Partitions that fail their own checks are answered alone; the others are
    /// committed together or not at all.
    package func offsetCommit(_ request: OffsetCommitRequest) -> OffsetCommitResponse {
        withLock {
            var resolved = resolve(request.topics, metadataLengthMax: machine.config.offsetMetadataLengthMax)
            makeKnownIfCommitted(request.groupID)
            let groupError = machine.offsetCommitError(
                    groupID: request.groupID, memberID: request.memberID, groupInstanceID: request.groupInstanceID,
                    generationID: request.generationIDOrMemberEpoch, isTransactional: false, apiVersion: request.apiVersion, now: now)
            var offsets: [TopicPartition: CommittedOffset] = [:]
            for index in resolved.indices where resolved[index].error == .none {
                if let groupError { resolved[index].error = groupError; continue }
                offsets[resolved[index].topicPartition!] = resolved[index].offset
            }
            do throws(LogError) {
                try log.offsets.commit(group: request.groupID, offsets: offsets)
            } catch {
                let code = Self.writeError(error)
                for index in resolved.indices where resolved[index].error == .none { resolved[index].error = code }
            }
            return OffsetCommitResponse(topics: Self.answer(request.topics, resolved))
        }
    }

    // MARK: TxnOffsetCommit

    /// TxnOffsetCommit: checks the member as KIP-447 says (a zombie of an older generation, a
    /// removed member or a replaced instance is refused), then writes through `broker`'s
    /// transactional write (``KafkaBroker/withTransactionalWrite(transactionalID:producerID:producerEpoch:to:abortable:_:)``):
    /// under the producer's lock, which EndTxn and InitProducerId hold too, the producer is
    /// checked against the transaction coordinator (its id and epoch are current, its
    /// transaction is open and has the group's `__consumer_offsets` partition as a participant,
    /// which AddOffsetsToTxn recorded), the offsets are appended there as a transactional batch
    /// of the producer and staged: the transaction's COMMIT marker makes them the group's
    /// committed offsets, its ABORT marker drops them. So the batch lands before the
    /// transaction's marker or not at all, never after it in a transaction the coordinator has
    /// already completed.
    ///
    /// Lock order: the service's lock, then the producer's (nothing that holds a producer's lock
    /// calls the service).
    package func txnOffsetCommit(_ request: TxnOffsetCommitRequest, through broker: KafkaBroker) -> TxnOffsetCommitResponse {
        withLock {
            var resolved = resolve(request.topics, metadataLengthMax: machine.config.offsetMetadataLengthMax)
            makeKnownIfCommitted(request.groupID)
            let groupError = machine.offsetCommitError(
                    groupID: request.groupID, memberID: request.memberID, groupInstanceID: request.groupInstanceID,
                    generationID: request.generationID, isTransactional: true, apiVersion: 0, now: now)
            var offsets: [TopicPartition: CommittedOffset] = [:]
            let stamp = log.clock.now()
            for index in resolved.indices where resolved[index].error == .none {
                if let groupError { resolved[index].error = groupError; continue }
                resolved[index].offset.commitTimestamp = stamp
                offsets[resolved[index].topicPartition!] = resolved[index].offset
            }
            if !offsets.isEmpty {
                let offsetsPartition = log.offsets.partition(forGroup: request.groupID).topicPartition
                var writeFailure: LogError?
                let written = broker.withTransactionalWrite(
                    transactionalID: request.transactionalID, producerID: request.producerID, producerEpoch: request.producerEpoch,
                    to: offsetsPartition, abortable: false
                ) { (partition, nextSequence) throws(LogError) in
                    do throws(LogError) {
                        try appendTransactional(offsets, group: request.groupID, producerID: ProducerID(request.producerID),
                                                producerEpoch: ProducerEpoch(request.producerEpoch), sequence: nextSequence,
                                                to: partition, timestamp: stamp)
                    } catch {
                        writeFailure = error
                        throw error
                    }
                }
                if case .failure(let refusal) = written {
                    // A failed append keeps the coordinator's mapping of write errors; a refusal is
                    // the broker's verification, except that a transaction being completed is
                    // COORDINATOR_NOT_AVAILABLE (retriable for TxnOffsetCommit, as Kafka's group
                    // coordinator maps NOT_ENOUGH_REPLICAS), and an unhosted offsets partition NOT_COORDINATOR.
                    let code: KafkaErrorCode =
                        switch (writeFailure, refusal.code) {
                        case (let failure?, _): Self.writeError(failure)
                        case (nil, .notEnoughReplicas): .coordinatorNotAvailable
                        case (nil, .unknownTopicOrPartition): .notCoordinator
                        case (nil, let code): code
                        }
                    for index in resolved.indices where resolved[index].error == .none { resolved[index].error = code }
                }
            }
            return TxnOffsetCommitResponse(topics: Self.answer(request.topics, resolved))
        }
    }

    /// Appends the offsets as one transactional batch of the producer at `sequence` (the next
    /// one the partition expects from it) and stages them in ``ConsumerOffsets``. Not synced
    /// here: the coordinator syncs every participant before the transaction's commit point.
    private func appendTransactional(
        _ offsets: [TopicPartition: CommittedOffset], group: String, producerID: ProducerID, producerEpoch: ProducerEpoch,
        sequence: Int32, to partition: PartitionLog, timestamp: Timestamp
    ) throws(LogError) {
        var builder = RecordBatchBuilder(producerID: producerID, producerEpoch: producerEpoch, baseSequence: sequence, isTransactional: true)
        for record in ConsumerOffsets.offsetRecords(group: group, offsets: offsets) {
            builder.append(key: record.key, value: record.value, timestamp: timestamp)
        }
        let batch: [UInt8]
        do { batch = try builder.build() } catch {
            throw LogError(.invalidBatch, "encoding the transactional offsets of group \(group): \(error)")
        }
        try partition.append(batch)
        log.offsets.stage(group: group, offsets: offsets, producerID: producerID)
    }

    // MARK: OffsetFetch

    /// OffsetFetch: each group's committed offsets, -1 where it has none; every committed
    /// partition when `topics` is nil. With `requireStable`, a partition an open transaction has
    /// staged an offset for is UNSTABLE_OFFSET_COMMIT.
    package func offsetFetch(_ request: OffsetFetchRequest) -> OffsetFetchResponse {
        withLock {
            OffsetFetchResponse(groups: request.groups.map { fetch($0, requireStable: request.requireStable) })
        }
    }

    private func fetch(_ group: OffsetFetchRequestGroup, requireStable: Bool) -> OffsetFetchResponseGroup {
        guard !group.groupID.isEmpty else { return OffsetFetchResponseGroup(groupID: group.groupID, topics: [], errorCode: .invalidGroupId) }
        let committed = log.offsets.committedOffsets(group: group.groupID)
        func partition(_ topic: String, _ index: Int32, _ topicPartition: TopicPartition?) -> OffsetFetchResponsePartition {
            if requireStable, let topicPartition, log.offsets.hasStagedOffset(group: group.groupID, topicPartition) {
                return OffsetFetchResponsePartition(partitionIndex: index, committedOffset: -1, committedLeaderEpoch: -1, metadata: "", errorCode: .unstableOffsetCommit)
            }
            guard let topicPartition, let offset = committed[topicPartition] else {
                return OffsetFetchResponsePartition(partitionIndex: index, committedOffset: -1, committedLeaderEpoch: -1, metadata: "", errorCode: .none)
            }
            return OffsetFetchResponsePartition(partitionIndex: index, committedOffset: offset.offset.rawValue, committedLeaderEpoch: -1,
                                                metadata: offset.metadata, errorCode: .none)
        }
        let topics: [OffsetFetchResponseTopic]
        if let requested = group.topics {
            topics = requested.map { topic in
                let name = TopicName(rawValue: topic.name)
                return OffsetFetchResponseTopic(name: topic.name, partitions: topic.partitionIndexes.map { index in
                    partition(topic.name, index, name.map { TopicPartition($0, PartitionID(index)) })
                })
            }
        } else {
            let byTopic = Dictionary(grouping: committed.keys, by: \.topic)
            topics = byTopic.keys.sorted().map { name in
                OffsetFetchResponseTopic(name: name.rawValue, partitions: byTopic[name]!.sorted().map { topicPartition in
                    partition(name.rawValue, topicPartition.partition.rawValue, topicPartition)
                })
            }
        }
        return OffsetFetchResponseGroup(groupID: group.groupID, topics: topics, errorCode: .none)
    }

    // MARK: DeleteGroups

    /// DeleteGroups: a group with members is NON_EMPTY_GROUP, an unknown one
    /// GROUP_ID_NOT_FOUND; otherwise its committed offsets are removed (tombstones, synced) and
    /// the group is forgotten.
    package func deleteGroups(_ groupIDs: [String]) -> [DeletableGroupResult] {
        withLock {
            groupIDs.map { groupID in
                makeKnownIfCommitted(groupID)
                if let error = machine.deletionError(groupID) {
                    return DeletableGroupResult(groupID: groupID, errorCode: error)
                }
                do throws(LogError) {
                    try log.offsets.deleteGroup(groupID)
                } catch {
                    return DeletableGroupResult(groupID: groupID, errorCode: Self.writeError(error))
                }
                machine.removeGroup(groupID)
                return DeletableGroupResult(groupID: groupID, errorCode: .none)
            }
        }
    }
}
