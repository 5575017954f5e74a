/// Named steps of the exactly-once protocol at which a simulated run can crash the engine.
///
/// Production code calls ``CrashPoints/reached(_:)`` at each of them; only the simulator installs
/// a handler (which crashes the simulated disk, so every storage call after it fails as after a
/// power loss).
package enum CrashPoint: String, CaseIterable, Sendable {
    /// After a transactional data batch was appended to an output partition.
    case afterDataAppend
    /// After the coordinator durably recorded a partition as a participant.
    case afterParticipantRecorded
    /// After consumed offsets were appended to `__consumer_offsets` in a transaction.
    case afterOffsetsAppend
    /// After the participants were synced, before PrepareCommit/PrepareAbort.
    case afterFlush
    /// After PrepareCommit/PrepareAbort was made durable (the commit point).
    case afterPrepare
    /// Between the markers of two participant partitions.
    case betweenMarkers
    /// After all markers were written and synced, before CompleteCommit/CompleteAbort.
    case afterMarkersBeforeComplete
    /// After the old active segment was sealed, before the new one exists.
    case duringSegmentRoll
    /// After the compacted segment was written, before it is swapped in.
    case duringCompaction
    /// After a store checkpoint's temporary file was synced, before it replaces the old one.
    case duringCheckpoint
}

/// The hook production code calls at every ``CrashPoint``.
///
/// Thread-safety: the handler is set before the engine runs and read from any thread.
package final class CrashPoints: @unchecked Sendable {
    private let handler: (@Sendable (CrashPoint) -> Void)?

    /// A hook that does nothing (production).
    package static let disabled = CrashPoints(handler: nil)

    package init(handler: (@Sendable (CrashPoint) -> Void)?) { self.handler = handler }

    @inline(__always)
    package func reached(_ point: CrashPoint) {
        handler?(point)
    }
}
