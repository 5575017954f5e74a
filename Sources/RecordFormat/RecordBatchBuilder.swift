package import StreamCore

/// Accumulates records and encodes them as one record batch v2 (see `RecordBatchHeader` and
/// `Record` for the layouts).
///
/// Records are encoded as they are appended, into one growing buffer; `build` adds the header,
/// compresses when the codec asks for it, and fills in the CRC.
///
/// ```swift
/// var builder = RecordBatchBuilder(codec: .lz4)
/// builder.append(key: Array("k".utf8), value: Array("v".utf8), timestamp: now)
/// let batch = try builder.build(baseOffset: Offset(42))
/// ```
///
/// - Invariant: offset deltas strictly increase; `baseTimestamp` is the first record's
///   timestamp and every timestamp delta is relative to it.
/// - Thread-safety: a value type; each owner keeps its own.
package struct RecordBatchBuilder: Sendable {
    /// The codec `build` compresses the records section with.
    package let codec: CompressionCodec
    /// The producer written into the header.
    package let producerID: ProducerID
    /// The producer epoch written into the header.
    package let producerEpoch: ProducerEpoch
    /// The first record's sequence number, or -1.
    package let baseSequence: Int32
    /// Whether the transactional attribute bit is set.
    package let isTransactional: Bool
    /// Whether the control attribute bit is set.
    package let isControl: Bool
    /// The partition leader epoch written into the header.
    package let partitionLeaderEpoch: Int32
    /// The delete horizon the log cleaner sets (KIP-534): when present, it is the base timestamp,
    /// attribute bit 6 is set, and record timestamps are stored relative to it.
    package let deleteHorizon: Timestamp?

    /// The encoded records, uncompressed.
    private var recordBytes: [UInt8] = []
    /// The number of records appended.
    package private(set) var recordCount = 0
    /// The first record's timestamp, or `.none` while empty.
    private var baseTimestamp = Timestamp.none
    /// The largest timestamp appended, or `.none` while empty.
    private var maxTimestamp = Timestamp.none
    /// The last offset delta appended, -1 while empty.
    private var lastAppendedOffsetDelta: Int32 = -1

    /// Bytes reserved for the records on the first append, unless `reserveCapacity` asked
    /// for more.
    package static let initialCapacityBytes = 4 << 10

    /// Creates an empty builder. The defaults describe a plain, non-idempotent batch.
    package init(
        codec: CompressionCodec = .none, producerID: ProducerID = .none, producerEpoch: ProducerEpoch = .none,
        baseSequence: Int32 = -1, isTransactional: Bool = false, isControl: Bool = false,
        partitionLeaderEpoch: Int32 = -1, deleteHorizon: Timestamp? = nil
    ) {
        self.codec = codec
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.deleteHorizon = deleteHorizon
    }

    /// Whether no record has been appended.
    package var isEmpty: Bool { recordCount == 0 }

    /// The size of the batch if built without compression: header plus encoded records.
    /// - Complexity: O(1).
    package var estimatedSizeBytes: Int { RecordBatchHeader.sizeBytes + recordBytes.count }

    /// Reserves room for `bytes` bytes of encoded records, to avoid regrowth while appending.
    package mutating func reserveCapacity(_ bytes: Int) {
        recordBytes.reserveCapacity(bytes)
    }

    /// Appends a record whose offset delta follows the last one (so equals the number of
    /// records appended so far when only this method is used).
    package mutating func append(
        key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Timestamp
    ) {
        append(offsetDelta: lastAppendedOffsetDelta + 1, key: key, value: value, headers: headers, timestamp: timestamp)
    }

    /// Appends a record with an explicit offset delta, as compaction does to keep original
    /// offsets.
    /// - Precondition: `offsetDelta` is greater than every delta appended before, and ≥ 0.
    package mutating func append(
        offsetDelta: Int32, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Timestamp
    ) {
        precondition(offsetDelta > lastAppendedOffsetDelta, "offset deltas must strictly increase")
        if recordCount == 0 {
            baseTimestamp = deleteHorizon ?? timestamp
            maxTimestamp = timestamp
            if recordBytes.capacity < Self.initialCapacityBytes { recordBytes.reserveCapacity(Self.initialCapacityBytes) }
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        // Wrapping keeps extreme timestamps encodable; decoding wraps back to the same value.
        let timestampDelta = timestamp.rawValue &- baseTimestamp.rawValue

        var bodyBytes = 1 + Varint.encodedSize(timestampDelta) + Varint.encodedSize(Int64(offsetDelta))
        bodyBytes += Self.fieldSize(key) + Self.fieldSize(value) + Varint.encodedSize(Int64(headers.count))
        for header in headers {
            let keyBytes = header.key.utf8.count
            bodyBytes += Varint.encodedSize(Int64(keyBytes)) + keyBytes + Self.fieldSize(header.value)
        }
        precondition(bodyBytes <= Int(Int32.max), "a record must be smaller than 2 GiB")

        Varint.encode(Int64(bodyBytes), into: &recordBytes)
        recordBytes.append(0)  // attributes
        Varint.encode(timestampDelta, into: &recordBytes)
        Varint.encode(Int64(offsetDelta), into: &recordBytes)
        Self.appendField(key, into: &recordBytes)
        Self.appendField(value, into: &recordBytes)
        Varint.encode(Int64(headers.count), into: &recordBytes)
        for header in headers {
            Varint.encode(Int64(header.key.utf8.count), into: &recordBytes)
            recordBytes.append(contentsOf: header.key.utf8)
            Self.appendField(header.value, into: &recordBytes)
        }
        recordCount += 1
        lastAppendedOffsetDelta = offsetDelta
    }

    /// Encodes the batch: header, records (compressed with `codec`), CRC filled in.
    ///
    /// - Parameters:
    ///   - baseOffset: the offset of delta 0; the log usually rewrites it with
    ///     `RecordBatch.setBaseOffset` when it appends.
    ///   - lastOffsetDelta: defaults to the last appended record's delta; compaction passes
    ///     the original batch's value. An empty batch defaults to 0.
    /// - Precondition: `lastOffsetDelta`, when given, is ≥ the last appended delta.
    /// - Throws: `compressionFailed`, `unsupportedCodec` (gzip, snappy), or `tooLarge` when
    ///   the batch would not fit a 32-bit length.
    package func build(baseOffset: Offset = Offset(0), lastOffsetDelta: Int32? = nil) throws(RecordFormatError) -> [UInt8] {
        let finalOffsetDelta = lastOffsetDelta ?? max(lastAppendedOffsetDelta, 0)
        precondition(finalOffsetDelta >= lastAppendedOffsetDelta, "lastOffsetDelta is before the last record")

        let payload = codec == .none ? recordBytes : try Compression.compress(recordBytes, codec: codec)
        let totalBytes = RecordBatchHeader.sizeBytes + payload.count
        guard totalBytes - RecordBatchHeader.logOverheadBytes <= Int(Int32.max) else {
            throw RecordFormatError(.tooLarge, "a batch of \(totalBytes) bytes does not fit a 32-bit batchLength")
        }
        var attributes = codec.rawValue
        if isTransactional { attributes |= RecordBatchHeader.transactionalFlag }
        if isControl { attributes |= RecordBatchHeader.controlFlag }
        if deleteHorizon != nil { attributes |= RecordBatchHeader.deleteHorizonFlag }
        let header = RecordBatchHeader(
            baseOffset: baseOffset,
            batchLength: Int32(totalBytes - RecordBatchHeader.logOverheadBytes),
            partitionLeaderEpoch: partitionLeaderEpoch,
            crc: 0,
            attributes: attributes,
            lastOffsetDelta: finalOffsetDelta,
            baseTimestamp: recordCount == 0 ? deleteHorizon ?? baseTimestamp : baseTimestamp,
            maxTimestamp: maxTimestamp,
            producerID: producerID,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            recordCount: Int32(recordCount)
        )

        var batch: [UInt8] = []
        batch.reserveCapacity(totalBytes)
        batch.append(contentsOf: repeatElement(0, count: RecordBatchHeader.sizeBytes))
        batch.append(contentsOf: payload)
        header.write(into: &batch)
        let crc = batch.withUnsafeBytes { RecordBatch.checksum(ofBatch: $0) }
        batch.storeBigEndian(crc, at: RecordBatchHeader.crcPosition)
        return batch
    }

    /// The encoded size of a nullable byte field: its length varint plus its bytes.
    private static func fieldSize(_ bytes: [UInt8]?) -> Int {
        guard let bytes else { return 1 }
        return Varint.encodedSize(Int64(bytes.count)) + bytes.count
    }

    /// Appends a nullable byte field: length varint (-1 for nil), then the bytes.
    private static func appendField(_ field: [UInt8]?, into bytes: inout [UInt8]) {
        guard let field else {
            Varint.encode(-1, into: &bytes)
            return
        }
        Varint.encode(Int64(field.count), into: &bytes)
        bytes.append(contentsOf: field)
    }
}
