package import StreamCore

/// A view of one complete record batch v2: its parsed header and all its bytes (layout in
/// `RecordBatchHeader` and `Record`).
///
/// Construction checks the header and that `bytes` holds exactly one batch; the CRC is
/// checked separately (`hasValidChecksum`, `verifyChecksum`) so the caller decides when to
/// pay for it, and records are decoded on demand (`records`).
///
/// - Invariant: `bytes.count == header.totalSizeBytes`.
/// - Thread-safety: an immutable value.
package struct RecordBatch: Sendable {
    /// The parsed fixed header.
    package let header: RecordBatchHeader
    /// The whole batch, header included.
    package let bytes: [UInt8]

    /// Wraps the batch in `bytes`.
    /// - Throws: the header's errors (`truncated`, `badMagic`, `corruptRecords`); `truncated`
    ///   when fewer bytes than the header's length, `corruptRecords` when more.
    package init(bytes: [UInt8]) throws(RecordFormatError) {
        let header = try RecordBatchHeader.parse(bytes, at: 0)
        guard bytes.count >= header.totalSizeBytes else {
            throw RecordFormatError(
                .truncated, "batch needs \(header.totalSizeBytes) bytes, only \(bytes.count) present")
        }
        guard bytes.count == header.totalSizeBytes else {
            throw RecordFormatError(
                .corruptRecords,
                "\(bytes.count - header.totalSizeBytes) bytes follow a batch of \(header.totalSizeBytes) bytes")
        }
        self.header = header
        self.bytes = bytes
    }

    /// Whether the stored CRC matches the CRC-32C of bytes 21 to the end.
    package func hasValidChecksum() -> Bool {
        bytes.withUnsafeBytes { Self.checksum(ofBatch: $0) } == header.crc
    }

    /// Throws `checksumMismatch` unless `hasValidChecksum()`.
    package func verifyChecksum() throws(RecordFormatError) {
        let computed = bytes.withUnsafeBytes { Self.checksum(ofBatch: $0) }
        guard computed == header.crc else {
            throw RecordFormatError(
                .checksumMismatch,
                "batch at offset \(header.baseOffset): stored crc \(hex(header.crc)), computed \(hex(computed))")
        }
    }

    /// The CRC-32C a batch should store: over its bytes from the attributes field to the end.
    /// - Precondition: `batch` holds at least a header.
    package static func checksum(ofBatch batch: UnsafeRawBufferPointer) -> UInt32 {
        precondition(batch.count >= RecordBatchHeader.sizeBytes, "a batch is at least a header")
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.attributesPosition...]))
    }

    /// Decompresses and decodes every record, with absolute offsets and timestamps.
    ///
    /// - Parameter outputLimitBytes: the most bytes decompression may produce.
    /// - Throws: `unsupportedCodec`, `decompressionFailed`, `tooLarge`, or `corruptRecords`
    ///   for any inconsistency: a count that differs from the header, lengths out of range,
    ///   offset deltas that do not increase or pass `lastOffsetDelta`, invalid UTF-8 header
    ///   keys, trailing bytes. Does not check the CRC.
    package func records(outputLimitBytes: Int = 64 << 20) throws(RecordFormatError) -> [Record] {
        guard let codec = header.codec else {
            throw RecordFormatError(.unsupportedCodec, "batch codec \(header.attributes & RecordBatchHeader.codecMask) is unknown")
        }
        let payload = bytes[RecordBatchHeader.sizeBytes...]
        if codec == .none {
            return try payload.withBytes { buffer throws(RecordFormatError) in
                try RecordDecoder.decode(buffer, header: header)
            }
        }
        let decompressed = try Compression.decompress(payload, codec: codec, outputLimitBytes: outputLimitBytes)
        return try decompressed.withBytes { buffer throws(RecordFormatError) in
            try RecordDecoder.decode(buffer, header: header)
        }
    }

    /// Decompresses the records and checks them exactly as ``records(outputLimitBytes:)`` does
    /// (the same errors), without building them: what a broker needs to accept a batch.
    package func validateRecords(outputLimitBytes: Int = 64 << 20) throws(RecordFormatError) -> RecordBatchSummary {
        guard let codec = header.codec else {
            throw RecordFormatError(.unsupportedCodec, "batch codec \(header.attributes & RecordBatchHeader.codecMask) is unknown")
        }
        let payload = bytes[RecordBatchHeader.sizeBytes...]
        if codec == .none {
            return try payload.withBytes { buffer throws(RecordFormatError) in
                try RecordDecoder.validate(buffer, header: header)
            }
        }
        let decompressed = try Compression.decompress(payload, codec: codec, outputLimitBytes: outputLimitBytes)
        return try decompressed.withBytes { buffer throws(RecordFormatError) in
            try RecordDecoder.validate(buffer, header: header)
        }
    }

    /// Overwrites the baseOffset of the batch at `bytes[index]`. The field lies outside the
    /// CRC, so the checksum stays valid.
    /// - Precondition: the batch's first 8 bytes exist.
    package static func setBaseOffset(_ offset: Offset, in bytes: inout [UInt8], at index: Int = 0) {
        bytes.storeBigEndian(offset.rawValue, at: index)
    }

    /// Overwrites the partitionLeaderEpoch of the batch at `bytes[index]`. The field lies
    /// outside the CRC, so the checksum stays valid.
    /// - Precondition: the batch's first 16 bytes exist.
    package static func setPartitionLeaderEpoch(_ epoch: Int32, in bytes: inout [UInt8], at index: Int = 0) {
        bytes.storeBigEndian(epoch, at: index + RecordBatchHeader.partitionLeaderEpochPosition)
    }
}

/// `0x`-prefixed, 8 hex digits.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// A record batch whose CRC-32C matched when it was built, so whoever holds one need not
/// checksum it again (a broker checks a produced batch once, and the log appends it as is).
///
/// - Invariant: the CRC-32C of `bytes` from the attributes field on equals `header.crc`; only
///   fields outside the CRC (base offset, partition leader epoch) can change afterwards.
/// - Thread-safety: a value.
package struct ChecksummedRecordBatch: Sendable {
    /// The parsed fixed header (its base offset as it was checked).
    package let header: RecordBatchHeader
    /// The whole batch, header included.
    package private(set) var bytes: [UInt8]

    /// Checks `batch`'s CRC. - Throws: `checksumMismatch`.
    package init(verifying batch: RecordBatch) throws(RecordFormatError) {
        try batch.verifyChecksum()
        header = batch.header
        bytes = batch.bytes
    }

    /// Overwrites the partition leader epoch (outside the CRC).
    package mutating func setPartitionLeaderEpoch(_ epoch: Int32) {
        RecordBatch.setPartitionLeaderEpoch(epoch, in: &bytes)
    }
}
