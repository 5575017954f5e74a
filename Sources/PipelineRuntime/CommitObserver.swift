/// One commit of a ``PipelineWorker``, as a ``CommitObserver`` sees it.
package struct CommitEvent: Sendable, Equatable {
    /// The worker's input partition.
    package var partition: Int32
    /// From the start of the commit (changelogs and offsets sent, then the two-phase commit, or
    /// at-least-once the flush and the offsets' commit) to the stores having applied it.
    package var durationNanoseconds: UInt64
    /// False when the commit threw: the worker stops, and the pipeline with it.
    package var succeeded: Bool
}

/// Called by each worker after each commit, on the worker's thread (so it must be thread-safe
/// when the workers run on several threads). It should be quick: it runs inside the loop.
package typealias CommitObserver = @Sendable (CommitEvent) -> Void
