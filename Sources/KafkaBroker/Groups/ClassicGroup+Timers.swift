/// The group's timers: the join phase, the sync deadline, and every member's session.
extension ClassicGroup {
    /// One armed timer. Kinds sort in the order they fire when due at the same instant.
    enum TimerKind: Comparable {
        case join
        case sync
        case session(memberID: String)
        case pendingMember(memberID: String)
    }

    struct DueTimer: Comparable {
        var deadline: Int64
        var kind: TimerKind
        static func < (lhs: DueTimer, rhs: DueTimer) -> Bool {
            (lhs.deadline, lhs.kind) < (rhs.deadline, rhs.kind)
        }
    }

    /// The group's earliest armed timer.
    /// - Complexity: O(members).
    var earliestTimer: DueTimer? {
        var earliest: DueTimer?
        func consider(_ timer: DueTimer) { if earliest == nil || timer < earliest! { earliest = timer } }
        if let joinTimer { consider(DueTimer(deadline: joinTimer.deadline, kind: .join)) }
        if let syncTimer { consider(DueTimer(deadline: syncTimer.deadline, kind: .sync)) }
        for (memberID, member) in members {
            if let deadline = member.sessionDeadline { consider(DueTimer(deadline: deadline, kind: .session(memberID: memberID))) }
        }
        for (memberID, deadline) in pendingJoinMembers { consider(DueTimer(deadline: deadline, kind: .pendingMember(memberID: memberID))) }
        return earliest
    }

    /// Fires one timer at its own deadline (so the timers it arms count from when it was due,
    /// however late the tick that runs it).
    mutating func fire(_ timer: DueTimer) {
        let now = timer.deadline
        switch timer.kind {
        case .join:
            guard let joinTimer else { return }
            self.joinTimer = nil
            switch joinTimer.kind {
            case .initialRebalance(let delay, let remaining):
                initialRebalanceDelayExpired(delayMilliseconds: delay, remainingMilliseconds: remaining, now: now)
            case .completeJoin:
                completeJoinPhase(now: now)
            }
        case .sync:
            guard let syncTimer else { return }
            syncExpired(generation: syncTimer.generationID, now: now)
        case .session(let memberID):
            members[memberID]?.sessionDeadline = nil
            sessionExpired(memberID, now: now)
        case .pendingMember(let memberID):
            sessionExpired(memberID, now: now)
        }
    }
}
