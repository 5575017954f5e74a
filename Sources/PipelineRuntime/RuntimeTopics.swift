import Sluice
import LogStorage

/// The configuration the runtime gives the topics it creates for a pipeline; none copies a
/// source's cleanup or retention (a compacted table source must not make its outputs compacted,
/// a short-lived source must not shorten them).
///
/// | topic                                  | cleanup | retention                                   |
/// |----------------------------------------|---------|---------------------------------------------|
/// | sinks, side outputs, dead-letter topics | delete  | topic defaults, or what the sink declares   |
/// | `<pipeline>-<operator>-repartition`     | delete  | none: purged below the committed offsets    |
/// | `<pipeline>-<store>-changelog`          | compact | none (``StateStores/StoreChangelog``)       |
/// | `<pipeline>.audit`                      | delete  | 7 days (604800000 ms)                       |
///
/// All get the sources' partition count. Topics that exist already keep their configuration.
enum RuntimeTopics {
    /// A repartition topic: delete cleanup and no time or size retention, so nothing is deleted
    /// before the pipeline read it; ``RepartitionPurge`` deletes what it committed past. Segments
    /// roll at 16 MiB or 10 minutes, so purged segments are freed soon.
    static func repartition(partitionCount: Int) -> TopicConfig {
        TopicConfig(partitionCount: partitionCount, segmentBytesMax: 16 << 20, segmentAgeMilliseconds: 10 * 60_000,
                    retentionMilliseconds: -1, retentionBytes: -1, cleanupPolicy: .delete)
    }

    /// A sink, side output or dead-letter topic: the topic defaults unless the sink declared
    /// ``SinkTopic`` settings.
    static func output(partitionCount: Int, settings: SinkTopic = .standard) -> TopicConfig {
        var config = TopicConfig(partitionCount: partitionCount)
        switch settings.cleanup {
        case .delete:
            config.cleanupPolicy = .delete
            if let retention = settings.retention {
                let (seconds, attoseconds) = retention.components
                config.retentionMilliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            }
        case .compact:
            config.cleanupPolicy = .compact
            config.retentionMilliseconds = -1
        }
        return config
    }

    /// `<pipeline>.audit` (``WorkerAudit``): delete cleanup, 7 days' retention, whatever the
    /// topic defaults say.
    static func audit(partitionCount: Int) -> TopicConfig {
        var config = TopicConfig(partitionCount: partitionCount)
        config.cleanupPolicy = .delete
        config.retentionMilliseconds = 604_800_000
        return config
    }
}
