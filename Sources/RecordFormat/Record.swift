package import StreamCore

/// One decoded record of a batch, with its absolute offset and timestamp.
///
/// On the wire (inside the batch's records section; varints are zigzag, see `Varint`):
///
/// ```
///  length          varint   bytes after this field
///  attributes      i8       0 (unused)
///  timestampDelta  varlong  timestamp - batch.baseTimestamp
///  offsetDelta     varint   offset - batch.baseOffset
///  keyLength       varint   -1 = null key
///  key             bytes
///  valueLength     varint   -1 = null value (a tombstone)
///  value           bytes
///  headerCount     varint
///  headers         headerCount × ┌ keyLength varint, key (UTF-8)
///                                └ valueLength varint (-1 = null), value
/// ```
package struct Record: Sendable, Hashable {
    /// The record's offset: the batch's baseOffset + offsetDelta.
    package var offset: Offset
    /// The record's timestamp: baseTimestamp + timestampDelta (the batch's maxTimestamp for
    /// LogAppendTime batches, as Kafka reads them).
    package var timestamp: Timestamp
    /// The key, or nil.
    package var key: [UInt8]?
    /// The value, or nil (a tombstone in compacted topics).
    package var value: [UInt8]?
    /// The headers, in order.
    package var headers: [RecordHeader]
    /// The offset relative to the batch's baseOffset, as stored.
    package var offsetDelta: Int32

    /// Creates a record from its parts.
    package init(
        offset: Offset, timestamp: Timestamp, key: [UInt8]?, value: [UInt8]?,
        headers: [RecordHeader] = [], offsetDelta: Int32
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
        self.offsetDelta = offsetDelta
    }
}
