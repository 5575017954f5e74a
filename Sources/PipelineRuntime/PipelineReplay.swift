package import Sluice
package import StreamCore
package import LogStorage
package import Transactions
import StateStores

/// What a replay will do, computed without changing anything (shown before the confirmation).
package struct ReplayPlan: Sendable {
    /// One source partition: the group's committed offset now (nil when it has none) and the
    /// offset it is rewound to.
    package struct PartitionRewind: Sendable, Equatable {
        /// The source partition.
        package var topicPartition: TopicPartition
        /// The group's committed offset now (nil when it has none).
        package var committed: Offset?
        /// The offset the group is rewound to, within the partition's earliest…latest.
        package var rewound: Offset
    }

    /// The pipeline's name.
    package var pipeline: String
    /// `configuration.consumerGroup ?? pipeline.name`.
    package var group: String
    /// What `--from` asked for.
    package var start: ReplayStart
    /// Every partition of every source topic.
    package var partitions: [PartitionRewind]
    /// The pipeline's state stores, all reset to empty.
    package var stores: [String]
    /// The stores' changelog topics that exist (deleted by the replay).
    package var changelogTopics: [TopicName]
    /// The workers' transactional ids (`<pipeline>-<P>`) the coordinator knows (fenced).
    package var workerTransactionalIDs: [String]
    /// Whether emptying the stores drops state of input the rewind skips: the pipeline has
    /// stores, and it rewinds to an offset or time rather than `earliest`, or retention already
    /// removed the start of a source partition.
    package var losesState: Bool
}

/// What a replay did.
package struct ReplaySummary: Sendable, Equatable {
    /// Source partitions whose committed offset was set.
    package var partitionsRewound = 0
    /// Checkpoint files deleted.
    package var checkpointsRemoved = 0
    /// Changelog topics deleted.
    package var changelogTopicsDeleted = 0
    /// Worker transactional ids whose epoch was bumped.
    package var transactionsFenced = 0
}

/// `pipeline replay`: rewinds a pipeline's committed source offsets and resets its state, so the
/// next run processes the input again from there and rebuilds its stores from it.
///
/// Steps, each idempotent, in this order:
/// 1. write `<data-dir>/state/<pipeline>/replay-in-progress` (synced) — while it exists,
///    ``PipelineRunner`` refuses to run the pipeline, so a replay cut short by a crash cannot
///    leave rewound offsets with old state or old offsets with empty state: it must be rerun;
/// 2. fence the workers' transactional ids (`initTransactions` of every known `<pipeline>-<P>`,
///    which aborts a transaction left open and bumps the epoch, so no dangling transaction can
///    commit old offsets afterwards);
/// 3. delete the stores' checkpoints (`<data-dir>/state/<pipeline>/<store>/`) and changelog
///    topics (`<pipeline>-<store>-changelog`; a run recreates them empty);
/// 4. commit the rewound offsets for the group through the consumer-offsets path;
/// 5. remove the marker.
///
/// Output topics and the DLQ are left as they are: the rerun appends its output again.
///
/// - Precondition: the caller holds the data directory (the pipeline is not running).
/// Thread-safety: one thread.
package enum PipelineReplay {
    /// `<data-dir>/state/<pipeline>/replay-in-progress`.
    package static func markerPath(log: LogManager, pipeline: String) -> String {
        joinPath(log.directory, "state", pipeline, "replay-in-progress")
    }

    /// The `--from` of a replay of `pipeline` that was started and not finished, if any.
    package static func unfinishedReplay(log: LogManager, pipeline: String) -> String? {
        let path = markerPath(log: log, pipeline: pipeline)
        guard log.storage.exists(path) else { return nil }
        guard let file = try? log.storage.openFile(path, mode: .read) else { return "?" }
        defer { file.close() }
        return (try? file.readAll()).flatMap { String(validating: $0, as: UTF8.self) } ?? "?"
    }

    /// Computes what replaying `pipeline` from `start` changes.
    /// - Throws: `LogError` when a source topic is missing or unreadable; `StateStoreError` for a
    ///   store name that makes no legal changelog topic name.
    package static func plan(pipeline: any PipelineDefinition, start: ReplayStart, log: LogManager, coordinator: TransactionCoordinator) throws -> ReplayPlan {
        let topology = pipeline.body
        let group = pipeline.configuration.consumerGroup ?? pipeline.name
        var partitions: [ReplayPlan.PartitionRewind] = []
        var prefixRemoved = false
        var partitionCount = 0
        for name in topology.sourceTopics {
            let topic = try log.topic(named: name)
            partitionCount = max(partitionCount, topic.partitionCount)
            for partition in topic.partitions {
                let earliest = partition.logStartOffset
                let latest = partition.logEndOffset
                if earliest > Offset(0) { prefixRemoved = true }
                let rewound: Offset
                switch start {
                case .earliest: rewound = earliest
                case .offset(let offset): rewound = min(max(offset, earliest), latest)
                case .timestamp(let timestamp): rewound = try partition.offset(forTimestamp: timestamp) ?? latest
                }
                let committed = log.offsets.committed(group: group, partition.topicPartition)?.offset
                partitions.append(.init(topicPartition: partition.topicPartition, committed: committed, rewound: rewound))
            }
        }
        let stores = topology.storeNames
        var changelogs: [TopicName] = []
        for store in stores {
            let name = try StoreChangelog.topicName(application: pipeline.name, store: store)
            if log.hasTopic(name) { changelogs.append(name) }
        }
        let ids = (0..<partitionCount).map { "\(pipeline.name)-\($0)" }.filter { coordinator.metadata($0) != nil }
        let isEarliest = start == .earliest
        return ReplayPlan(pipeline: pipeline.name, group: group, start: start, partitions: partitions, stores: stores,
                          changelogTopics: changelogs, workerTransactionalIDs: ids,
                          losesState: !stores.isEmpty && (!isEarliest || prefixRemoved))
    }

    /// Carries out `plan` (see the steps above).
    package static func execute(_ plan: ReplayPlan, log: LogManager, coordinator: TransactionCoordinator) throws -> ReplaySummary {
        var summary = ReplaySummary()
        let storage = log.storage
        let stateDirectory = joinPath(log.directory, "state", plan.pipeline)
        let marker = markerPath(log: log, pipeline: plan.pipeline)
        try storage.createDirectory(stateDirectory)
        let file = try storage.openFile(marker, mode: .create)
        do {
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(Array(plan.start.description.utf8), at: 0)
            try file.sync()
        }

        for id in plan.workerTransactionalIDs {
            _ = try coordinator.initTransactions(transactionalID: id)
            summary.transactionsFenced += 1
        }
        for store in plan.stores {
            let directory = joinPath(stateDirectory, store)
            if storage.isDirectory(directory) {
                summary.checkpointsRemoved += try storage.listDirectory(directory).filter { $0.hasSuffix(".checkpoint") }.count
                try storage.removeDirectory(directory)
            }
        }
        for topic in plan.changelogTopics where log.hasTopic(topic) {
            try log.deleteTopic(topic)
            summary.changelogTopicsDeleted += 1
        }
        let consumer = LogConsumer(log: log, config: ConsumerConfig(groupID: plan.group))
        try consumer.assign(plan.partitions.map(\.topicPartition))
        var offsets: [TopicPartition: Offset] = [:]
        for partition in plan.partitions { offsets[partition.topicPartition] = partition.rewound }
        try consumer.commit(offsets)
        summary.partitionsRewound = offsets.count

        try storage.removeFile(marker)
        return summary
    }
}
