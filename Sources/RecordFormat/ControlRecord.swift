package import StreamCore

/// The type of a transaction marker.
package enum ControlRecordType: Int16, Sendable, CaseIterable {
    /// The transaction's records are to be discarded by read-committed consumers.
    case abort = 0
    /// The transaction's records become visible to read-committed consumers.
    case commit = 1
}

/// A transaction marker: the single record of a control batch, written by the transaction
/// coordinator into every partition a transaction touched.
///
/// ```
///  key   (4 bytes):  version i16 = 0 | type i16 (0 abort, 1 commit)
///  value (6 bytes):  version i16 = 0 | coordinatorEpoch i32
/// ```
///
/// Both big-endian, as Kafka's `EndTransactionMarker`.
package struct ControlRecord: Sendable, Equatable {
    /// Commit or abort.
    package var type: ControlRecordType
    /// The epoch of the coordinator that wrote the marker, for fencing zombie coordinators.
    package var coordinatorEpoch: Int32

    /// The key and value version this code writes.
    package static let currentVersion: Int16 = 0

    /// Creates a marker.
    package init(type: ControlRecordType, coordinatorEpoch: Int32) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Decodes a marker from a control record's key and value. Later versions are accepted
    /// as long as they start with the version-0 fields (bytes after them are ignored).
    /// - Throws: `corruptRecords` for short fields, negative versions, unknown types or a
    ///   missing value.
    package init(key: [UInt8], value: [UInt8]?) throws(RecordFormatError) {
        guard key.count >= 4 else {
            throw RecordFormatError(.corruptRecords, "control record key has \(key.count) bytes, needs 4")
        }
        let (keyVersion, rawType): (Int16, Int16) = key.withUnsafeBytes {
            ($0.loadBigEndian(at: 0), $0.loadBigEndian(at: 2))
        }
        guard keyVersion >= 0 else {
            throw RecordFormatError(.corruptRecords, "control record key version \(keyVersion) is negative")
        }
        guard let type = ControlRecordType(rawValue: rawType) else {
            throw RecordFormatError(.corruptRecords, "control record type \(rawType) is not a transaction marker")
        }
        guard let value, value.count >= 6 else {
            throw RecordFormatError(
                .corruptRecords, "transaction marker value has \(value?.count ?? 0) bytes, needs 6")
        }
        let (valueVersion, coordinatorEpoch): (Int16, Int32) = value.withUnsafeBytes {
            ($0.loadBigEndian(at: 0), $0.loadBigEndian(at: 2))
        }
        guard valueVersion >= 0 else {
            throw RecordFormatError(.corruptRecords, "transaction marker version \(valueVersion) is negative")
        }
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// The record key: version 0, type.
    package func keyBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        bytes.appendBigEndian(Self.currentVersion)
        bytes.appendBigEndian(type.rawValue)
        return bytes
    }

    /// The record value: version 0, coordinatorEpoch.
    package func valueBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(6)
        bytes.appendBigEndian(Self.currentVersion)
        bytes.appendBigEndian(coordinatorEpoch)
        return bytes
    }
}

extension RecordBatchBuilder {
    /// A complete control batch holding one transaction marker: transactional and control
    /// bits set, no compression, baseOffset 0 (the log assigns the real one), baseSequence -1.
    package static func controlBatch(
        type: ControlRecordType, producerID: ProducerID, producerEpoch: ProducerEpoch,
        coordinatorEpoch: Int32, timestamp: Timestamp
    ) -> [UInt8] {
        let marker = ControlRecord(type: type, coordinatorEpoch: coordinatorEpoch)
        var builder = RecordBatchBuilder(
            codec: .none, producerID: producerID, producerEpoch: producerEpoch, isTransactional: true, isControl: true)
        builder.append(key: marker.keyBytes(), value: marker.valueBytes(), timestamp: timestamp)
        do {
            return try builder.build()
        } catch {
            // Uncompressed and a few dozen bytes: building cannot fail.
            preconditionFailure("building a control batch failed: \(error)")
        }
    }
}

extension RecordBatch {
    /// The transaction marker of a control batch.
    /// - Throws: `corruptRecords` if the batch is not a control batch holding exactly one
    ///   marker; the errors of `records()`.
    package func controlRecord() throws(RecordFormatError) -> ControlRecord {
        guard header.isControl else {
            throw RecordFormatError(.corruptRecords, "batch at offset \(header.baseOffset) is not a control batch")
        }
        let records = try records()
        guard records.count == 1, let record = records.first else {
            throw RecordFormatError(.corruptRecords, "control batch holds \(records.count) records, expected 1")
        }
        guard let key = record.key else {
            throw RecordFormatError(.corruptRecords, "control record has a null key")
        }
        return try ControlRecord(key: key, value: record.value)
    }
}
