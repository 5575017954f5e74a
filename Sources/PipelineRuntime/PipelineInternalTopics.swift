package import Sluice

/// The topics a pipeline keeps for itself: deleting one silently loses what it holds (a store's
/// state, re-keyed records in flight, which dead letters were redriven, the audit trail), so
/// `pipeline topics delete` refuses them without `--force`.
///
/// | topic | holds |
/// |---|---|
/// | `<pipeline>-<store>-changelog` | the state of store `<store>` |
/// | `<pipeline>-<operator>-repartition` | re-keyed records between workers |
/// | `<pipeline>.dlq.redriven` | the redrive markers of its dead letters |
/// | `<pipeline>.audit` | its audit trail (protected by name before it exists) |
///
/// Thread-safety: stateless.
package enum PipelineInternalTopics {
    /// One internal topic and what it holds.
    package struct Entry: Sendable, Equatable {
        /// The topic's name.
        package var topic: String
        /// The pipeline that keeps it.
        package var pipeline: String
        /// What it holds, for messages (`the changelog of store customer-totals`).
        package var role: String
    }

    /// `<pipeline>.audit`.
    package static func auditTopic(of pipeline: String) -> String { "\(pipeline).audit" }

    /// Every internal topic of `pipeline`, whether or not it exists yet.
    package static func entries(of pipeline: any PipelineDefinition) -> [Entry] {
        let topology = pipeline.topology
        var entries = topology.storeNames.map {
            Entry(topic: "\(pipeline.name)-\($0)-changelog", pipeline: pipeline.name, role: "the changelog of store \($0)")
        }
        entries += topology.internalTopics.map { Entry(topic: $0, pipeline: pipeline.name, role: "a repartition topic") }
        entries.append(Entry(topic: DeadLetterTopics.redriveMarkers(of: pipeline.name), pipeline: pipeline.name,
                             role: "the redrive markers of its dead letters"))
        entries.append(Entry(topic: auditTopic(of: pipeline.name), pipeline: pipeline.name, role: "its audit trail"))
        return entries
    }

    /// The entry for `topic` if one of `pipelines` keeps it.
    package static func entry(for topic: String, in pipelines: [any PipelineDefinition]) -> Entry? {
        for pipeline in pipelines {
            if let entry = entries(of: pipeline).first(where: { $0.topic == topic }) { return entry }
        }
        return nil
    }
}
