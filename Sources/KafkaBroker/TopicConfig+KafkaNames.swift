package import LogStorage

/// A topic setting under its Kafka name, as DescribeConfigs and CreateTopics show it.
package struct KafkaConfigEntry: Sendable, Equatable {
    package var name: String
    package var value: String?
    package var readOnly: Bool
    /// Whether the value is the default (for a topic: the value a topic created without it gets).
    package var isDefault: Bool
    /// Kafka's `ConfigSource`: 1 a topic's own setting, 4 the broker's static setting, 5 the default.
    package var configSource: Int8
    package var isSensitive: Bool = false
    /// Kafka's `ConfigType`: 1 boolean, 2 string, 3 int, 5 long, 7 list.
    package var configType: Int8

    package static let topicConfigSource: Int8 = 1
    package static let staticBrokerConfigSource: Int8 = 4
    package static let defaultConfigSource: Int8 = 5
}

/// Why a Kafka-named topic setting was refused.
package struct KafkaConfigProblem: Error, Sendable, Equatable {
    package var name: String
    package var message: String
}

extension TopicConfig {
    /// The topic settings a Kafka client can set and read, by Kafka name. `compression.type`
    /// takes `producer` (Kafka's default: batches are kept as the producer compressed them),
    /// `none`, `lz4` or `zstd`. This engine never recompresses a client's batch whatever the
    /// setting: it is the codec the engine's own writers (pipelines, `pipeline produce`) use, and
    /// `producer` means theirs are not compressed. gzip and snappy are refused: the engine reads
    /// neither.
    package static let kafkaNames = [
        "cleanup.policy", "compression.type", "delete.retention.ms", "max.message.bytes", "retention.bytes",
        "retention.ms", "segment.bytes", "segment.ms",
    ]

    /// This configuration with one Kafka-named setting applied.
    /// - Throws: an unknown name, or a value that does not parse (the whole configuration's
    ///   bounds are checked by ``problem()`` afterwards).
    package mutating func apply(kafkaName name: String, value: String?) throws(KafkaConfigProblem) {
        guard let value else { throw KafkaConfigProblem(name: name, message: "\(name) needs a value") }
        func long() throws(KafkaConfigProblem) -> Int64 {
            guard let number = Int64(value.trimmingWhitespace) else {
                throw KafkaConfigProblem(name: name, message: "\(name) must be a number, not '\(value)'")
            }
            return number
        }
        func int() throws(KafkaConfigProblem) -> Int {
            let number = try long()
            guard number >= Int64(Int32.min), number <= Int64(Int32.max) else {
                throw KafkaConfigProblem(name: name, message: "\(name) must fit 32 bits, not \(number)")
            }
            return Int(number)
        }
        switch name {
        case "cleanup.policy":
            guard let policy = CleanupPolicy(rawValue: value.trimmingWhitespace.lowercased()) else {
                throw KafkaConfigProblem(name: name, message: "cleanup.policy must be delete or compact (not both), not '\(value)'")
            }
            cleanupPolicy = policy
        case "compression.type":
            switch value.trimmingWhitespace.lowercased() {
            case "producer", "none", "uncompressed": compression = .none
            case "lz4": compression = .lz4
            case "zstd": compression = .zstd
            default: throw KafkaConfigProblem(name: name, message: "compression.type must be producer, none, lz4 or zstd, not '\(value)'")
            }
        case "delete.retention.ms": deleteRetentionMilliseconds = try long()
        case "max.message.bytes": batchBytesMax = try int()
        case "retention.bytes": retentionBytes = try long()
        case "retention.ms": retentionMilliseconds = try long()
        case "segment.bytes": segmentBytesMax = try int()
        case "segment.ms": segmentAgeMilliseconds = try long()
        default:
            throw KafkaConfigProblem(name: name, message: "unknown or unsupported topic config \(name)")
        }
    }

    /// The value of one Kafka-named setting, as Kafka spells it.
    package func kafkaValue(_ name: String) -> String? {
        switch name {
        case "cleanup.policy": cleanupPolicy.rawValue
        case "compression.type": compression == .none ? "producer" : compression.rawValue
        case "delete.retention.ms": String(deleteRetentionMilliseconds)
        case "max.message.bytes": String(batchBytesMax)
        case "retention.bytes": String(retentionBytes)
        case "retention.ms": String(retentionMilliseconds)
        case "segment.bytes": String(segmentBytesMax)
        case "segment.ms": String(segmentAgeMilliseconds)
        default: nil
        }
    }

    /// Every Kafka-named setting, marked default where it equals `defaults`'s.
    package func kafkaEntries(defaults: TopicConfig) -> [KafkaConfigEntry] {
        TopicConfig.kafkaNames.map { name in
            let value = kafkaValue(name)
            let isDefault = value == defaults.kafkaValue(name)
            let type: Int8 = switch name {
            case "cleanup.policy": 7
            case "compression.type": 2
            case "max.message.bytes", "segment.bytes": 3
            default: 5
            }
            return KafkaConfigEntry(name: name, value: value, readOnly: false, isDefault: isDefault,
                                    configSource: isDefault ? KafkaConfigEntry.defaultConfigSource : KafkaConfigEntry.topicConfigSource,
                                    configType: type)
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
