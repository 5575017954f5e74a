package import StreamCore

/// The fault one life of a simulated engine runs under: a crash at the k-th time a named step
/// of the protocol is reached, a crash after a number of disk operations, or none.
///
/// Seeded simulations draw one per life, arm the disk with it, and hand the engine
/// ``crashPoints(for:)`` as its hook.
package enum ArmedCrash: Equatable, Sendable {
    case point(CrashPoint, occurrence: Int)
    case afterOperations(Int)
    case none

    /// Draws a fault: a named step (first to third occurrence) with probability `pointShare`,
    /// else a crash within `operationsMax` disk operations with probability `operationsShare`,
    /// else none.
    package static func draw(
        _ random: inout SeededRandom, operationsMax: Int, pointShare: Double = 0.6, operationsShare: Double = 0.3
    ) -> ArmedCrash {
        if random.chance(pointShare) {
            let point = CrashPoint.allCases[Int(random.next() % UInt64(CrashPoint.allCases.count))]
            return .point(point, occurrence: Int(random.next() % 3) + 1)
        }
        if random.chance(operationsShare / (1 - pointShare)) {
            return .afterOperations(Int(random.next() % UInt64(max(1, operationsMax))))
        }
        return .none
    }

    /// Arms `disk` for an operation-count crash and disarms it otherwise.
    package func arm(_ disk: SimulatedDisk) {
        if case .afterOperations(let count) = self {
            disk.crash(afterOperations: count)
        } else {
            disk.crash(afterOperations: Int.max)
        }
    }

    /// The hook that crashes `disk` when the armed step is reached for the armed time.
    package func crashPoints(for disk: SimulatedDisk) -> CrashPoints {
        guard case .point(let point, let occurrence) = self else { return .disabled }
        let counter = OccurrenceCounter()
        return CrashPoints { reached in
            if reached == point && counter.increment() == occurrence { disk.crash() }
        }
    }

    /// The named step, when one is armed.
    package var point: CrashPoint? {
        if case .point(let point, _) = self { return point }
        return nil
    }
}

/// Counts occurrences, from any thread.
package final class OccurrenceCounter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0

    package init() {}

    /// Adds one and returns the new count.
    package func increment() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value
    }
}
