/// A pipeline users declare in `Pipelines/`: a name, a one-line summary, its configuration and
/// its dataflow.
///
/// ```swift
/// struct OrderTotals: PipelineDefinition {
///     let name = "order-totals"
///     let summary = "Per-customer order count and total"
///     var body: Topology {
///         Source("orders", value: .json(OrderCreated.self))
///             .groupByKey()
///             .aggregate(store: "totals", initial: CustomerTotal.zero, value: .json(CustomerTotal.self)) { … }
///             .sink("customer-totals", value: .json(CustomerTotal.self))
///     }
/// }
/// ```
public protocol PipelineDefinition: Sendable {
    /// The name the CLI knows the pipeline by (`order-totals`); unique in a catalog.
    var name: String { get }
    /// One line for `pipeline list`.
    var summary: String { get }
    /// Guarantee, commit interval, consumer group; the defaults suit most pipelines.
    var configuration: PipelineConfiguration { get }
    /// The dataflow: every sink of the pipeline, combined.
    @TopologyBuilder var body: Topology { get }
}

extension PipelineDefinition {
    public var configuration: PipelineConfiguration { PipelineConfiguration() }
}

/// How a pipeline runs.
public struct PipelineConfiguration: Sendable, Equatable {
    public enum Guarantee: String, Sendable, Equatable {
        /// Outputs, state changes and consumed offsets commit atomically (the default).
        case exactlyOnce = "exactly-once"
        /// Outputs are flushed before offsets commit; a crash can repeat records.
        case atLeastOnce = "at-least-once"
    }

    public var guarantee: Guarantee
    /// How long one transaction collects records before it commits.
    public var commitInterval: Duration
    /// The consumer group whose committed offsets track the pipeline; the pipeline's name
    /// when nil.
    public var consumerGroup: String?
    /// Where each state store keeps its committed state, by store name; stores not listed are
    /// in memory (restored from checkpoint + changelog on start).
    public var storeBackends: [String: StoreBackend]
    /// How many threads run the pipeline's workers (one worker per input partition, worker P on
    /// thread P mod threads); one per core when nil.
    public var threads: Int?
    /// What happens to records that fail, per failure point, and the backoff between retries.
    public var retry: RetryPolicy
    /// What the pipeline does when a committed offset is outside its source partition (below
    /// the log start after retention, past the log end after a truncation), or retention deletes
    /// records under it before it read them. `.fail` by default under both guarantees: going on
    /// either skips records (below the start), which neither guarantee allows, or reprocesses
    /// records whose effects are already committed (past the end), which breaks exactly-once and
    /// is only sometimes what an at-least-once pipeline wants; so going on must be chosen.
    public var offsetOutOfRange: OffsetOutOfRangePolicy
    /// Whether every committed transaction appends its audit record to `<pipeline>.audit`, in
    /// the same transaction (on by default: one small record per commit). At-least-once
    /// pipelines keep no audit trail whatever this says: their writes and offsets do not commit
    /// together, so no record could vouch for them.
    public var audit: Bool
    /// Whether each output record carries a `sluice.source` header naming the input record that
    /// caused it (`topic/partition/offset`), so `pipeline audit trace` names the exact output
    /// records; off by default (it costs bytes per output record).
    public var lineageHeaders: Bool

    public init(
        guarantee: Guarantee = .exactlyOnce, commitInterval: Duration = .milliseconds(100), consumerGroup: String? = nil,
        retry: RetryPolicy = RetryPolicy(), threads: Int? = nil, storeBackends: [String: StoreBackend] = [:],
        offsetOutOfRange: OffsetOutOfRangePolicy = .fail, audit: Bool = true, lineageHeaders: Bool = false
    ) {
        precondition(threads.map { $0 >= 1 } ?? true, "a pipeline needs at least one thread")
        self.guarantee = guarantee
        self.commitInterval = commitInterval
        self.consumerGroup = consumerGroup
        self.retry = retry
        self.threads = threads
        self.storeBackends = storeBackends
        self.offsetOutOfRange = offsetOutOfRange
        self.audit = audit
        self.lineageHeaders = lineageHeaders
    }
}

/// What a pipeline does with a committed offset (or position) outside its source partition's
/// offsets. Whatever it does, it says so: `.fail` stops the pipeline with an error naming the
/// topic, partition, committed offset, log start and end and the records lost; the others log a
/// warning with the same numbers and count the records lost per partition in the run's
/// statistics.
public enum OffsetOutOfRangePolicy: String, Sendable, Equatable, CaseIterable {
    /// Stop the pipeline (the default).
    case fail
    /// Go on from the partition's log start offset: below the start, the deleted records are
    /// lost; past the end (a truncated log), every record there is processed again.
    case earliest
    /// Go on from the partition's log end offset: every record there now is skipped.
    case latest
}

/// Where a state store keeps its committed state. Either way the store is transactional, has a
/// changelog, and restores exactly to its last commit.
public enum StoreBackend: String, Sendable, Equatable {
    /// In memory (the default): fastest; restored from its checkpoint plus the changelog after it.
    case memory
    /// In RocksDB under `<data-dir>/state/<pipeline>/<store>/<partition>.rocksdb`, for state
    /// larger than memory; it keeps its state and the changelog offset it reflects across
    /// restarts, so a restore replays only the changelog after that offset.
    case rocksDB = "rocksdb"
}

/// The pipelines an executable ships, in the order `pipeline list` shows them.
///
/// - Invariant: names are unique (checked at construction).
public struct PipelineCatalog: Sendable {
    public let pipelines: [any PipelineDefinition]

    public init(_ pipelines: [any PipelineDefinition]) {
        var seen = Set<String>()
        for pipeline in pipelines {
            precondition(seen.insert(pipeline.name).inserted, "two pipelines are named '\(pipeline.name)'")
        }
        self.pipelines = pipelines
    }

    /// The pipeline called `name`.
    public func pipeline(named name: String) -> (any PipelineDefinition)? {
        pipelines.first { $0.name == name }
    }
}
