package import Sluice
package import StreamCore
package import LogStorage
package import Transactions
import StateStores

/// What a replay will do, computed without changing anything (shown before the confirmation).
///
/// - Invariant: a partition's `rewound` offset is never after its `committed` offset (a replay
///   never skips input), and a plan with stores either rewinds every source partition that has
///   consumed input or is refused (see ``ReplayRefusal``).
package struct ReplayPlan: Sendable {
    /// One partition the group reads: its committed offset now (nil when it has none) and the
    /// offset it is set to.
    package struct PartitionRewind: Sendable, Equatable {
        /// The partition.
        package var topicPartition: TopicPartition
        /// The partition's log start offset.
        package var earliest: Offset
        /// The group's committed offset now (nil when it has none).
        package var committed: Offset?
        /// The offset the group is set to: for a source partition within `earliest...committed`;
        /// for a repartition topic partition its end (see ``ReplayPlan/repartitions``).
        package var rewound: Offset
        /// Whether the group moves back in this partition (`rewound` before where it would
        /// resume now).
        package var isRewound: Bool
    }

    /// The pipeline's name.
    package var pipeline: String
    /// `configuration.consumerGroup ?? pipeline.name`.
    package var group: String
    /// What `--from` asked for.
    package var start: ReplayStart
    /// Every partition of every source topic the user's services write (not repartition topics).
    package var partitions: [PartitionRewind]
    /// Every partition of the pipeline's repartition topics, set to its end: what they hold was
    /// derived from input the rewind processes again, which writes it again, so reading it too
    /// would count it twice.
    package var repartitions: [PartitionRewind]
    /// The pipeline's state stores, all reset to empty.
    package var stores: [String]
    /// The stores' changelog topics that exist (deleted, then recreated empty).
    package var changelogTopics: [TopicName]
    /// Partitions of the sources, hence of every changelog.
    package var partitionCount: Int
    /// The workers' transactional ids (`<pipeline>-<P>`) the coordinator knows (fenced).
    package var workerTransactionalIDs: [String]
    /// Whether emptying the stores drops state of input the rewind skips: the pipeline has
    /// stores, and some partition is rewound to after its log start, or retention already
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
///    topics (`<pipeline>-<store>-changelog`), and create the changelogs again, empty;
/// 4. commit the rewound offsets for the group through the consumer-offsets path, and the end
///    of every repartition topic partition (the rerun writes their contents again);
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
    ///
    /// Each source partition goes to the offset `start` names, but never forward past where the
    /// group resumes now (its committed offset, else the log start). Repartition topics go to
    /// their end.
    /// - Throws: ``ReplayRefusal`` when no partition would move back, or when the pipeline has
    ///   stores (or repartition topics) and a source partition that has consumed input would not
    ///   move back; `LogError`
    ///   when a source topic is missing or unreadable; `StateStoreError` for a store name that
    ///   makes no legal changelog topic name.
    package static func plan(pipeline: any PipelineDefinition, start: ReplayStart, log: LogManager, coordinator: TransactionCoordinator) throws -> ReplayPlan {
        // Named after the pipeline, so that its repartition topics resolve to their real names.
        let topology = pipeline.topology
        let group = pipeline.configuration.consumerGroup ?? pipeline.name
        let internalTopics = Set(topology.internalTopics)
        var partitions: [ReplayPlan.PartitionRewind] = []
        var repartitions: [ReplayPlan.PartitionRewind] = []
        var prefixRemoved = false
        var partitionCount = 0
        for name in topology.sourceTopics {
            let topic = try log.topic(named: name)
            partitionCount = max(partitionCount, topic.partitionCount)
            for partition in try topic.partitions {
                let earliest = partition.logStartOffset
                let latest = partition.logEndOffset
                let committed = log.offsets.committed(group: group, partition.topicPartition)?.offset
                if internalTopics.contains(name) {
                    repartitions.append(.init(topicPartition: partition.topicPartition, earliest: earliest, committed: committed, rewound: latest,
                                              isRewound: false))
                    continue
                }
                if earliest > Offset(0) { prefixRemoved = true }
                let target: Offset
                switch start {
                case .earliest: target = earliest
                case .offset(let offset): target = min(max(offset, earliest), latest)
                case .timestamp(let timestamp): target = try partition.offset(forTimestamp: timestamp) ?? latest
                }
                let resumesAt = min(max(committed ?? earliest, earliest), latest)
                let rewound = min(target, resumesAt)
                partitions.append(.init(topicPartition: partition.topicPartition, earliest: earliest, committed: committed, rewound: rewound,
                                        isRewound: rewound < resumesAt))
            }
        }
        let stores = topology.storeNames
        let unrewound = partitions.filter { !$0.isRewound }.map { (topicPartition: $0.topicPartition, committed: $0.rewound) }
        guard partitions.contains(where: \.isRewound) else {
            throw ReplayRefusal(code: .rewindsNothing, pipeline: pipeline.name, start: start, unrewound: unrewound)
        }
        // A partition that consumed nothing (it resumes at its log start) built no state.
        let builtState = partitions.filter { !$0.isRewound && $0.rewound > $0.earliest }
        // Repartition topics are set to their end, so their unread records must be written again too.
        if (!stores.isEmpty || !repartitions.isEmpty) && !builtState.isEmpty {
            throw ReplayRefusal(code: .stateNotRebuilt, pipeline: pipeline.name, start: start,
                                unrewound: builtState.map { (topicPartition: $0.topicPartition, committed: $0.rewound) })
        }
        var changelogs: [TopicName] = []
        for store in stores {
            let name = try StoreChangelog.topicName(application: pipeline.name, store: store)
            if log.hasTopic(name) { changelogs.append(name) }
        }
        let ids = (0..<partitionCount).map { "\(pipeline.name)-\($0)" }.filter { coordinator.metadata($0) != nil }
        let skipsInput = partitions.contains { $0.rewound > $0.earliest }
        return ReplayPlan(pipeline: pipeline.name, group: group, start: start, partitions: partitions, repartitions: repartitions,
                          stores: stores, changelogTopics: changelogs, partitionCount: partitionCount, workerTransactionalIDs: ids,
                          losesState: !stores.isEmpty && (skipsInput || prefixRemoved))
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
        // Recreated empty, so that the run finds the state reset rather than lost (it refuses
        // to start when a changelog is missing while offsets remain: ``PipelineStateCheck``).
        for store in plan.stores {
            try StoreChangelog.ensureTopic(log: log, application: plan.pipeline, store: store, partitionCount: plan.partitionCount)
        }
        let consumer = LogConsumer(log: log, config: ConsumerConfig(groupID: plan.group))
        let all = plan.partitions + plan.repartitions
        try consumer.assign(all.map(\.topicPartition))
        var offsets: [TopicPartition: Offset] = [:]
        for partition in all { offsets[partition.topicPartition] = partition.rewound }
        try consumer.commit(offsets)
        summary.partitionsRewound = plan.partitions.filter(\.isRewound).count

        try storage.removeFile(marker)
        return summary
    }
}
