/// The group's invariants, checked by the property tests after every step.
extension ClassicGroup {
    /// What is wrong with the group's state, in sentences; empty when nothing is.
    var invariantViolations: [String] {
        var problems: [String] = []
        func check(_ condition: Bool, _ problem: @autoclosure () -> String) { if !condition { problems.append("group \(groupID): \(problem())") } }
        check(Set(memberOrder) == Set(members.keys) && memberOrder.count == members.count, "member order \(memberOrder) is not the members \(members.keys.sorted())")
        check(staticMembers.allSatisfy { members[$0.value]?.groupInstanceID == $0.key }, "an instance maps to a member that is not it")
        check(members.values.allSatisfy { member in member.groupInstanceID.map { staticMembers[$0] == member.memberID } ?? true },
              "a static member is missing from the instance map")
        check((leaderID == nil) == members.isEmpty, "leader \(leaderID ?? "none") with \(members.count) members")
        check(leaderID.map { members[$0] != nil } ?? true, "leader \(leaderID ?? "") is not a member")
        check(state != .empty || members.isEmpty, "Empty with \(members.count) members")
        check(state != .dead, "a known group is Dead")
        check(!(state == .stable || state == .completingRebalance) || members.values.allSatisfy { $0.awaitingJoin == nil },
              "a JoinGroup is parked while \(state.rawValue)")
        check(!(state == .stable || state == .preparingRebalance) || members.values.allSatisfy { $0.awaitingSync == nil },
              "a SyncGroup is parked while \(state.rawValue)")
        check(pendingSyncMembers.isSubset(of: Set(members.keys)), "pending sync members \(pendingSyncMembers) are not all members")
        check(Set(pendingJoinMembers.keys).isDisjoint(with: Set(members.keys)), "a pending member is also a member")
        check(state != .preparingRebalance || joinTimer != nil, "PreparingRebalance with no join timer: it could wait forever")
        check(syncTimer == nil || state == .completingRebalance || state == .stable, "a sync timer armed while \(state.rawValue)")
        check(members.values.allSatisfy { $0.sessionDeadline != nil || $0.awaitingJoin != nil || $0.awaitingSync != nil },
              "a member that is not parked has no session timer: it could stay forever")
        return problems
    }
}
