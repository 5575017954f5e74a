import EngineTestSupport
import Simulation
import StreamCore
import LogStorage
@testable import KafkaBroker

/// A ``GroupCoordinatorService`` over a data directory on a simulated disk, driven on the
/// engine's simulated clock as the network layer would drive it.
struct ServiceHarness {
    let engine: TestEngine
    private(set) var service: GroupCoordinatorService
    var effects = EffectLog()
    let group = "payment-service"
    let config: GroupCoordinatorConfig

    init(partitions: Int = 6, config: GroupCoordinatorConfig = testGroupConfig()) throws {
        engine = try TestEngine()
        try engine.createTopic("orders", partitions: partitions)
        self.config = config
        service = GroupCoordinatorService(log: engine.log, transactions: engine.coordinator, config: config)
    }

    /// A fresh service over the engine's current log (after a reopen: groups start Empty).
    mutating func restartService() {
        service = GroupCoordinatorService(log: engine.log, transactions: engine.coordinator, config: config)
    }

    @discardableResult
    mutating func join(_ consumer: TestConsumer) -> GroupCompletionToken {
        let token = effects.token()
        effects.record(service.joinGroup(consumer.joinRequest(group: group), token: token))
        return token
    }

    @discardableResult
    mutating func sync(_ consumer: TestConsumer, assignments: [SyncGroupAssignment] = []) -> GroupCompletionToken {
        let token = effects.token()
        effects.record(service.syncGroup(consumer.sync(group: group, assignments: assignments), token: token))
        return token
    }

    func heartbeat(_ consumer: TestConsumer) -> KafkaErrorCode { service.heartbeat(consumer.heartbeat(group: group)).errorCode }

    mutating func advance(by milliseconds: Int64) {
        engine.clock.advance(byMilliseconds: milliseconds)
        effects.record(service.tick())
    }

    /// Joins (id round included) every consumer still without an id, rejoins the others, lets the
    /// join phase complete, and syncs with a range assignment of `orders`.
    /// - Returns: each consumer's partitions.
    mutating func rebalance(_ consumers: inout [TestConsumer], partitions: Int32 = 6) -> [[Int32]] {
        var tokens: [GroupCompletionToken] = []
        for index in consumers.indices {
            var token = join(consumers[index])
            if let answer = effects.join(token), answer.errorCode == .memberIdRequired {
                consumers[index].memberID = answer.memberID
                token = join(consumers[index])
            }
            tokens.append(token)
        }
        advance(by: 0)
        for (index, token) in tokens.enumerated() {
            guard let answer = effects.join(token), answer.errorCode == .none else { continue }
            consumers[index].memberID = answer.memberID
            consumers[index].generationID = answer.generationID
        }
        let leaderIndex = tokens.firstIndex { effects.join($0).map { $0.leader == $0.memberID } ?? false }
        var syncTokens: [Int: GroupCompletionToken] = [:]
        for index in consumers.indices where index != leaderIndex { syncTokens[index] = sync(consumers[index]) }
        if let leaderIndex, let answer = effects.join(tokens[leaderIndex]) {
            syncTokens[leaderIndex] = sync(consumers[leaderIndex], assignments: ConsumerProtocolBytes.rangeAssignment(members: answer.members, partitionCount: ["orders": partitions]))
        }
        return consumers.indices.map { index in
            let bytes = syncTokens[index].flatMap { effects.sync($0) }?.assignment ?? []
            return ConsumerProtocolBytes.partitions(ofAssignment: bytes)["orders"] ?? []
        }
    }

    /// OffsetCommit of `offsets` (partition → next offset) of `orders` by `consumer`.
    func commit(_ consumer: TestConsumer, _ offsets: [Int32: Int64], metadata: String? = nil, apiVersion: Int16 = 8) -> [KafkaErrorCode] {
        let partitions = offsets.keys.sorted().map { OffsetCommitRequestPartition(partitionIndex: $0, committedOffset: offsets[$0]!, committedMetadata: metadata) }
        return service.offsetCommit(OffsetCommitRequest(
            apiVersion: apiVersion, groupID: group, generationIDOrMemberEpoch: consumer.generationID, memberID: consumer.memberID,
            groupInstanceID: consumer.groupInstanceID, topics: [OffsetCommitRequestTopic(name: "orders", partitions: partitions)])).errorCodes
    }

    /// The committed offsets of `orders` partitions, as OffsetFetch answers (-1: none).
    func fetch(_ partitions: [Int32], requireStable: Bool = false) -> [Int64] {
        fetchPartitions(partitions, requireStable: requireStable).map(\.committedOffset)
    }

    func fetchPartitions(_ partitions: [Int32], requireStable: Bool = false) -> [OffsetFetchResponsePartition] {
        let response = service.offsetFetch(OffsetFetchRequest(
            groups: [OffsetFetchRequestGroup(groupID: group, topics: [OffsetFetchRequestTopic(name: "orders", partitionIndexes: partitions)])],
            requireStable: requireStable))
        return response.groups.first?.topics.first?.partitions ?? []
    }

    /// The committed offset ConsumerOffsets itself holds (what `pipeline consume --group` reads).
    func engineCommitted(_ partition: Int32) -> Int64? {
        engine.log.offsets.committed(group: group, TopicPartition(TopicName(rawValue: "orders")!, PartitionID(partition)))?.offset.rawValue
    }
}
