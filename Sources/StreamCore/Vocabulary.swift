/// The engine's vocabulary: distinct types for offsets, partitions, producer identities and
/// timestamps, so that a byte position can never be passed where a record offset is expected.
///
/// Glossary (one meaning per word): *offset* is a record's logical position in a partition;
/// *position* is a byte position in a file; *epoch* is a producer's fencing generation;
/// *sync* is an fsync; *commit* is a transaction commit only.

/// A record's logical position in a partition. Offsets start at 0 and only grow.
package struct Offset: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    package var rawValue: Int64
    package init(rawValue: Int64) { self.rawValue = rawValue }
    package init(_ value: Int64) { self.rawValue = value }
    package init(integerLiteral value: Int64) { self.rawValue = value }
    package static func < (lhs: Offset, rhs: Offset) -> Bool { lhs.rawValue < rhs.rawValue }
    package static func + (lhs: Offset, rhs: Int64) -> Offset { Offset(lhs.rawValue + rhs) }
    package static func - (lhs: Offset, rhs: Offset) -> Int64 { lhs.rawValue - rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// A partition number within a topic, `0..<partitionCount`.
package struct PartitionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }
    package init(_ value: Int32) { self.rawValue = value }
    package init(_ value: Int) { self.rawValue = Int32(value) }
    package init(integerLiteral value: Int32) { self.rawValue = value }
    package static func < (lhs: PartitionID, rhs: PartitionID) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// A producer identity as in Kafka: `-1` means "no producer id" (a plain, non-idempotent batch).
package struct ProducerID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    package var rawValue: Int64
    package init(rawValue: Int64) { self.rawValue = rawValue }
    package init(_ value: Int64) { self.rawValue = value }
    package static let none = ProducerID(-1)
    package static func < (lhs: ProducerID, rhs: ProducerID) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// A producer's fencing generation; `-1` means "no epoch".
package struct ProducerEpoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    package var rawValue: Int16
    package init(rawValue: Int16) { self.rawValue = rawValue }
    package init(_ value: Int16) { self.rawValue = value }
    package static let none = ProducerEpoch(-1)
    package static func < (lhs: ProducerEpoch, rhs: ProducerEpoch) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// Milliseconds since the Unix epoch, as Kafka stores them. `-1` means "no timestamp".
package struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    package var rawValue: Int64
    package init(rawValue: Int64) { self.rawValue = rawValue }
    package init(milliseconds: Int64) { self.rawValue = milliseconds }
    package var milliseconds: Int64 { rawValue }
    package static let none = Timestamp(milliseconds: -1)
    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// A topic name, validated as Kafka validates them — characters of `[a-zA-Z0-9._-]`, neither
/// `.` nor `..` — but at most 246 characters, not Kafka's 249: a topic is a directory named
/// after it, built as `staging/creating-<topic>` and deleted through `staging/deleting-<topic>`,
/// and those names must fit the file system's 255 bytes per path component.
package struct TopicName: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    package let rawValue: String

    /// The longest file name (path component) the file systems we run on allow, in bytes.
    package static let fileNameBytesMax = 255
    /// The longest prefix a topic's directory name gets while it is created or deleted
    /// (`creating-`, `deleting-`).
    package static let stagingPrefixBytesMax = 9
    /// The longest legal topic name, in characters (ASCII, so also bytes): 246.
    package static let lengthMax = fileNameBytesMax - stagingPrefixBytesMax

    /// Fails for names that are not legal topic names.
    package init?(rawValue: String) {
        guard TopicName.problem(with: rawValue) == nil else { return nil }
        self.rawValue = rawValue
    }

    /// Validates `name`, throwing an error that says what is wrong with it.
    package init(validating name: String) throws(InvalidTopicName) {
        if let problem = TopicName.problem(with: name) { throw InvalidTopicName(name: name, reason: problem) }
        self.rawValue = name
    }

    /// Why `name` is not a legal topic name, or nil when it is.
    package static func problem(with name: String) -> String? {
        if name.isEmpty { return "the name is empty" }
        if name == "." || name == ".." { return "'.' and '..' are not allowed" }
        if name.utf8.count > lengthMax { return "longer than \(lengthMax) characters" }
        for byte in name.utf8 {
            let legal = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x5F || byte == 0x2D
            if !legal { return "only ASCII letters, digits, '.', '_' and '-' are allowed" }
        }
        return nil
    }

    /// Internal topics (`__consumer_offsets`, `__transaction_state`, …) start with two underscores.
    package var isInternal: Bool { rawValue.hasPrefix("__") }
    package static func < (lhs: TopicName, rhs: TopicName) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { rawValue }
}

/// The error for an illegal topic name.
package struct InvalidTopicName: Error, CustomStringConvertible {
    package let name: String
    package let reason: String
    package var description: String { "invalid topic name '\(name)': \(reason)" }
}

/// One partition of one topic.
package struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var topic: TopicName
    package var partition: PartitionID
    package init(_ topic: TopicName, _ partition: PartitionID) {
        self.topic = topic
        self.partition = partition
    }
    package static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
    package var description: String { "\(topic)/\(partition)" }
}

/// A record header: a UTF-8 key and an optional byte value, as in Kafka.
package struct RecordHeader: Hashable, Sendable {
    package var key: String
    package var value: [UInt8]?
    package init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
    package init(_ key: String, _ value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }
}
