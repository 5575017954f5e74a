/// A pipeline's dataflow: its sources, the operators between them and its sinks.
///
/// Built once from a ``PipelineDefinition/body``, then instantiated once per worker (one input
/// partition): ``compile(for:)`` gives, per source topic, the function that runs one raw record
/// through every operator with that worker's state and output.
public struct Topology: Sendable {
    let graphs: [TopologyGraph]

    init(_ graphs: [TopologyGraph]) {
        var unique: [TopologyGraph] = []
        for graph in graphs where !unique.contains(where: { $0 === graph }) { unique.append(graph) }
        self.graphs = unique
    }

    /// The topics the pipeline reads.
    public var sourceTopics: [String] { graphs.flatMap { $0.sources.map(\.topic) }.uniqued() }

    /// The topics the pipeline writes.
    public var sinkTopics: [String] { graphs.flatMap(\.sinkTopics).uniqued() }

    /// The state stores the pipeline keeps, by name.
    public var storeNames: [String] { graphs.flatMap(\.storeNames).uniqued() }

    /// Per source topic, the function that processes one raw record on `context`'s worker.
    public func compile(for context: any ProcessingContext) -> [String: (RawRecord) throws -> Void] {
        var result: [String: [(RawRecord) throws -> Void]] = [:]
        for graph in graphs {
            for source in graph.sources { result[source.topic, default: []].append(source.compile(context)) }
        }
        return result.mapValues { handlers in
            handlers.count == 1 ? handlers[0] : { record in for handler in handlers { try handler(record) } }
        }
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
/// Thread-safety: built on one thread; read-only once the body has been evaluated.
final class TopologyGraph: @unchecked Sendable {
    struct SourceEntry {
        let topic: String
        let compile: (any ProcessingContext) -> (RawRecord) throws -> Void
    }

    private(set) var sources: [SourceEntry] = []
    private(set) var sinkTopics: [String] = []
    private(set) var storeNames: [String] = []
    private(set) var operatorCount = 0

    func addSource(_ entry: SourceEntry) { sources.append(entry) }
    func addSink(_ topic: String) { sinkTopics.append(topic) }
    func addStore(_ name: String) {
        precondition(!storeNames.contains(name), "two operators use the state store '\(name)'")
        storeNames.append(name)
    }

    /// A name for an operator without one (`count-1`, …), stable for a given body.
    func nextOperatorName(_ kind: String) -> String {
        operatorCount += 1
        return "\(kind)-\(operatorCount)"
    }

    /// Joins another graph into this one (for `merge`), so both keep one set of sources.
    func absorb(_ other: TopologyGraph) {
        guard other !== self else { return }
        sources += other.sources
        sinkTopics += other.sinkTopics
        for name in other.storeNames { addStore(name) }
        operatorCount += other.operatorCount
        other.sources = []
        other.sinkTopics = []
        other.storeNames = []
    }
}

/// A point in the dataflow producing records of one type; operators attach to it as children.
final class StreamNode<Key, Value>: @unchecked Sendable {
    typealias Downstream = (StreamRecord<Key, Value>) throws -> Void
    private var children: [(any ProcessingContext) -> Downstream] = []

    func attach(_ child: @escaping (any ProcessingContext) -> Downstream) { children.append(child) }

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
