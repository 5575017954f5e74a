/// A pipeline's dataflow: its sources, the operators between them and its sinks.
///
/// Built once from a ``PipelineDefinition/body``, named after its pipeline (internal topics such
/// as repartition topics are `<pipeline>-<name>-repartition`), then instantiated once per worker
/// (one input partition): ``compile(for:)`` gives, per source topic, the function that runs one
/// raw record through every operator with that worker's state and output.
public struct Topology: Sendable {
    private let parts: [TopologyGraph]

    init(_ graphs: [TopologyGraph]) { parts = graphs }

    /// The distinct graphs, each at its root (a part may have been absorbed by a later join).
    var graphs: [TopologyGraph] {
        var unique: [TopologyGraph] = []
        for graph in parts.map(\.root) where !unique.contains(where: { $0 === graph }) { unique.append(graph) }
        return unique
    }

    /// The same dataflow with its internal topics named after `pipeline`.
    public func named(_ pipeline: String) -> Topology {
        for graph in graphs { graph.pipelineName = pipeline }
        return self
    }

    /// The topics the pipeline reads (its internal topics included), tables first.
    public var sourceTopics: [String] {
        let entries = graphs.flatMap { graph in graph.sources.map { (name: graph.resolve($0.topic), isTable: $0.isTable) } }
        return (entries.filter(\.isTable) + entries.filter { !$0.isTable }).map(\.name).uniqued()
    }

    /// The topics the pipeline writes (its internal topics included).
    public var sinkTopics: [String] { graphs.flatMap { graph in graph.sinkTopics.map { graph.resolve($0) } }.uniqued() }

    /// The topic settings sinks declared (``SinkTopic``), by topic; sinks that declared none
    /// are not listed (they get ``SinkTopic/standard``).
    public var sinkTopicSettings: [String: SinkTopic] {
        graphs.reduce(into: [:]) { settings, graph in settings.merge(graph.sinkSettings) { first, _ in first } }
    }

    /// The topics the pipeline both writes and reads itself (repartition topics); the runtime
    /// creates them with the partition count of the sources.
    public var internalTopics: [String] {
        graphs.flatMap { graph in graph.sinkTopics.filter(\.isInternal).map { graph.resolve($0) } }.uniqued()
    }

    /// The state stores the pipeline keeps, by name.
    public var storeNames: [String] { graphs.flatMap(\.storeNames).uniqued() }

    /// The dead-letter topics chosen with `deadLetters(to:)`, besides the default
    /// `<pipeline>.dlq`.
    public var deadLetterTopics: [String] { graphs.flatMap(\.deadLetterTopics).uniqued() }

    /// Per source topic, the function that processes one raw record on `context`'s worker.
    public func compile(for context: any ProcessingContext) -> [String: (RawRecord) throws -> Void] {
        var result: [String: [(RawRecord) throws -> Void]] = [:]
        for graph in graphs {
            for source in graph.sources { result[graph.resolve(source.topic), default: []].append(source.compile(context)) }
        }
        return result.mapValues { handlers in
            handlers.count == 1 ? handlers[0] : { record in for handler in handlers { try handler(record) } }
        }
    }
}

extension PipelineDefinition {
    /// The pipeline's dataflow, named after it: what the runtime and the test driver run.
    public var topology: Topology { body.named(name) }
}

/// A topic an operator reads or writes: one of the user's, or one internal to the pipeline
/// whose full name is `<pipeline>-<suffix>`.
enum TopicReference: Hashable {
    case external(String)
    case `internal`(suffix: String)

    var isInternal: Bool {
        if case .internal = self { return true }
        return false
    }
}

/// Combines the sinks of a pipeline body into one ``Topology``.
@resultBuilder
public enum TopologyBuilder {
    public static func buildExpression(_ topology: Topology) -> Topology { topology }
    public static func buildBlock(_ parts: Topology...) -> Topology { Topology(parts.flatMap(\.graphs)) }
    public static func buildArray(_ parts: [Topology]) -> Topology { Topology(parts.flatMap(\.graphs)) }
    public static func buildOptional(_ part: Topology?) -> Topology { part ?? Topology([]) }
    public static func buildEither(first: Topology) -> Topology { first }
    public static func buildEither(second: Topology) -> Topology { second }
}

/// The mutable description shared by the streams derived from one or more sources.
///
/// Graphs that meet (a `merge`, a join) become one: the absorbed graph forwards to the one that
/// absorbed it, so every stream and table, whichever graph it was made on, adds to the same
/// ``root``.
///
/// Thread-safety: built on one thread; read-only once the body has been evaluated and named.
final class TopologyGraph: @unchecked Sendable {
    struct SourceEntry {
        let topic: TopicReference
        /// Whether the topic is read as a table (tables are listed first, so on equal
        /// timestamps their records are processed before the streams that look them up).
        var isTable = false
        let compile: (any ProcessingContext) -> (RawRecord) throws -> Void
    }

    private var forward: TopologyGraph?
    private var ownSources: [SourceEntry] = []
    private var ownSinkTopics: [TopicReference] = []
    private var ownStoreNames: [String] = []
    private var ownDeadLetterTopics: [String] = []
    private var ownSinkSettings: [String: SinkTopic] = [:]
    private var ownOperatorCount = 0
    /// Set by ``Topology/named(_:)``; internal topic names are built from it.
    fileprivate var ownPipelineName = "pipeline"

    /// The graph this one became part of (itself when it was never absorbed).
    var root: TopologyGraph {
        var graph = self
        while let next = graph.forward { graph = next }
        return graph
    }

    var sources: [SourceEntry] { root.ownSources }
    var sinkTopics: [TopicReference] { root.ownSinkTopics }
    var storeNames: [String] { root.ownStoreNames }
    var deadLetterTopics: [String] { root.ownDeadLetterTopics }
    var sinkSettings: [String: SinkTopic] { root.ownSinkSettings }
    var pipelineName: String {
        get { root.ownPipelineName }
        set { root.ownPipelineName = newValue }
    }

    func addSource(_ entry: SourceEntry) { root.ownSources.append(entry) }
    func addSink(_ topic: String) { root.ownSinkTopics.append(.external(topic)) }
    /// A sink with topic settings; two sinks of one topic must not declare different ones.
    func addSink(_ topic: String, settings: SinkTopic) {
        addSink(topic)
        guard settings != .standard else { return }
        let graph = root
        precondition(graph.ownSinkSettings[topic].map { $0 == settings } ?? true, "two sinks declare different settings for topic '\(topic)'")
        graph.ownSinkSettings[topic] = settings
    }
    func addSink(_ topic: TopicReference) { root.ownSinkTopics.append(topic) }
    func addDeadLetterTopic(_ topic: String) { root.ownDeadLetterTopics.append(topic) }
    func addStore(_ name: String) {
        let graph = root
        precondition(!graph.ownStoreNames.contains(name), "two operators use the state store '\(name)'")
        graph.ownStoreNames.append(name)
    }

    /// The full name of a topic; internal ones are named after the pipeline, so resolve them
    /// when compiling, after ``Topology/named(_:)``.
    func resolve(_ topic: TopicReference) -> String {
        switch topic {
        case .external(let name): return name
        case .internal(let suffix): return "\(pipelineName)-\(suffix)"
        }
    }

    /// A name for an operator without one (`count-1`, …), stable for a given body.
    func nextOperatorName(_ kind: String) -> String {
        let graph = root
        graph.ownOperatorCount += 1
        return "\(kind)-\(graph.ownOperatorCount)"
    }

    /// Joins another graph into this one (for `merge` and joins), so both keep one set of
    /// sources, sinks and stores.
    func absorb(_ other: TopologyGraph) {
        let target = root
        let absorbed = other.root
        guard absorbed !== target else { return }
        target.ownSources += absorbed.ownSources
        target.ownSinkTopics += absorbed.ownSinkTopics
        target.ownDeadLetterTopics += absorbed.ownDeadLetterTopics
        target.ownSinkSettings.merge(absorbed.ownSinkSettings) { mine, _ in mine }
        for name in absorbed.ownStoreNames { addStore(name) }
        target.ownOperatorCount += absorbed.ownOperatorCount
        absorbed.ownSources = []
        absorbed.ownSinkTopics = []
        absorbed.ownDeadLetterTopics = []
        absorbed.ownSinkSettings = [:]
        absorbed.ownStoreNames = []
        absorbed.forward = target
    }
}

/// A point in the dataflow producing records of one type; operators attach to it as children.
final class StreamNode<Key, Value>: @unchecked Sendable {
    typealias Downstream = (StreamRecord<Key, Value>) throws -> Void
    private var children: [(any ProcessingContext) -> Downstream] = []

    func attach(_ child: @escaping (any ProcessingContext) -> Downstream) { children.append(child) }

    /// Whether any operator reads this point (final once the body has been evaluated).
    var hasChildren: Bool { !children.isEmpty }

    /// The function that hands a record to every child, for one worker.
    func compile(_ context: any ProcessingContext) -> Downstream {
        let compiled = children.map { $0(context) }
        switch compiled.count {
        case 0: return { _ in }
        case 1: return compiled[0]
        default: return { record in for child in compiled { try child(record) } }
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
