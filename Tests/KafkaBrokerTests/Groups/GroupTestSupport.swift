@testable import KafkaBroker

/// Kafka's consumer protocol (the bytes client-side assignors put in JoinGroup metadata and
/// SyncGroup assignments), version 0, so tests can act as the leader's range assignor does.
/// The coordinator never parses these bytes.
enum ConsumerProtocolBytes {
    static func subscription(_ topics: [String]) -> [UInt8] {
        var bytes = int16(0) + int32(Int32(topics.count))
        for topic in topics { bytes += string(topic) }
        return bytes + int32(-1)
    }

    static func assignment(_ partitions: [String: [Int32]]) -> [UInt8] {
        var bytes = int16(0) + int32(Int32(partitions.count))
        for topic in partitions.keys.sorted() {
            bytes += string(topic) + int32(Int32(partitions[topic]!.count))
            for partition in partitions[topic]! { bytes += int32(partition) }
        }
        return bytes + int32(-1)
    }

    /// The topics of a subscription.
    static func topics(ofSubscription bytes: [UInt8]) -> [String] {
        var reader = Reader(bytes: bytes)
        _ = reader.int16()
        return (0..<Int(reader.int32())).map { _ in reader.string() }
    }

    /// The partitions of an assignment, by topic.
    static func partitions(ofAssignment bytes: [UInt8]) -> [String: [Int32]] {
        guard !bytes.isEmpty else { return [:] }
        var reader = Reader(bytes: bytes)
        _ = reader.int16()
        var result: [String: [Int32]] = [:]
        for _ in 0..<Int(reader.int32()) {
            let topic = reader.string()
            result[topic] = (0..<Int(reader.int32())).map { _ in reader.int32() }
        }
        return result
    }

    /// The range assignor: per topic, members sorted by id take contiguous ranges, the first
    /// ones one more when the count does not divide.
    static func rangeAssignment(members: [JoinGroupResponseMember], partitionCount: [String: Int32]) -> [SyncGroupAssignment] {
        var assigned: [String: [String: [Int32]]] = [:]
        for member in members { assigned[member.memberID] = [:] }
        let subscriptions = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, topics(ofSubscription: $0.metadata)) })
        for topic in Set(subscriptions.values.flatMap { $0 }).sorted() {
            let subscribers = subscriptions.filter { $0.value.contains(topic) }.map(\.key).sorted()
            let count = partitionCount[topic] ?? 0
            let share = count / Int32(subscribers.count), extra = count % Int32(subscribers.count)
            var next: Int32 = 0
            for (index, member) in subscribers.enumerated() {
                let take = share + (Int32(index) < extra ? 1 : 0)
                assigned[member]![topic] = Array(next..<next + take)
                next += take
            }
        }
        return assigned.keys.sorted().map { SyncGroupAssignment(memberID: $0, assignment: assignment(assigned[$0]!)) }
    }

    private static func int16(_ value: Int16) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }
    private static func int32(_ value: Int32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    private static func string(_ value: String) -> [UInt8] { int16(Int16(value.utf8.count)) + Array(value.utf8) }

    private struct Reader {
        var bytes: [UInt8]
        var position = 0
        mutating func int16() -> Int16 {
            defer { position += 2 }
            return Int16(bitPattern: UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1]))
        }
        mutating func int32() -> Int32 {
            defer { position += 4 }
            return (0..<4).reduce(Int32(0)) { $0 << 8 | Int32(bytes[position + $1]) }
        }
        mutating func string() -> String {
            let length = Int(int16())
            defer { position += length }
            return String(decoding: bytes[position..<position + length], as: UTF8.self)
        }
    }
}

/// Hands out tokens and keeps every effect, so tests can ask what a token was answered and
/// check that no token is answered twice.
struct EffectLog {
    private(set) var nextToken: UInt64 = 1
    private(set) var answers: [GroupCompletionToken: [GroupEffect]] = [:]

    mutating func token() -> GroupCompletionToken {
        defer { nextToken += 1 }
        return GroupCompletionToken(nextToken)
    }

    mutating func record(_ effects: [GroupEffect]) {
        for effect in effects { answers[effect.token, default: []].append(effect) }
    }

    func join(_ token: GroupCompletionToken) -> JoinGroupResponse? {
        guard case .joinGroup(_, let response)? = answers[token]?.first else { return nil }
        return response
    }

    func sync(_ token: GroupCompletionToken) -> SyncGroupResponse? {
        guard case .syncGroup(_, let response)? = answers[token]?.first else { return nil }
        return response
    }

    /// Tokens answered more than once (must stay empty).
    var answeredTwice: [GroupCompletionToken] { answers.filter { $0.value.count > 1 }.map(\.key) }

    /// Tokens handed out and never answered.
    var unanswered: [GroupCompletionToken] {
        (1..<nextToken).map(GroupCompletionToken.init).filter { answers[$0] == nil }
    }
}

/// A test's consumer: what a Kafka client keeps between requests.
struct TestConsumer {
    var clientID: String
    var topics: [String]
    var memberID = ""
    var generationID: Int32 = -1
    var groupInstanceID: String?
    var sessionTimeoutMilliseconds: Int32 = 10_000
    var rebalanceTimeoutMilliseconds: Int32 = 30_000
    var apiVersion: Int16 = 9
    var protocols: [JoinGroupProtocol]?

    init(_ clientID: String, topics: [String] = ["orders"], groupInstanceID: String? = nil) {
        self.clientID = clientID
        self.topics = topics
        self.groupInstanceID = groupInstanceID
    }

    func joinRequest(group: String = "payment-service") -> JoinGroupRequest {
        JoinGroupRequest(
            apiVersion: apiVersion, groupID: group, sessionTimeoutMilliseconds: sessionTimeoutMilliseconds,
            rebalanceTimeoutMilliseconds: rebalanceTimeoutMilliseconds, memberID: memberID, groupInstanceID: groupInstanceID,
            protocolType: "consumer",
            protocols: protocols ?? [JoinGroupProtocol(name: "range", metadata: ConsumerProtocolBytes.subscription(topics))],
            reason: "test", clientID: clientID, clientHost: "/127.0.0.1")
    }

    func heartbeat(group: String = "payment-service") -> HeartbeatRequest {
        HeartbeatRequest(groupID: group, generationID: generationID, memberID: memberID, groupInstanceID: groupInstanceID)
    }

    func sync(group: String = "payment-service", assignments: [SyncGroupAssignment] = []) -> SyncGroupRequest {
        SyncGroupRequest(groupID: group, generationID: generationID, memberID: memberID, groupInstanceID: groupInstanceID,
                         protocolType: "consumer", protocolName: "range", assignments: assignments)
    }
}

/// A coordinator config for tests: short sessions allowed, no initial delay unless asked.
func testGroupConfig(initialDelayMilliseconds: Int32 = 0) -> GroupCoordinatorConfig {
    var config = GroupCoordinatorConfig()
    config.sessionTimeoutMinMilliseconds = 1_000
    config.initialRebalanceDelayMilliseconds = initialDelayMilliseconds
    config.memberIDSeed = 7
    return config
}
