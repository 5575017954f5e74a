/// A pipeline users declare in `Pipelines/` and run with `swift run pipeline run NAME`.
///
/// This is the DSL's entry point; the operators, state stores and the exactly-once runtime
/// build on the log and transaction layers beneath.
public protocol PipelineDefinition: Sendable {
    /// The name the CLI knows the pipeline by (`order-totals`); unique in a catalog.
    var name: String { get }
    /// One line for `pipeline list`.
    var summary: String { get }
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
