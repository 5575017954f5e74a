import StreamCore
import RecordFormat

/// A snapshot of a partition's producer state at a segment boundary, `<base>.snapshot`, so that
/// opening a partition replays only the active segment.
///
/// Layout, big-endian:
/// ```
/// | magic "SPS2" | crc32c: u32 (of everything after it) | offset: i64 | count: i32 |
/// | per producer: producerId i64 | epoch i16 | lastSequence i32 | ongoingFirstOffset i64 (-1: none) |
/// |               lastAppendTimestamp i64 (-1: unknown) |
/// |               batchCount u8 | per batch: firstSequence i32 | lastSequence i32 | firstOffset i64 | lastOffset i64 |
/// ```
/// `lastAppendTimestamp` (the log's wall clock at the producer's last append, for producer
/// expiry) is new in "SPS2"; an "SPS1" snapshot, without it, still loads, its producers stamped
/// with the time of the recovery. Aborted transactions are not in it: they are in the segments'
/// `.txnindex` files.
enum ProducerStateSnapshot {
    static let magic: [UInt8] = Array("SPS2".utf8)
    static let magicWithoutTimestamps: [UInt8] = Array("SPS1".utf8)

    static func fileName(_ offset: Offset) -> String { LogSegment.fileName(offset, ".snapshot") }

    static func encode(_ state: ProducerStateMachine, offset: Offset) -> [UInt8] {
        var body: [UInt8] = []
        body.appendBigEndian(offset.rawValue)
        let producers = state.producers.sorted { $0.key < $1.key }
        body.appendBigEndian(Int32(producers.count))
        for (producer, entry) in producers {
            body.appendBigEndian(producer.rawValue)
            body.appendBigEndian(entry.epoch.rawValue)
            body.appendBigEndian(entry.lastSequence)
            body.appendBigEndian(entry.ongoingTransactionFirstOffset?.rawValue ?? -1)
            body.appendBigEndian(entry.lastAppendTimestamp.rawValue)
            body.append(UInt8(entry.recentBatches.count))
            for batch in entry.recentBatches {
                body.appendBigEndian(batch.firstSequence)
                body.appendBigEndian(batch.lastSequence)
                body.appendBigEndian(batch.firstOffset.rawValue)
                body.appendBigEndian(batch.lastOffset.rawValue)
            }
        }
        var bytes = magic
        bytes.appendBigEndian(CRC32C.checksum(body))
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Decodes a snapshot taken at `offset`, or nil when it is damaged or for another offset.
    static func decode(_ bytes: [UInt8], offset expected: Offset) -> ProducerStateMachine? {
        let hasTimestamps = Array(bytes.prefix(4)) == magic
        guard bytes.count >= 20, hasTimestamps || Array(bytes[0..<4]) == magicWithoutTimestamps,
              bytes.readBigEndianUInt32(at: 4) == CRC32C.checksum(bytes[8...])
        else { return nil }
        var reader = BigEndianReader(Array(bytes[8...]))
        guard let offset = reader.int64(), offset == expected.rawValue, let count = reader.int32(), count >= 0 else { return nil }
        var state = ProducerStateMachine()
        for _ in 0..<count {
            guard let producer = reader.int64(), let epoch = reader.int16(), let lastSequence = reader.int32(),
                  let ongoing = reader.int64(), let lastAppend = hasTimestamps ? reader.int64() : -1, let batches = reader.uint8()
            else { return nil }
            var entry = ProducerStateEntry(epoch: ProducerEpoch(epoch), lastSequence: lastSequence)
            entry.ongoingTransactionFirstOffset = ongoing >= 0 ? Offset(ongoing) : nil
            entry.lastAppendTimestamp = Timestamp(milliseconds: lastAppend)
            for _ in 0..<batches {
                guard let first = reader.int32(), let last = reader.int32(), let firstOffset = reader.int64(), let lastOffset = reader.int64() else { return nil }
                entry.recentBatches.append(.init(firstSequence: first, lastSequence: last, firstOffset: Offset(firstOffset), lastOffset: Offset(lastOffset)))
            }
            state.setEntry(ProducerID(producer), entry)
        }
        return state
    }
}
