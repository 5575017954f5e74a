import StreamCore

/// The records of `__transaction_state`, in Kafka's own layouts (big-endian; strings as i16
/// length + UTF-8; arrays as i32 count):
/// ```
/// key   (v0): | version: i16 = 0 | transactionalId: string |
/// value (v0): | version: i16 = 0 | producerId: i64 | producerEpoch: i16 | transactionTimeoutMs: i32 |
///             | transactionStatus: i8 | partitions: [ topic: string | partitionIds: [i32] ] |
///             | lastUpdateTimestampMs: i64 | startTimestampMs: i64 |
/// ```
/// Sluice adds one record of its own, under a key Kafka never writes, to allocate producer ids
/// in blocks that survive restarts:
/// ```
/// key:   | version: i16 = 0x5100 | "producer-id-block" |      value: | version: i16 = 0 | blockEnd: i64 |
/// ```
enum TransactionLogFormat {
    static let producerIDBlockKeyVersion: Int16 = 0x5100

    enum Key: Equatable {
        case transaction(String)
        case producerIDBlock
    }

    static func encodeKey(_ key: Key) -> [UInt8] {
        var writer = BigEndianWriter()
        switch key {
        case .transaction(let id):
            writer.int16(0)
            writer.string(id)
        case .producerIDBlock:
            writer.int16(producerIDBlockKeyVersion)
            writer.string("producer-id-block")
        }
        return writer.bytes
    }

    static func decodeKey(_ bytes: [UInt8]) -> Key? {
        var reader = BigEndianReader(bytes)
        guard let version = reader.int16(), let text = reader.string() else { return nil }
        switch version {
        case 0: return .transaction(text)
        case producerIDBlockKeyVersion: return .producerIDBlock
        default: return nil
        }
    }

    static func encodeValue(_ metadata: TransactionMetadata) -> [UInt8] {
        var writer = BigEndianWriter()
        writer.int16(0)
        writer.int64(metadata.producerID.rawValue)
        writer.int16(metadata.producerEpoch.rawValue)
        writer.int32(metadata.timeoutMilliseconds)
        writer.int8(metadata.state.rawValue)
        let byTopic = Dictionary(grouping: metadata.participants, by: \.topic)
        writer.int32(Int32(byTopic.count))
        for topic in byTopic.keys.sorted() {
            writer.string(topic.rawValue)
            let partitions = byTopic[topic]!.map(\.partition.rawValue).sorted()
            writer.int32(Int32(partitions.count))
            for partition in partitions { writer.int32(partition) }
        }
        writer.int64(metadata.lastUpdateTimestamp.rawValue)
        writer.int64(metadata.startTimestamp.rawValue)
        return writer.bytes
    }

    static func decodeValue(_ bytes: [UInt8], transactionalID: String) -> TransactionMetadata? {
        var reader = BigEndianReader(bytes)
        guard let version = reader.int16(), version == 0, let producer = reader.int64(), let epoch = reader.int16(),
              let timeout = reader.int32(), let status = reader.int8(), let state = TransactionState(rawValue: status),
              let topicCount = reader.int32(), topicCount >= 0
        else { return nil }
        var participants = Set<TopicPartition>()
        for _ in 0..<topicCount {
            guard let topic = reader.string(), let name = TopicName(rawValue: topic), let count = reader.int32(), count >= 0 else { return nil }
            for _ in 0..<count {
                guard let partition = reader.int32() else { return nil }
                participants.insert(TopicPartition(name, PartitionID(partition)))
            }
        }
        guard let lastUpdate = reader.int64(), let start = reader.int64() else { return nil }
        return TransactionMetadata(
            transactionalID: transactionalID, producerID: ProducerID(producer), producerEpoch: ProducerEpoch(epoch),
            timeoutMilliseconds: timeout, state: state, participants: participants,
            startTimestamp: Timestamp(milliseconds: start), lastUpdateTimestamp: Timestamp(milliseconds: lastUpdate))
    }

    static func encodeProducerIDBlock(end: Int64) -> [UInt8] {
        var writer = BigEndianWriter()
        writer.int16(0)
        writer.int64(end)
        return writer.bytes
    }

    static func decodeProducerIDBlock(_ bytes: [UInt8]) -> Int64? {
        var reader = BigEndianReader(bytes)
        guard reader.int16() == 0, let end = reader.int64() else { return nil }
        return end
    }
}
