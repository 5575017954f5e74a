/// The opaque handle of a request the group coordinator may park (JoinGroup, SyncGroup): the
/// network layer picks it (a connection and correlation id, say) and gets it back in the
/// ``GroupEffect`` that answers the request, now or later.
///
/// - Invariant: every token handed to the coordinator is answered exactly once, by one effect;
///   none is dropped, whatever the members do (leave, expire, get fenced).
package struct GroupCompletionToken: Hashable, Sendable, CustomStringConvertible {
    package let rawValue: UInt64
    package init(_ rawValue: UInt64) { self.rawValue = rawValue }
    package var description: String { "#\(rawValue)" }
}

/// An answer to a parked (or just arrived) request: send `response` to whoever holds the token.
package enum GroupEffect: Sendable, Equatable {
    case joinGroup(GroupCompletionToken, JoinGroupResponse)
    case syncGroup(GroupCompletionToken, SyncGroupResponse)

    /// The token this effect answers.
    package var token: GroupCompletionToken {
        switch self {
        case .joinGroup(let token, _), .syncGroup(let token, _): token
        }
    }
}

/// A response that is answered at once, with the answers to parked requests the same call
/// released (a LeaveGroup can complete a rebalance, for instance).
package struct GroupOutcome<Response: Sendable & Equatable>: Sendable, Equatable {
    package var response: Response
    package var effects: [GroupEffect]
    package init(response: Response, effects: [GroupEffect] = []) {
        self.response = response
        self.effects = effects
    }
}
