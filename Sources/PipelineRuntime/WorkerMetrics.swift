import CoreMetrics
import Dispatch
import LogStorage
import StateStores
import Sluice
import StreamCore

/// The names of the pipeline metric families (the contract `/metrics` is checked against) and
/// their labels. A ``WorkerMetrics`` records under these through swift-metrics; the process that
/// serves `/metrics` bootstraps a factory that knows their help texts.
package enum PipelineMetricNames {
    /// Committed input records, labels `pipeline`, `topic`, `partition`.
    package static let recordsIn = "sluice_records_in_total"
    /// Committed output records (sinks; dead letters are counted apart), labels `pipeline`, `topic`.
    package static let recordsOut = "sluice_records_out_total"
    /// Committed dead letters, labels `pipeline`, `stage`, `error_type`.
    package static let deadLetters = "sluice_dead_letters_total"
    /// Retry verdicts, labels `pipeline`, `stage`.
    package static let retries = "sluice_retries_total"
    /// Committed skip-and-count verdicts, label `pipeline`.
    package static let skipped = "sluice_skipped_total"
    /// From an input record's timestamp to the commit that made its effect visible, label `pipeline`.
    package static let deliveryLatency = "sluice_delivery_latency_seconds"
    /// One commit's duration, label `pipeline`.
    package static let commitLatency = "sluice_commit_latency_seconds"
    /// Commits, label `pipeline`.
    package static let commits = "sluice_commits_total"
    /// Transactions dropped, labels `pipeline`, `reason` (``AbortReason``).
    package static let aborts = "sluice_aborts_total"
    /// Workers fenced by a newer holder of their transactional id, label `pipeline`.
    package static let fenced = "sluice_fenced_total"
    /// Keys in a store's committed state after each commit, labels `pipeline`, `store`, `partition`.
    package static let stateStoreKeys = "sluice_state_store_keys"
    /// Seconds spent restoring a store at start-up, over its partitions, labels `pipeline`, `store`.
    package static let stateRestore = "sluice_state_restore_seconds"
}

/// Why a worker's open transaction did not commit (the `reason` label of `sluice_aborts_total`).
package enum AbortReason: String, Sendable {
    /// A retry verdict aborted and rewound the worker.
    case retry
    /// A newer worker fenced this one; its transaction was aborted by the new holder.
    case fenced
    /// The pipeline stopped on an error (a commit that failed, a fail verdict, a log error) with
    /// the transaction open; the next start or the coordinator's timeout aborts it.
    case failure
}

/// One worker's metrics: counts gathered while its transaction is open, added to the
/// swift-metrics counters only once the transaction commits and dropped when it aborts, so every
/// count is of committed records. Counter handles are created once per label set and kept.
///
/// Cheap on the hot path: input records are counted once per poll (one pass over the polled
/// records), outputs by runs of the same topic; dead letters are rare and counted one by one.
///
/// Thread-safety: confined to its worker's thread; the swift-metrics handles it records into
/// are thread-safe.
package final class WorkerMetrics {
    private let pipeline: String
    private var recordsInCounters: [TopicPartition: Counter] = [:]
    private var recordsOutCounters: [TopicName: Counter] = [:]
    private var deadLetterCounters: [DeadLetterKind: Counter] = [:]
    private var retryCounters: [String: Counter] = [:]
    private var abortCounters: [AbortReason: Counter] = [:]
    private let skippedCounter: Counter
    private let commitsCounter: Counter
    private let fencedCounter: Counter
    private let commitLatency: Timer
    private let deliveryLatency: Timer
    private var storeKeyGauges: [String: Gauge] = [:]
    /// What the process's `/status` reads; shared by the pipeline's workers.
    let activity: PipelineActivity?

    /// Counts of the open transaction.
    private var pendingIn: [TopicPartition: Int] = [:]
    private var pendingOut: [TopicName: Int] = [:]
    private var runTopic: TopicName?
    private var runCount = 0
    private var pendingDeadLetters: [DeadLetterKind: Int] = [:]
    /// The input timestamps (milliseconds) of the open transaction's records.
    private var pendingTimestamps: [Int64] = []

    private struct DeadLetterKind: Hashable {
        var stage: String
        var errorType: String
    }

    package init(pipeline: String, activity: PipelineActivity? = nil) {
        self.pipeline = pipeline
        self.activity = activity
        let dimensions = [("pipeline", pipeline)]
        skippedCounter = Counter(label: PipelineMetricNames.skipped, dimensions: dimensions)
        commitsCounter = Counter(label: PipelineMetricNames.commits, dimensions: dimensions)
        fencedCounter = Counter(label: PipelineMetricNames.fenced, dimensions: dimensions)
        commitLatency = Timer(label: PipelineMetricNames.commitLatency, dimensions: dimensions)
        deliveryLatency = Timer(label: PipelineMetricNames.deliveryLatency, dimensions: dimensions)
    }

    /// Records handed to the operators in the open transaction.
    func polled(_ records: [ConsumerRecord]) {
        var runPartition: TopicPartition?
        var count = 0
        pendingTimestamps.reserveCapacity(pendingTimestamps.count + records.count)
        for record in records {
            pendingTimestamps.append(record.timestamp.rawValue)
            if record.topicPartition == runPartition {
                count += 1
                continue
            }
            if let partition = runPartition { pendingIn[partition, default: 0] += count }
            runPartition = record.topicPartition
            count = 1
        }
        if let partition = runPartition { pendingIn[partition, default: 0] += count }
    }

    /// One output record sent to `topic` in the open transaction.
    @inline(__always)
    func produced(_ topic: TopicName) {
        if topic == runTopic {
            runCount += 1
            return
        }
        endOutputRun()
        runTopic = topic
        runCount = 1
    }

    private func endOutputRun() {
        if let topic = runTopic { pendingOut[topic, default: 0] += runCount }
        runTopic = nil
        runCount = 0
    }

    /// One dead letter sent in the open transaction.
    func deadLettered(stage: String, errorType: String) {
        pendingDeadLetters[DeadLetterKind(stage: stage, errorType: errorType), default: 0] += 1
    }

    /// A retry verdict (counted at once: the retry happens whether or not anything commits).
    func retried(stage: String) {
        if let counter = retryCounters[stage] { counter.increment(); return }
        let counter = Counter(label: PipelineMetricNames.retries, dimensions: [("pipeline", pipeline), ("stage", stage)])
        retryCounters[stage] = counter
        counter.increment()
    }

    /// The open transaction committed: its counts join the counters, its records' delivery
    /// latencies (commit time minus record timestamp, never negative) and the commit's duration
    /// join the histograms.
    func committed(skipped: Int, commitNanoseconds: UInt64, nowMilliseconds: Int64) {
        endOutputRun()
        var recordsIn = 0
        for (partition, count) in pendingIn {
            recordsInCounter(partition).increment(by: count)
            recordsIn += count
        }
        for (topic, count) in pendingOut { recordsOutCounter(topic).increment(by: count) }
        for (kind, count) in pendingDeadLetters { deadLetterCounter(kind).increment(by: count) }
        if skipped > 0 { skippedCounter.increment(by: skipped) }
        commitsCounter.increment()
        activity?.committed(records: recordsIn, nowNanoseconds: DispatchTime.now().uptimeNanoseconds)
        commitLatency.recordNanoseconds(Int64(clamping: commitNanoseconds))
        for timestamp in pendingTimestamps {
            deliveryLatency.recordNanoseconds(max(0, nowMilliseconds &- timestamp) &* 1_000_000)
        }
        discardPending()
    }

    /// The open transaction was dropped: nothing of it is counted but the abort.
    func aborted(_ reason: AbortReason) {
        discardPending()
        let counter = abortCounters[reason] ?? Counter(label: PipelineMetricNames.aborts, dimensions: [("pipeline", pipeline), ("reason", reason.rawValue)])
        abortCounters[reason] = counter
        counter.increment()
    }

    /// `stores`' committed key counts, after a restore or a commit of worker `partition`.
    func storesCommitted(_ stores: [any KeyValueAccess], partition: Int32) {
        for store in stores {
            let gauge = storeKeyGauges[store.name] ?? Gauge(label: PipelineMetricNames.stateStoreKeys, dimensions: [
                ("pipeline", pipeline), ("store", store.name), ("partition", String(partition)),
            ])
            storeKeyGauges[store.name] = gauge
            gauge.record(store.committedKeyCount)
        }
    }

    /// This worker restored its partition of `store` in `nanoseconds`.
    func restored(store: String, nanoseconds: UInt64) {
        activity?.restored(store: store, nanoseconds: nanoseconds)
    }

    /// The worker was fenced.
    func fenced() {
        fencedCounter.increment()
    }

    private func discardPending() {
        pendingIn.removeAll(keepingCapacity: true)
        pendingOut.removeAll(keepingCapacity: true)
        pendingDeadLetters.removeAll(keepingCapacity: true)
        pendingTimestamps.removeAll(keepingCapacity: true)
        runTopic = nil
        runCount = 0
    }

    private func recordsInCounter(_ partition: TopicPartition) -> Counter {
        if let counter = recordsInCounters[partition] { return counter }
        let counter = Counter(label: PipelineMetricNames.recordsIn, dimensions: [
            ("pipeline", pipeline), ("topic", partition.topic.rawValue), ("partition", String(partition.partition.rawValue)),
        ])
        recordsInCounters[partition] = counter
        return counter
    }

    private func recordsOutCounter(_ topic: TopicName) -> Counter {
        if let counter = recordsOutCounters[topic] { return counter }
        let counter = Counter(label: PipelineMetricNames.recordsOut, dimensions: [("pipeline", pipeline), ("topic", topic.rawValue)])
        recordsOutCounters[topic] = counter
        return counter
    }

    private func deadLetterCounter(_ kind: DeadLetterKind) -> Counter {
        if let counter = deadLetterCounters[kind] { return counter }
        let counter = Counter(label: PipelineMetricNames.deadLetters, dimensions: [
            ("pipeline", pipeline), ("stage", kind.stage), ("error_type", kind.errorType),
        ])
        deadLetterCounters[kind] = counter
        return counter
    }
}
