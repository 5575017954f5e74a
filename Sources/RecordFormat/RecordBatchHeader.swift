package import StreamCore

/// The fixed 61-byte header of a Kafka record batch, magic 2. All integers big-endian.
///
/// ```
///  byte  0 ┌──────────────────────────────┐
///          │ baseOffset            i64    │  ┐ log overhead (12 bytes):
///        8 │ batchLength           i32    │  ┘ batchLength counts the bytes after it
///       12 │ partitionLeaderEpoch  i32    │
///       16 │ magic                 i8 = 2 │
///       17 │ crc                   u32    │  CRC-32C of bytes 21 ..< end of batch
///       21 │ attributes            i16    │  ┐
///       23 │ lastOffsetDelta       i32    │  │
///       27 │ baseTimestamp         i64    │  │
///       35 │ maxTimestamp          i64    │  │ covered
///       43 │ producerId            i64    │  │ by the
///       51 │ producerEpoch         i16    │  │ crc
///       53 │ baseSequence          i32    │  │
///       57 │ recordCount           i32    │  │
///       61 │ records …  (compressed as a  │  │
///          │  whole when codec != none)   │  ┘
///          └──────────────────────────────┘
///
///  attributes:  bit 15 … 7 | 6              | 5       | 4             | 3             | 2 1 0
///               unused (0) | delete horizon | control | transactional | LogAppendTime | codec
/// ```
///
/// With the delete-horizon bit set (KIP-534), `baseTimestamp` is the delete horizon the log
/// cleaner set when it first kept the batch's tombstones or marker, and record timestamp deltas
/// are relative to it; records keep their own timestamps.
///
/// `baseOffset` and `partitionLeaderEpoch` lie outside the CRC so that the log can assign
/// them without recomputing it.
///
/// - Invariant (of a parsed header): `magic == 2`, `batchLength >= 49`.
package struct RecordBatchHeader: Sendable, Equatable {
    /// The offset of the batch's first record (its offsetDelta 0).
    package var baseOffset: Offset
    /// The number of bytes that follow this field: `totalSizeBytes - 12`.
    package var batchLength: Int32
    /// The leader epoch of the partition when the batch was appended; -1 when unknown.
    package var partitionLeaderEpoch: Int32
    /// The format version: always 2.
    package var magic: Int8
    /// The stored CRC-32C of bytes 21 to the end of the batch.
    package var crc: UInt32
    /// Codec, timestamp type, transactional and control bits (see the diagram).
    package var attributes: Int16
    /// The offset delta of the batch's last offset (which survives compaction even when the
    /// record itself does not).
    package var lastOffsetDelta: Int32
    /// The first record's timestamp; record timestamps are stored relative to it.
    package var baseTimestamp: Timestamp
    /// The largest record timestamp (or the append time for LogAppendTime batches).
    package var maxTimestamp: Timestamp
    /// The producer that wrote the batch, or `.none`.
    package var producerID: ProducerID
    /// The producer's fencing epoch, or `.none`.
    package var producerEpoch: ProducerEpoch
    /// The sequence number of the first record, or -1.
    package var baseSequence: Int32
    /// The number of records in the batch.
    package var recordCount: Int32

    /// The size of the fixed header, in bytes.
    package static let sizeBytes = 61
    /// The bytes of baseOffset and batchLength, which `batchLength` does not count.
    package static let logOverheadBytes = 12
    /// The smallest legal `batchLength`: a header with no records.
    package static let batchLengthMin = Int32(sizeBytes - logOverheadBytes)
    /// The magic byte of record batch v2.
    package static let currentMagic: Int8 = 2

    /// Byte position of `batchLength` within a batch.
    package static let batchLengthPosition = 8
    /// Byte position of `partitionLeaderEpoch` within a batch.
    package static let partitionLeaderEpochPosition = 12
    /// Byte position of `magic` within a batch.
    package static let magicPosition = 16
    /// Byte position of `crc` within a batch.
    package static let crcPosition = 17
    /// Byte position of `attributes`, where the CRC's coverage starts.
    package static let attributesPosition = 21

    /// Attribute bits 0-2: the compression codec.
    package static let codecMask: Int16 = 0x07
    /// Attribute bit 3: timestamps are LogAppendTime (set by the log) rather than CreateTime.
    package static let logAppendTimeFlag: Int16 = 0x08
    /// Attribute bit 4: the batch belongs to a transaction.
    package static let transactionalFlag: Int16 = 0x10
    /// Attribute bit 5: the batch holds a control record (a transaction marker).
    package static let controlFlag: Int16 = 0x20
    /// Attribute bit 6: `baseTimestamp` is the cleaner's delete horizon (KIP-534).
    package static let deleteHorizonFlag: Int16 = 0x40

    /// Creates a header from its fields, as they will be written.
    package init(
        baseOffset: Offset, batchLength: Int32, partitionLeaderEpoch: Int32, magic: Int8 = 2, crc: UInt32,
        attributes: Int16, lastOffsetDelta: Int32, baseTimestamp: Timestamp, maxTimestamp: Timestamp,
        producerID: ProducerID, producerEpoch: ProducerEpoch, baseSequence: Int32, recordCount: Int32
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// The codec in attribute bits 0-2, or nil for the unassigned values 5-7.
    package var codec: CompressionCodec? { CompressionCodec(rawValue: attributes & Self.codecMask) }
    /// Whether the batch is part of a transaction (attribute bit 4).
    package var isTransactional: Bool { attributes & Self.transactionalFlag != 0 }
    /// Whether the batch holds a control record (attribute bit 5).
    package var isControl: Bool { attributes & Self.controlFlag != 0 }
    /// Whether the cleaner set a delete horizon (attribute bit 6).
    package var hasDeleteHorizon: Bool { attributes & Self.deleteHorizonFlag != 0 }
    /// The time from which the cleaner may remove this batch's tombstones (or the batch, for a
    /// marker whose transaction has no data left), or nil when none was set.
    package var deleteHorizon: Timestamp? { hasDeleteHorizon ? baseTimestamp : nil }
    /// Whether timestamps are LogAppendTime (attribute bit 3); otherwise CreateTime.
    package var isLogAppendTime: Bool { attributes & Self.logAppendTimeFlag != 0 }
    /// The offset of the batch's last offset: `baseOffset + lastOffsetDelta`.
    package var lastOffset: Offset { baseOffset + Int64(lastOffsetDelta) }
    /// The next offset after this batch: `lastOffset + 1`.
    package var nextOffset: Offset { lastOffset + 1 }
    /// The whole batch's size in bytes: `12 + batchLength`.
    package var totalSizeBytes: Int { Self.logOverheadBytes + Int(batchLength) }

    /// Parses the header at the start of `bytes`.
    ///
    /// Checks that 61 bytes are present, `magic == 2` and `batchLength >= 49`; does *not* check
    /// the CRC nor that the whole batch is present (`RecordBatch` does).
    /// - Throws: `truncated`, `badMagic`, or `corruptRecords` for an impossible batchLength.
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(RecordFormatError) -> RecordBatchHeader {
        guard bytes.count >= sizeBytes else {
            throw RecordFormatError(
                .truncated, "a record batch header needs \(sizeBytes) bytes, only \(bytes.count) present")
        }
        let magic = Int8(bitPattern: bytes[magicPosition])
        guard magic == currentMagic else {
            throw RecordFormatError(.badMagic, "record batch magic is \(magic), expected \(currentMagic)")
        }
        let batchLength: Int32 = bytes.loadBigEndian(at: batchLengthPosition)
        guard batchLength >= batchLengthMin else {
            throw RecordFormatError(
                .corruptRecords, "record batch length \(batchLength) is below the minimum \(batchLengthMin)")
        }
        return RecordBatchHeader(
            baseOffset: Offset(bytes.loadBigEndian(at: 0, as: Int64.self)),
            batchLength: batchLength,
            partitionLeaderEpoch: bytes.loadBigEndian(at: partitionLeaderEpochPosition),
            magic: magic,
            crc: bytes.loadBigEndian(at: crcPosition),
            attributes: bytes.loadBigEndian(at: attributesPosition),
            lastOffsetDelta: bytes.loadBigEndian(at: 23),
            baseTimestamp: Timestamp(milliseconds: bytes.loadBigEndian(at: 27)),
            maxTimestamp: Timestamp(milliseconds: bytes.loadBigEndian(at: 35)),
            producerID: ProducerID(bytes.loadBigEndian(at: 43, as: Int64.self)),
            producerEpoch: ProducerEpoch(bytes.loadBigEndian(at: 51, as: Int16.self)),
            baseSequence: bytes.loadBigEndian(at: 53),
            recordCount: bytes.loadBigEndian(at: 57)
        )
    }

    /// Parses the header of the batch starting at `bytes[index]` (see `parse(_:)`).
    /// - Throws: `truncated` also when `index` is outside `bytes`.
    package static func parse(_ bytes: [UInt8], at index: Int) throws(RecordFormatError) -> RecordBatchHeader {
        guard index >= 0, index <= bytes.count else {
            throw RecordFormatError(.truncated, "batch position \(index) is outside a buffer of \(bytes.count) bytes")
        }
        return try bytes.withBytes { buffer throws(RecordFormatError) in
            try parse(UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    /// Writes the header's 61 bytes over `bytes[index ..< index + 61]`, CRC field included
    /// as stored in `crc`.
    /// - Precondition: the bytes exist.
    package func write(into bytes: inout [UInt8], at index: Int = 0) {
        precondition(index >= 0 && index + Self.sizeBytes <= bytes.count, "header does not fit the buffer")
        bytes.withUnsafeMutableBytes { buffer in
            func store<T: FixedWidthInteger>(_ value: T, _ position: Int) {
                buffer.storeBytes(of: value.bigEndian, toByteOffset: index + position, as: T.self)
            }
            store(baseOffset.rawValue, 0)
            store(batchLength, Self.batchLengthPosition)
            store(partitionLeaderEpoch, Self.partitionLeaderEpochPosition)
            store(magic, Self.magicPosition)
            store(crc, Self.crcPosition)
            store(attributes, Self.attributesPosition)
            store(lastOffsetDelta, 23)
            store(baseTimestamp.rawValue, 27)
            store(maxTimestamp.rawValue, 35)
            store(producerID.rawValue, 43)
            store(producerEpoch.rawValue, 51)
            store(baseSequence, 53)
            store(recordCount, 57)
        }
    }
}
