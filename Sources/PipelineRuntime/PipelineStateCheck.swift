import Sluice
import StreamCore
import LogStorage
import StateStores

/// The start-up check that a pipeline's state is still there for the offsets committed with it.
///
/// A worker's committed input offsets and its stores' changelog records commit in the same
/// transactions, so while the group has consumed input of partition P (a committed offset after
/// the partition's log start, in any source topic), store partition P must restore to the state
/// those offsets were committed with. It cannot when the changelog topic is gone (deleted with
/// `topics delete --force`) or holds less than the store's checkpoint or durable offset says it
/// reflected (deleted and recreated): the run is then refused rather than resumed on empty
/// state, and the message says how to rebuild it. `pipeline replay` resets state and offsets
/// together (it recreates the changelogs empty), so a replayed pipeline passes.
///
/// Thread-safety: stateless; runs on the runner's thread before any worker starts.
enum PipelineStateCheck {
    /// Whether `group` has consumed input of partition `partition` of any of `sourceTopics`.
    static func offsetsRemain(group: String, partition: PartitionID, sourceTopics: [String], log: LogManager) -> Bool {
        for name in sourceTopics {
            guard let topic = try? log.topic(named: name), let partitionLog = try? topic.partition(partition) else { continue }
            if let committed = log.offsets.committed(group: group, partitionLog.topicPartition)?.offset,
               committed > partitionLog.logStartOffset {
                return true
            }
        }
        return false
    }

    /// - Throws: ``PipelineRunError`` when a store's changelog topic is missing while the group
    ///   has consumed input of some partition.
    static func requireChangelogs(pipeline: any PipelineDefinition, topology: Topology, partitionCount: Int, log: LogManager) throws {
        let group = pipeline.configuration.consumerGroup ?? pipeline.name
        for store in topology.storeNames {
            let changelog = try StoreChangelog.topicName(application: pipeline.name, store: store)
            if log.hasTopic(changelog) { continue }
            let consumed = (0..<partitionCount).filter {
                offsetsRemain(group: group, partition: PartitionID(Int32($0)), sourceTopics: topology.sourceTopics, log: log)
            }
            if !consumed.isEmpty {
                throw PipelineRunError(lostState(pipeline: pipeline.name, because: "changelog topic \(changelog) of store \(store) is missing"))
            }
        }
    }

    /// The refusal's text: what is wrong and how to rebuild the state.
    static func lostState(pipeline: String, because reason: String) -> String {
        "\(reason) while consumer group offsets of \(pipeline) remain, so its state is lost; refusing to run on it: run `pipeline replay \(pipeline) --from earliest` to rebuild the state from the input"
    }
}
