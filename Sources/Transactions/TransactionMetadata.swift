package import StreamCore

/// A transaction's state in the coordinator, with Kafka's numbering (the transaction log stores it).
package enum TransactionState: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case empty = 0
    case ongoing = 1
    case prepareCommit = 2
    case prepareAbort = 3
    case completeCommit = 4
    case completeAbort = 5

    package var description: String {
        switch self {
        case .empty: return "Empty"
        case .ongoing: return "Ongoing"
        case .prepareCommit: return "PrepareCommit"
        case .prepareAbort: return "PrepareAbort"
        case .completeCommit: return "CompleteCommit"
        case .completeAbort: return "CompleteAbort"
        }
    }

    /// Whether the transaction is finished (a new one may start).
    package var isIdle: Bool { self == .empty || self == .completeCommit || self == .completeAbort }

    /// The states reachable in one step.
    ///
    /// ```
    /// Empty ─────────┐           ┌──> PrepareCommit ──> CompleteCommit ──┐
    ///   ^            v           │                                       │
    ///   │         Ongoing ───────┤                                       │
    ///   │          ^   │         └──> PrepareAbort ───> CompleteAbort ───┤
    ///   │          │   └─(add partitions)                                │
    ///   └──────────┴──────────── (new epoch / next transaction) <────────┘
    /// ```
    package var successors: Set<TransactionState> {
        switch self {
        case .empty: return [.empty, .ongoing]
        case .ongoing: return [.ongoing, .prepareCommit, .prepareAbort]
        case .prepareCommit: return [.completeCommit]
        case .prepareAbort: return [.completeAbort]
        case .completeCommit, .completeAbort: return [.empty, .ongoing]
        }
    }
}

/// What the coordinator knows of one transactional id, as stored in `__transaction_state`.
///
/// - Invariant: `participants` is empty unless the state is Ongoing or Prepare*.
/// - Invariant: the epoch never decreases for a producer id.
package struct TransactionMetadata: Sendable, Equatable {
    package var transactionalID: String
    package var producerID: ProducerID
    package var producerEpoch: ProducerEpoch
    package var timeoutMilliseconds: Int32
    package var state: TransactionState
    package var participants: Set<TopicPartition>
    package var startTimestamp: Timestamp
    package var lastUpdateTimestamp: Timestamp

    package init(transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, timeoutMilliseconds: Int32,
                 state: TransactionState = .empty, participants: Set<TopicPartition> = [],
                 startTimestamp: Timestamp = .none, lastUpdateTimestamp: Timestamp = .none) {
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.timeoutMilliseconds = timeoutMilliseconds
        self.state = state
        self.participants = participants
        self.startTimestamp = startTimestamp
        self.lastUpdateTimestamp = lastUpdateTimestamp
    }

    /// The metadata after moving to `next`; participants are cleared when the transaction is over.
    /// - Throws: `.invalidState` for a transition the state machine does not allow.
    package func transitioned(to next: TransactionState, at now: Timestamp, adding partitions: Set<TopicPartition> = []) throws(TransactionError) -> TransactionMetadata {
        guard state.successors.contains(next) else {
            throw TransactionError(.invalidState, "transaction '\(transactionalID)' cannot go from \(state) to \(next)")
        }
        if !partitions.isEmpty && next != .ongoing {
            throw TransactionError(.invalidState, "partitions can only be added to an ongoing transaction")
        }
        var copy = self
        if next == .ongoing && state != .ongoing {
            copy.startTimestamp = now
            copy.participants = []
        }
        copy.participants.formUnion(partitions)
        if next.isIdle { copy.participants = [] }
        copy.state = next
        copy.lastUpdateTimestamp = now
        return copy
    }
}
