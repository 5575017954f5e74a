package import StreamCore

/// A member's view of its group: the generation and the partitions it owns in it.
package struct GroupAssignment: Sendable, Equatable {
    package var generation: Int32
    package var partitions: [TopicPartition]
}

/// Coordinates consumer groups inside one process (a data directory has one owner process, so
/// every member of a group lives here).
///
/// Members join with the topics they subscribe to; every join or leave starts a new generation
/// and reassigns partitions with Kafka's range strategy: per topic, the members subscribed to it,
/// sorted by id, each take a contiguous range, the first ones one extra when it does not divide.
///
/// - Invariant: within a generation, every partition of a subscribed topic is owned by exactly
///   one member. Offsets committed by a member of an older generation are refused.
/// Thread-safety: safe from any thread.
package final class GroupCoordinator: @unchecked Sendable {
    private struct GroupState {
        var generation: Int32 = 0
        var subscriptions: [String: Set<TopicName>] = [:]
        var assignments: [String: [TopicPartition]] = [:]
    }

    private let lock = Lock()
    private var groups: [String: GroupState] = [:]

    package init() {}

    /// Adds (or updates) a member and rebalances the group.
    package func join(
        group: String, memberID: String, topics: Set<TopicName>, partitionCount: (TopicName) -> Int
    ) -> GroupAssignment {
        lock.lock(); defer { lock.unlock() }
        var state = groups[group] ?? GroupState()
        state.subscriptions[memberID] = topics
        rebalance(&state, partitionCount: partitionCount)
        groups[group] = state
        return GroupAssignment(generation: state.generation, partitions: state.assignments[memberID] ?? [])
    }

    /// Removes a member and rebalances the rest.
    package func leave(group: String, memberID: String, partitionCount: (TopicName) -> Int) {
        lock.lock(); defer { lock.unlock() }
        guard var state = groups[group], state.subscriptions[memberID] != nil else { return }
        state.subscriptions[memberID] = nil
        if state.subscriptions.isEmpty {
            groups[group] = nil
            return
        }
        rebalance(&state, partitionCount: partitionCount)
        groups[group] = state
    }

    /// The member's current assignment, or nil when it is not a member.
    package func assignment(group: String, memberID: String) -> GroupAssignment? {
        lock.lock(); defer { lock.unlock() }
        guard let state = groups[group], state.subscriptions[memberID] != nil else { return nil }
        return GroupAssignment(generation: state.generation, partitions: state.assignments[memberID] ?? [])
    }

    /// Whether `memberID` is in `group` at `generation`.
    package func isCurrent(group: String, memberID: String, generation: Int32) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let state = groups[group] else { return false }
        return state.generation == generation && state.subscriptions[memberID] != nil
    }

    /// The members of a group, sorted.
    package func members(of group: String) -> [String] {
        lock.lock(); defer { lock.unlock() }
        return groups[group]?.subscriptions.keys.sorted() ?? []
    }

    private func rebalance(_ state: inout GroupState, partitionCount: (TopicName) -> Int) {
        state.generation += 1
        var assignments: [String: [TopicPartition]] = [:]
        for member in state.subscriptions.keys { assignments[member] = [] }
        let topics = Set(state.subscriptions.values.flatMap { $0 }).sorted()
        for topic in topics {
            let members = state.subscriptions.filter { $0.value.contains(topic) }.map(\.key).sorted()
            let count = partitionCount(topic)
            guard !members.isEmpty, count > 0 else { continue }
            let share = count / members.count
            let extra = count % members.count
            var next = 0
            for (index, member) in members.enumerated() {
                let take = share + (index < extra ? 1 : 0)
                for partition in next..<next + take {
                    assignments[member, default: []].append(TopicPartition(topic, PartitionID(partition)))
                }
                next += take
            }
        }
        state.assignments = assignments
    }
}
