import Foundation
import Testing
import StreamCore
import LogStorage
import Transactions
import KafkaProtocol
import KafkaServer
@testable import KafkaBroker
@testable import KafkaGateway

/// Builders for offset requests (OffsetCommit and TxnOffsetCommit share their topic structs' field names).
func setCommittedTopics(_ body: inout KafkaStruct, _ topics: [(String, [(Int32, Int64)])], metadata: String? = "m") {
    body.set("topics", topics.map { name, partitions in
        var topic = body.makeElement("topics")
        topic.set("name", name)
        topic.set("partitions", partitions.map { index, offset in
            var partition = topic.makeElement("partitions")
            partition.set("partitionIndex", index)
            partition.set("committedOffset", offset)
            partition.set("committedMetadata", metadata)
            return partition
        })
        return topic
    })
}

func commitErrors(_ response: KafkaStruct) -> [Int16] {
    response.array("topics").flatMap { $0.array("partitions").map { $0.int16("errorCode") } }
}

extension GroupsGatewayFixture {
    /// OffsetFetch of `partitions` of `orders` for `group` at `version` (v8+ as a one-group batch):
    /// (offset, metadata, error) per partition, and the group's error.
    func fetch(_ group: String, _ partitions: [Int32]?, version: Int16, requireStable: Bool = false)
        throws -> (partitions: [(Int64, String?, Int16)], groupError: Int16) {
        let response = try call(.offsetFetch, version: version) { body in
            func topics(_ parent: KafkaStruct) -> [KafkaStruct]? {
                partitions.map { partitions in
                    var topic = parent.makeElement("topics")
                    topic.set("name", "orders")
                    topic.set("partitionIndexes", partitions)
                    return [topic]
                }
            }
            if version <= 7 {
                body.set("groupId", group)
                body.set("topics", topics(body))
            } else {
                var element = body.makeElement("groups")
                element.set("groupId", group)
                element.set("topics", topics(element))
                body.set("groups", [element])
            }
            if version >= 7 { body.set("requireStable", requireStable) }
        }
        let groupElement = version <= 7 ? response : try #require(response.array("groups").first)
        let fetched = groupElement.array("topics").flatMap { topic in
            topic.array("partitions").map { ($0.int64("committedOffset"), $0.nullableString("metadata"), $0.int16("errorCode")) }
        }
        return (fetched, version >= 2 ? groupElement.int16("errorCode") : 0)
    }
}

@Suite("Group routes: OffsetCommit, OffsetFetch, TxnOffsetCommit through the gateway")
struct GroupOffsetRouteTests {
    @Test("a simple commit (no members) at every OffsetCommit version is read back at every OffsetFetch version; an unknown partition is UNKNOWN_TOPIC_OR_PARTITION",
          arguments: Int16(0)...9)
    func commitThenFetch(_ commitVersion: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        let committed = try fixture.call(.offsetCommit, version: commitVersion) { body in
            body.set("groupId", "simple")
            setCommittedTopics(&body, [("orders", [(1, 10 + Int64(commitVersion)), (7, 1)]), ("missing", [(0, 1)])])
        }
        #expect(commitErrors(committed) == [0, KafkaErrorCode.unknownTopicOrPartition.rawValue, KafkaErrorCode.unknownTopicOrPartition.rawValue])
        #expect(committed.array("topics").map { $0.string("name") } == ["orders", "missing"])
        for fetchVersion in Int16(0)...9 {
            let asked = try fixture.fetch("simple", [1, 2], version: fetchVersion)
            #expect(asked.partitions.map(\.0) == [10 + Int64(commitVersion), -1], "OffsetFetch v\(fetchVersion)")
            #expect(asked.partitions.map(\.1) == ["m", ""], "OffsetFetch v\(fetchVersion)")
            #expect(asked.partitions.map(\.2) == [0, 0] && asked.groupError == 0, "OffsetFetch v\(fetchVersion)")
            if fetchVersion >= 2 {
                let all = try fixture.fetch("simple", nil, version: fetchVersion)
                #expect(all.partitions.map(\.0) == [10 + Int64(commitVersion)], "every committed partition, OffsetFetch v\(fetchVersion)")
            }
        }
    }

    @Test("OffsetFetch of an empty group id is INVALID_GROUP_ID: on every partition before v2, at the group's level from v2",
          arguments: [Int16(0), 1, 2, 7, 8, 9])
    func fetchInvalidGroup(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        let fetched = try fixture.fetch("", [0, 1], version: version)
        if version <= 1 {
            #expect(fetched.partitions.map(\.2) == [KafkaErrorCode.invalidGroupId.rawValue, KafkaErrorCode.invalidGroupId.rawValue])
        } else {
            #expect(fetched.groupError == KafkaErrorCode.invalidGroupId.rawValue)
        }
    }

    @Test("OffsetFetch v8+ answers several groups in one request, in order")
    func fetchBatched() throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        for (group, offset) in [("a", Int64(3)), ("b", 4)] {
            let response = try fixture.call(.offsetCommit, version: 8) { body in
                body.set("groupId", group)
                setCommittedTopics(&body, [("orders", [(0, offset)])])
            }
            #expect(commitErrors(response) == [0])
        }
        let response = try fixture.call(.offsetFetch, version: 9) { body in
            body.set("groups", ["b", "a", "none"].map { group in
                var element = body.makeElement("groups")
                element.set("groupId", group)
                element.setNull("topics")
                return element
            })
        }
        let groups = response.array("groups")
        #expect(groups.map { $0.string("groupId") } == ["b", "a", "none"])
        #expect(groups.map { $0.array("topics").flatMap { $0.array("partitions").map { $0.int64("committedOffset") } } } == [[4], [3], []])
    }

    /// A transaction of `id` open with `group`'s `__consumer_offsets` partition as a participant (AddOffsetsToTxn's effect).
    private func openTransaction(_ fixture: GroupsGatewayFixture, id: String, group: String) throws -> (ProducerID, ProducerEpoch) {
        let (producer, epoch) = try fixture.coordinator.initTransactions(transactionalID: id)
        try fixture.coordinator.addPartitions(transactionalID: id, producerID: producer, producerEpoch: epoch,
                                              partitions: [fixture.log.offsets.partition(forGroup: group).topicPartition])
        return (producer, epoch)
    }

    private func txnCommit(
        _ fixture: GroupsGatewayFixture, version: Int16, id: String, producer: (ProducerID, ProducerEpoch), group: String,
        generation: Int32 = -1, member: String = "", offset: Int64
    ) throws -> [Int16] {
        commitErrors(try fixture.call(.txnOffsetCommit, version: version) { body in
            body.set("transactionalId", id)
            body.set("groupId", group)
            body.set("producerId", producer.0.rawValue)
            body.set("producerEpoch", producer.1.rawValue)
            if version >= 3 {
                body.set("generationId", generation)
                body.set("memberId", member)
            }
            setCommittedTopics(&body, [("orders", [(0, offset)])])
        })
    }

    @Test("TxnOffsetCommit at every version stages offsets (require_stable fetches get UNSTABLE_OFFSET_COMMIT) that the COMMIT makes the group's; a zombie epoch is INVALID_PRODUCER_EPOCH",
          arguments: Int16(0)...4)
    func transactionalCommit(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        let group = "copier"
        let (producer, epoch) = try openTransaction(fixture, id: "t1", group: group)
        #expect(try txnCommit(fixture, version: version, id: "t1", producer: (producer, epoch), group: group, offset: 42) == [0])
        #expect(try fixture.fetch(group, [0], version: 7, requireStable: true).partitions.map(\.2) == [KafkaErrorCode.unstableOffsetCommit.rawValue])
        #expect(try fixture.fetch(group, [0], version: 6).partitions.map(\.0) == [-1], "not committed before the marker")
        try fixture.coordinator.endTransaction(transactionalID: "t1", producerID: producer, producerEpoch: epoch, commit: true)
        #expect(try fixture.fetch(group, [0], version: 7, requireStable: true).partitions.map(\.0) == [42])

        let (_, newer) = try openTransaction(fixture, id: "t1", group: group)
        #expect(newer > epoch)
        #expect(try txnCommit(fixture, version: version, id: "t1", producer: (producer, epoch), group: group, offset: 50)
                == [KafkaErrorCode.invalidProducerEpoch.rawValue], "the zombie of the previous epoch")
        #expect(try txnCommit(fixture, version: version, id: "unknown", producer: (producer, newer), group: group, offset: 50)
                == [KafkaErrorCode.invalidProducerIdMapping.rawValue])
    }

    @Test("TxnOffsetCommit v3+ carries KIP-447's group metadata: a member of an older generation is fenced with ILLEGAL_GENERATION",
          arguments: [Int16(3), 4])
    func transactionalCommitChecksGeneration(_ version: Int16) throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        var member = GroupMemberClient(fixture: fixture, connection: 1, group: "copier")
        member.joined(try #require(try member.startJoin().wait()))
        _ = try #require(try member.sendSync(assignments: [member.memberID: []]).wait())
        let producer = try openTransaction(fixture, id: "t1", group: "copier")
        #expect(try txnCommit(fixture, version: version, id: "t1", producer: producer, group: "copier",
                              generation: member.generationID + 1, member: member.memberID, offset: 1)
                == [KafkaErrorCode.illegalGeneration.rawValue])
        #expect(try txnCommit(fixture, version: version, id: "t1", producer: producer, group: "copier",
                              generation: member.generationID, member: "someone-else", offset: 1)
                == [KafkaErrorCode.unknownMemberId.rawValue])
        #expect(try txnCommit(fixture, version: version, id: "t1", producer: producer, group: "copier",
                              generation: member.generationID, member: member.memberID, offset: 1) == [0])
    }

    @Test("TxnOffsetCommit writes under the producer's lock, as EndTxn does: it waits while the lock is held, and once a commit completed under it, it is INVALID_TXN_STATE and nothing is staged after the marker")
    func transactionalCommitTakesTheProducerLock() throws {
        let fixture = try GroupsGatewayFixture()
        defer { fixture.close() }
        let group = "copier"
        let (producer, epoch) = try openTransaction(fixture, id: "t1", group: group)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let completed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // What the broker's EndTxn does: the commit under the producer's lock.
            fixture.gateway.broker.producerLocks.withLock(producer.rawValue) {
                entered.signal()
                release.wait()
                try? fixture.coordinator.endTransaction(transactionalID: "t1", producerID: producer, producerEpoch: epoch, commit: true)
            }
            completed.signal()
        }
        entered.wait()
        let pending = try fixture.send(.txnOffsetCommit, version: 3) { body in
            body.set("transactionalId", "t1")
            body.set("groupId", group)
            body.set("producerId", producer.rawValue)
            body.set("producerEpoch", epoch.rawValue)
            setCommittedTopics(&body, [("orders", [(0, 42)])])
        }
        #expect(try pending.wait(timeout: 0.5) == nil, "waits for the producer's lock")
        release.signal()
        let answer = try #require(try pending.wait())
        #expect(completed.wait(timeout: .now() + 10) == .success)
        #expect(commitErrors(answer) == [KafkaErrorCode.invalidTxnState.rawValue], "the transaction it belonged to is complete")
        #expect(!fixture.log.offsets.hasStagedOffset(group: group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(0))))
        #expect(try fixture.fetch(group, [0], version: 7, requireStable: true).partitions.map(\.0) == [-1])
    }
}
