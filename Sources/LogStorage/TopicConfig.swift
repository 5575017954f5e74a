package import RecordFormat

/// What to do with old segments: delete them by age and size, or compact them by key.
package enum CleanupPolicy: String, Codable, Sendable, CaseIterable {
    case delete
    case compact
}

/// A topic's persistent configuration, stored as `topic.json` in its directory.
///
/// Every bound has a name and a unit (`segmentBytesMax`, `retentionMilliseconds`); `-1` on a
/// retention bound means "unbounded", as in Kafka.
package struct TopicConfig: Codable, Sendable, Equatable {
    /// Number of partitions, 1...`partitionCountMax`.
    package var partitionCount: Int
    /// The codec every batch of this topic is written with.
    package var compression: CompressionCodecName
    /// Roll the active segment once it would pass this many bytes.
    package var segmentBytesMax: Int
    /// Roll the active segment once its first record is this old.
    package var segmentAgeMilliseconds: Int64
    /// Delete segments whose newest record is older than this (`-1`: forever).
    package var retentionMilliseconds: Int64
    /// Delete the oldest segments while the partition is larger than this (`-1`: unbounded).
    package var retentionBytes: Int64
    /// Delete old segments, or compact by key.
    package var cleanupPolicy: CleanupPolicy
    /// Tombstones older than this are removed by compaction.
    package var deleteRetentionMilliseconds: Int64
    /// The largest batch accepted, in bytes (Kafka's `max.message.bytes`).
    package var batchBytesMax: Int
    /// One offset-index entry per this many bytes of log.
    package var indexIntervalBytes: Int
    /// The schema registry subject every record value must belong to (`value.subject`): Avro in
    /// Confluent's wire format with a schema id registered under it. Nil: any value. Enforced by
    /// `pipeline produce` and the server's Produce, not by the log (nil in older `topic.json`s).
    package var valueSubject: String? = nil

    package static let partitionCountMax = 1024
    package static let segmentBytesLimit = 1 << 30

    package init(
        partitionCount: Int = 1,
        compression: CompressionCodecName = .none,
        segmentBytesMax: Int = 128 << 20,
        segmentAgeMilliseconds: Int64 = 7 * 24 * 3_600_000,
        retentionMilliseconds: Int64 = 7 * 24 * 3_600_000,
        retentionBytes: Int64 = -1,
        cleanupPolicy: CleanupPolicy = .delete,
        deleteRetentionMilliseconds: Int64 = 24 * 3_600_000,
        batchBytesMax: Int = 1_048_588,
        indexIntervalBytes: Int = 4096
    ) {
        self.partitionCount = partitionCount
        self.compression = compression
        self.segmentBytesMax = segmentBytesMax
        self.segmentAgeMilliseconds = segmentAgeMilliseconds
        self.retentionMilliseconds = retentionMilliseconds
        self.retentionBytes = retentionBytes
        self.cleanupPolicy = cleanupPolicy
        self.deleteRetentionMilliseconds = deleteRetentionMilliseconds
        self.batchBytesMax = batchBytesMax
        self.indexIntervalBytes = indexIntervalBytes
    }

    /// The configuration of internal compacted topics (`__consumer_offsets`, …).
    package static func compacted(partitionCount: Int) -> TopicConfig {
        TopicConfig(
            partitionCount: partitionCount, segmentBytesMax: 16 << 20, retentionMilliseconds: -1,
            cleanupPolicy: .compact)
    }

    /// Why this configuration is not usable, or nil.
    package func problem() -> String? {
        if partitionCount < 1 || partitionCount > TopicConfig.partitionCountMax {
            return "partitions must be between 1 and \(TopicConfig.partitionCountMax), not \(partitionCount)"
        }
        if segmentBytesMax < 1024 || segmentBytesMax > TopicConfig.segmentBytesLimit {
            return "segment size must be between 1 KiB and 1 GiB, not \(segmentBytesMax) bytes"
        }
        if batchBytesMax < 64 || batchBytesMax > segmentBytesMax {
            return "the batch size limit (\(batchBytesMax) bytes) must be at least 64 and at most the segment size"
        }
        if segmentAgeMilliseconds <= 0 { return "segment age must be positive" }
        if retentionMilliseconds < -1 || retentionMilliseconds == 0 { return "retention time must be positive or -1" }
        if retentionBytes < -1 || retentionBytes == 0 { return "retention size must be positive or -1" }
        if indexIntervalBytes < 1 { return "index interval must be positive" }
        if compression.codec == nil { return "unsupported compression \(compression.rawValue)" }
        return nil
    }
}

/// A codec by its configuration name; only codecs this engine writes are accepted.
package enum CompressionCodecName: String, Codable, Sendable, CaseIterable {
    case none
    case lz4
    case zstd

    package var codec: CompressionCodec? {
        switch self {
        case .none: return CompressionCodec.none
        case .lz4: return .lz4
        case .zstd: return .zstd
        }
    }
}
