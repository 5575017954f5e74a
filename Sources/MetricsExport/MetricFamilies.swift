/// The metric families Sluice exports, each with its Prometheus help text: the contract names
/// `/metrics` is checked against from outside. A family recorded through swift-metrics under a
/// name missing here is still exported, with a generic help text (``SluiceMetricsFactory``).
///
/// Thread-safety: constants.
package enum MetricFamilies {
    /// Consumer lag per group and partition, in data records (set on each scrape).
    package static let consumerLag = "sluice_consumer_lag_records"
    /// Per served partition, set on each scrape.
    package static let logEndOffset = "sluice_log_end_offset"
    package static let lastStableOffset = "sluice_last_stable_offset"

    /// Family name → help text.
    package static let help: [String: String] = [
        "sluice_records_in_total": "Input records whose processing committed, per pipeline and input partition (aborted transactions are not counted).",
        "sluice_records_out_total": "Output records committed to sink topics, per pipeline and topic (dead letters are counted in sluice_dead_letters_total).",
        "sluice_dead_letters_total": "Records committed to a dead-letter topic, per pipeline, failure stage (decode, process, produce) and error type.",
        "sluice_retries_total": "Retry verdicts (each aborts and rewinds its worker), per pipeline and failure stage.",
        "sluice_skipped_total": "Records dropped by a committed skip-and-count verdict, per pipeline.",
        "sluice_delivery_latency_seconds": "From an input record's timestamp to the commit that makes its effect visible read-committed, per pipeline.",
        "sluice_commit_latency_seconds": "Duration of one worker commit (changelogs and offsets sent, the two-phase commit), per pipeline.",
        "sluice_commits_total": "Worker commits, per pipeline.",
        "sluice_aborts_total": "Worker transactions that did not commit, per pipeline and reason (retry, fenced, failure).",
        "sluice_fenced_total": "Times a pipeline stopped because a newer worker took over its transactional id.",
        "sluice_state_store_keys": "Keys in a state store's committed state, per pipeline, store and partition, after each commit (RocksDB stores: RocksDB's estimate).",
        "sluice_state_restore_seconds": "Seconds this process spent restoring a state store from its changelog at start-up, over all its partitions.",
        "sluice_broker_requests_total": "Kafka protocol requests answered, per API (Produce, Fetch, ...).",
        "sluice_broker_request_latency_seconds": "From a Kafka request's decoding to its response, per API (long-polling Fetches wait up to their max wait).",
        "sluice_broker_bytes_in_total": "Bytes read from Kafka client connections.",
        "sluice_broker_bytes_out_total": "Bytes written to Kafka client connections.",
        "sluice_broker_connections": "Kafka client connections open.",
        logEndOffset: "The offset after the last record of each partition (the high watermark).",
        lastStableOffset: "The first offset of each partition's oldest open transaction, or the log end offset when none is open.",
        consumerLag: "Data records after a consumer group's committed offset up to the last stable offset (transaction markers and aborted records not counted).",
    ]

    /// Buckets of families whose latencies are smaller than ``latencyBuckets`` resolve.
    package static let buckets: [String: [Duration]] = [
        "sluice_broker_request_latency_seconds": [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ],
    ]

    /// Histogram buckets for latencies, 1 ms to 60 s: commits take milliseconds, deliveries up to
    /// a commit interval plus queueing, and a stalled pipeline tens of seconds.
    package static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]
}
