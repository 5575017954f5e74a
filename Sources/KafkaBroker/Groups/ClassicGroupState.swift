/// The state of a classic consumer group, as Kafka names them.
///
/// ```
///            join                  all joined / rebalance timeout       leader's SyncGroup
///   Empty ──────────▶ PreparingRebalance ──────────────▶ CompletingRebalance ──────────▶ Stable
///     ▲                    │  ▲  ▲                              │                          │
///     └────────────────────┘  │  └──────── join, leave, expiry ─┘                          │
///       no member rejoined    └──────────────────── join, leave, expiry ──────────────────┘
/// ```
/// Dead is a deleted group; the coordinator forgets it.
package enum ClassicGroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"

    /// The states a group may come to this one from.
    var validPreviousStates: Set<ClassicGroupState> {
        switch self {
        case .empty: [.preparingRebalance]
        case .preparingRebalance: [.stable, .completingRebalance, .empty]
        case .completingRebalance: [.preparingRebalance]
        case .stable: [.completingRebalance]
        case .dead: [.stable, .preparingRebalance, .completingRebalance, .empty, .dead]
        }
    }
}
