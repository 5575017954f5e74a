import Testing
import EngineTestSupport
import Simulation
import StreamCore
import LogStorage
import Transactions
@testable import KafkaBroker

@Suite("Group offsets: OffsetCommit, OffsetFetch, TxnOffsetCommit, DeleteGroups")
struct GroupOffsetsTests {
    @Test("OffsetCommit from a stale generation is ILLEGAL_GENERATION and changes nothing; during CompletingRebalance REBALANCE_IN_PROGRESS")
    func staleGenerationRefused() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("a"), TestConsumer("b")]
        _ = harness.rebalance(&consumers)
        #expect(harness.commit(consumers[0], [0: 5]) == [.none])
        let stale = consumers[0]
        _ = harness.rebalance(&consumers)
        #expect(consumers[0].generationID == stale.generationID + 1)
        #expect(harness.commit(stale, [0: 50]) == [.illegalGeneration])
        #expect(harness.engineCommitted(0) == 5)
        #expect(harness.fetch([0]) == [5])
        // A new member: the group goes through CompletingRebalance.
        // The newcomer joins first, so the members' rejoins complete the join phase.
        var joining = [TestConsumer("c")] + consumers
        var tokens: [GroupCompletionToken] = []
        for index in joining.indices {
            var token = harness.join(joining[index])
            if let answer = harness.effects.join(token), answer.errorCode == .memberIdRequired {
                joining[index].memberID = answer.memberID
                token = harness.join(joining[index])
            }
            tokens.append(token)
        }
        harness.advance(by: 0)
        #expect(harness.service.describeGroups([harness.group]).first?.groupState == "CompletingRebalance")
        var current = joining[1]
        current.generationID = harness.effects.join(tokens[1])?.generationID ?? -1
        #expect(current.generationID == consumers[0].generationID + 1)
        #expect(harness.commit(current, [0: 6]) == [.rebalanceInProgress])
        #expect(harness.engineCommitted(0) == 5)
    }

    @Test("a simple commit (generation -1, no member id) is refused while the group has members, and allowed when it has none")
    func simpleCommit() throws {
        var harness = try ServiceHarness()
        let simple = TestConsumer("admin")
        #expect(harness.commit(simple, [1: 7]) == [.none], "no group yet: a simple group is created")
        #expect(harness.service.listGroups(ListGroupsRequest()).groups.map(\.groupState) == ["Empty"])
        var consumers = [TestConsumer("a")]
        _ = harness.rebalance(&consumers)
        #expect(harness.commit(simple, [1: 8]) == [.unknownMemberId])
        #expect(harness.engineCommitted(1) == 7)
        _ = harness.service.leaveGroup(LeaveGroupRequest(groupID: harness.group, members: [LeaveGroupMember(memberID: consumers[0].memberID)]))
        #expect(harness.service.describeGroups([harness.group]).first?.groupState == "Empty")
        #expect(harness.commit(simple, [1: 9]) == [.none])
        #expect(harness.engineCommitted(1) == 9)
    }

    @Test("a generation for a group that does not exist: GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before")
    func unknownGroupWithGeneration() throws {
        let harness = try ServiceHarness()
        var ghost = TestConsumer("ghost")
        ghost.memberID = "ghost-1"
        ghost.generationID = 3
        #expect(harness.commit(ghost, [0: 1], apiVersion: 9) == [.groupIdNotFound])
        #expect(harness.commit(ghost, [0: 1], apiVersion: 8) == [.illegalGeneration])
        #expect(harness.engineCommitted(0) == nil)
    }

    @Test("per-partition errors: unknown topic or partition, metadata too large; the rest commits, metadata kept")
    func perPartitionErrors() throws {
        let harness = try ServiceHarness(partitions: 2)
        let response = harness.service.offsetCommit(OffsetCommitRequest(apiVersion: 8, groupID: harness.group, topics: [
            OffsetCommitRequestTopic(name: "orders", partitions: [
                OffsetCommitRequestPartition(partitionIndex: 0, committedOffset: 11, committedMetadata: "checkpoint-a"),
                OffsetCommitRequestPartition(partitionIndex: 1, committedOffset: 12, committedMetadata: String(repeating: "x", count: 4_097)),
                OffsetCommitRequestPartition(partitionIndex: 2, committedOffset: 13),
            ]),
            OffsetCommitRequestTopic(name: "no-such-topic", partitions: [OffsetCommitRequestPartition(partitionIndex: 0, committedOffset: 1)]),
        ]))
        #expect(response.topics.map(\.name) == ["orders", "no-such-topic"])
        #expect(response.errorCodes == [.none, .offsetMetadataTooLarge, .unknownTopicOrPartition, .unknownTopicOrPartition])
        let fetched = harness.fetchPartitions([0, 1])
        #expect(fetched.map(\.committedOffset) == [11, -1])
        #expect(fetched.map(\.metadata) == ["checkpoint-a", ""])
        #expect(fetched.map(\.committedLeaderEpoch) == [-1, -1])
        #expect(harness.engine.log.offsets.committed(group: harness.group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(0)))?.metadata == "checkpoint-a")
    }

    @Test("OffsetFetch: -1 for none, every committed partition when topics is null, several groups at once (v8+)")
    func offsetFetchShapes() throws {
        let harness = try ServiceHarness()
        #expect(harness.commit(TestConsumer("x"), [4: 40, 2: 20]) == [.none, .none])
        let orders = TopicName(rawValue: "orders")!
        try harness.engine.log.offsets.commit(group: "other", offsets: [TopicPartition(orders, PartitionID(0)): CommittedOffset(offset: Offset(3))])
        let response = harness.service.offsetFetch(OffsetFetchRequest(groups: [
            OffsetFetchRequestGroup(groupID: harness.group, topics: nil),
            OffsetFetchRequestGroup(groupID: "other", topics: [OffsetFetchRequestTopic(name: "orders", partitionIndexes: [0, 1])]),
            OffsetFetchRequestGroup(groupID: "never-committed", topics: nil),
        ]))
        #expect(response.groups.map(\.groupID) == [harness.group, "other", "never-committed"])
        #expect(response.groups[0].topics.map(\.name) == ["orders"])
        #expect(response.groups[0].topics[0].partitions.map(\.partitionIndex) == [2, 4])
        #expect(response.groups[0].topics[0].partitions.map(\.committedOffset) == [20, 40])
        #expect(response.groups[1].topics[0].partitions.map(\.committedOffset) == [3, -1])
        #expect(response.groups[2].topics.isEmpty)
        #expect(response.groups.map(\.errorCode) == [.none, .none, .none])
    }

    /// A transaction of `id` open with the group's `__consumer_offsets` partition recorded as a
    /// participant (what AddOffsetsToTxn does).
    private func openTransaction(_ harness: ServiceHarness, id: String = "copier-1") throws -> (ProducerID, ProducerEpoch) {
        let (producer, epoch) = try harness.engine.coordinator.initTransactions(transactionalID: id)
        let offsetsPartition = harness.engine.log.offsets.partition(forGroup: harness.group).topicPartition
        try harness.engine.coordinator.addPartitions(transactionalID: id, producerID: producer, producerEpoch: epoch, partitions: [offsetsPartition])
        return (producer, epoch)
    }

    private func txnCommit(_ harness: ServiceHarness, _ consumer: TestConsumer, producer: (ProducerID, ProducerEpoch), id: String = "copier-1",
                           offsets: [Int32: Int64], groupMetadata: Bool = true) -> [KafkaErrorCode] {
        let partitions = offsets.keys.sorted().map { OffsetCommitRequestPartition(partitionIndex: $0, committedOffset: offsets[$0]!) }
        // The broker's transactional write (the producer's lock and verification), as the gateway passes it.
        let broker = try! KafkaBroker(log: harness.engine.log, coordinator: harness.engine.coordinator)
        return harness.service.txnOffsetCommit(TxnOffsetCommitRequest(
            transactionalID: id, groupID: harness.group, producerID: producer.0.rawValue, producerEpoch: producer.1.rawValue,
            generationID: groupMetadata ? consumer.generationID : -1, memberID: groupMetadata ? consumer.memberID : "",
            groupInstanceID: groupMetadata ? consumer.groupInstanceID : nil,
            topics: [OffsetCommitRequestTopic(name: "orders", partitions: partitions)]), through: broker).errorCodes
    }

    @Test("TxnOffsetCommit stages offsets: require_stable fetches get UNSTABLE_OFFSET_COMMIT until the COMMIT marker makes them visible; an ABORT drops them")
    func transactionalOffsetsAndRequireStable() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("copier")]
        _ = harness.rebalance(&consumers)
        #expect(harness.commit(consumers[0], [0: 10]) == [.none])
        let producer = try openTransaction(harness)
        #expect(txnCommit(harness, consumers[0], producer: producer, offsets: [0: 20, 1: 21]) == [.none, .none])
        #expect(harness.engine.log.offsets.hasStagedOffset(group: harness.group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(0))))
        let unstable = harness.fetchPartitions([0, 1, 2], requireStable: true)
        #expect(unstable.map(\.errorCode) == [.unstableOffsetCommit, .unstableOffsetCommit, .none])
        #expect(harness.fetch([0, 1]) == [10, -1], "without require_stable: the committed offsets, not the pending ones")
        try harness.engine.coordinator.endTransaction(transactionalID: "copier-1", producerID: producer.0, producerEpoch: producer.1, commit: true)
        #expect(harness.fetchPartitions([0, 1], requireStable: true).map(\.errorCode) == [.none, .none])
        #expect(harness.fetch([0, 1], requireStable: true) == [20, 21])
        #expect(harness.engineCommitted(1) == 21)
        // The next transaction aborts: its offsets never apply.
        try harness.engine.coordinator.addPartitions(transactionalID: "copier-1", producerID: producer.0, producerEpoch: producer.1,
                                                     partitions: [harness.engine.log.offsets.partition(forGroup: harness.group).topicPartition])
        #expect(txnCommit(harness, consumers[0], producer: producer, offsets: [0: 30]) == [.none])
        try harness.engine.coordinator.endTransaction(transactionalID: "copier-1", producerID: producer.0, producerEpoch: producer.1, commit: false)
        #expect(harness.fetch([0], requireStable: true) == [20])
    }

    @Test("transactional offsets survive a crash exactly as their transaction does: committed ones are there after recovery, an open one's are neither committed nor pending")
    func transactionalOffsetsAcrossCrash() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("copier")]
        _ = harness.rebalance(&consumers)
        let producer = try openTransaction(harness)
        #expect(txnCommit(harness, consumers[0], producer: producer, offsets: [0: 20, 1: 21]) == [.none, .none])
        try harness.engine.coordinator.endTransaction(transactionalID: "copier-1", producerID: producer.0, producerEpoch: producer.1, commit: true)
        let next = try harness.engine.coordinator.initTransactions(transactionalID: "copier-2")
        try harness.engine.coordinator.addPartitions(transactionalID: "copier-2", producerID: next.0, producerEpoch: next.1,
                                                     partitions: [harness.engine.log.offsets.partition(forGroup: harness.group).topicPartition])
        #expect(txnCommit(harness, consumers[0], producer: next, id: "copier-2", offsets: [0: 30, 2: 32]) == [.none, .none])
        try harness.engine.crashAndReopen()
        harness.restartService()
        #expect(harness.fetch([0, 1, 2], requireStable: true) == [20, 21, -1], "the committed transaction's offsets, none of the open one's")
        #expect(harness.fetchPartitions([0, 2], requireStable: true).map(\.errorCode) == [.none, .none], "nothing of the open transaction is pending after recovery (lost unsynced, or aborted)")
    }

    @Test("KIP-447: a zombie consumer's transaction cannot commit offsets: stale generation, removed member, replaced instance")
    func zombieTransactionalCommitFenced() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("a", groupInstanceID: "copier-a"), TestConsumer("b")]
        _ = harness.rebalance(&consumers)
        let zombie = consumers[1]
        _ = harness.rebalance(&consumers)
        let producer = try openTransaction(harness)
        #expect(txnCommit(harness, zombie, producer: producer, offsets: [3: 99]) == [.illegalGeneration], "an older generation")
        var removed = consumers[1]
        removed.memberID = "b-removed-long-ago"
        #expect(txnCommit(harness, removed, producer: producer, offsets: [3: 99]) == [.unknownMemberId])
        // copier-a restarts under a new member id; the old process still holds the old one.
        let oldA = consumers[0]
        let restartToken = harness.join(TestConsumer("a", groupInstanceID: "copier-a"))
        let restarted = harness.effects.join(restartToken)
        #expect(restarted?.errorCode == KafkaErrorCode.none)
        #expect(txnCommit(harness, oldA, producer: producer, offsets: [0: 99]) == [.fencedInstanceId])
        #expect(!harness.engine.log.offsets.hasStagedOffset(group: harness.group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(3))), "nothing staged")
        try harness.engine.coordinator.endTransaction(transactionalID: "copier-1", producerID: producer.0, producerEpoch: producer.1, commit: true)
        #expect(harness.fetch([0, 3]) == [-1, -1], "the transaction committed, but no zombie offset came with it")
        // Without group metadata (v0–v2 shape) the member is not checked.
        let second = try openTransaction(harness)
        #expect(txnCommit(harness, zombie, producer: second, offsets: [3: 7], groupMetadata: false) == [.none])
    }

    @Test("TxnOffsetCommit checks the producer: an older epoch is INVALID_PRODUCER_EPOCH (as Kafka answers TxnOffsetCommit), a partition never added INVALID_TXN_STATE, an unknown transactional id INVALID_PRODUCER_ID_MAPPING")
    func transactionalCommitChecksProducer() throws {
        let harness = try ServiceHarness()
        let simple = TestConsumer("simple")
        let (producer, epoch) = try harness.engine.coordinator.initTransactions(transactionalID: "t")
        #expect(txnCommit(harness, simple, producer: (producer, epoch), id: "t", offsets: [0: 1]) == [.invalidTxnState], "no AddOffsetsToTxn: no open transaction holds the offsets partition")
        let current = try openTransaction(harness, id: "t")
        #expect(current.1 > epoch)
        #expect(txnCommit(harness, simple, producer: (producer, epoch), id: "t", offsets: [0: 1]) == [.invalidProducerEpoch], "the zombie of the previous epoch")
        #expect(txnCommit(harness, simple, producer: current, id: "unknown", offsets: [0: 1]) == [.invalidProducerIdMapping])
        #expect(txnCommit(harness, simple, producer: (ProducerID(current.0.rawValue + 1), current.1), id: "t", offsets: [0: 1]) == [.invalidProducerIdMapping])
        #expect(txnCommit(harness, simple, producer: current, id: "t", offsets: [0: 1, 9: 1]) == [.none, .unknownTopicOrPartition])
        #expect(!harness.engine.log.offsets.hasStagedOffset(group: harness.group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(9))))
    }

    @Test("DeleteGroups: NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND when unknown; deleting removes the group's committed offsets")
    func deleteGroups() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("a")]
        _ = harness.rebalance(&consumers)
        #expect(harness.commit(consumers[0], [0: 3, 1: 4]) == [.none, .none])
        #expect(harness.service.deleteGroups([harness.group, "nope", ""]).map(\.errorCode) == [.nonEmptyGroup, .groupIdNotFound, .invalidGroupId])
        #expect(harness.engineCommitted(0) == 3)
        _ = harness.service.leaveGroup(LeaveGroupRequest(groupID: harness.group, members: [LeaveGroupMember(memberID: consumers[0].memberID)]))
        #expect(harness.service.deleteGroups([harness.group]).map(\.errorCode) == [.none])
        #expect(harness.engineCommitted(0) == nil)
        #expect(harness.engine.log.offsets.committedOffsets(group: harness.group).isEmpty)
        #expect(harness.service.describeGroups([harness.group]).first?.groupState == "Dead")
        #expect(harness.service.listGroups(ListGroupsRequest()).groups.isEmpty)
    }

    @Test("offsets committed here are ConsumerOffsets' (and the reverse) on the same data directory after a crash and reopen; groups come back Empty and old members must rejoin")
    func offsetsSurviveReopen() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("a")]
        _ = harness.rebalance(&consumers)
        #expect(harness.commit(consumers[0], [0: 42, 5: 43], metadata: "kafka") == [.none, .none])
        // pipeline consume --group payment-service commits through ConsumerOffsets directly.
        let orders = TopicName(rawValue: "orders")!
        try harness.engine.log.offsets.commit(group: harness.group, offsets: [TopicPartition(orders, PartitionID(3)): CommittedOffset(offset: Offset(77))])
        try harness.engine.log.offsets.commit(group: "pipeline-only", offsets: [TopicPartition(orders, PartitionID(0)): CommittedOffset(offset: Offset(5))])
        try harness.engine.crashAndReopen()
        harness.restartService()
        #expect(harness.engineCommitted(0) == 42, "the commit was durable before it was answered")
        #expect(harness.engineCommitted(5) == 43)
        #expect(harness.fetch([0, 3, 5]) == [42, 77, 43])
        #expect(harness.fetchPartitions([0]).first?.metadata == "kafka")
        let listed = harness.service.listGroups(ListGroupsRequest())
        #expect(listed.groups.map(\.groupID) == ["payment-service", "pipeline-only"])
        #expect(listed.groups.map(\.groupState) == ["Empty", "Empty"])
        #expect(harness.heartbeat(consumers[0]) == .unknownMemberId, "members are not durable: it must rejoin")
        #expect(harness.commit(consumers[0], [0: 50]) == [.unknownMemberId])
        var fresh = [TestConsumer("a")]
        _ = harness.rebalance(&fresh)
        #expect(harness.commit(fresh[0], [0: 50]) == [.none])
        #expect(harness.engineCommitted(0) == 50)
    }
}
