/// How the runtime creates a sink's topic when it does not exist yet; an existing topic keeps
/// its configuration.
///
/// A sink's topic never copies a source's configuration: unless the sink declares otherwise it
/// has delete cleanup and the topic defaults (7 days' retention, no size bound), with the
/// sources' partition count.
///
/// ```swift
/// table.sink("customer-tiers", value: .json(Tier.self), topic: .compacted)
/// stream.sink("audit-trail", value: .json(Entry.self), topic: SinkTopic(retention: .seconds(90 * 86_400)))
/// ```
public struct SinkTopic: Sendable, Equatable {
    /// What happens to a sink topic's old records.
    public enum Cleanup: String, Sendable, Equatable {
        /// Deleted by age (``SinkTopic/retention``).
        case delete
        /// Compacted: the latest record per key is kept forever (every record needs a key).
        case compact
    }

    public var cleanup: Cleanup
    /// How long records are kept with delete cleanup; nil for the topic default (7 days).
    public var retention: Duration?

    /// - Precondition: `retention` is positive when given.
    public init(cleanup: Cleanup = .delete, retention: Duration? = nil) {
        precondition(retention.map { $0 > .zero } ?? true, "a sink topic's retention must be positive")
        self.cleanup = cleanup
        self.retention = retention
    }

    /// Delete cleanup and the topic defaults (what a sink gets when it declares nothing).
    public static let standard = SinkTopic()
    /// The latest value per key kept forever, for a table's changes.
    public static let compacted = SinkTopic(cleanup: .compact)
}
