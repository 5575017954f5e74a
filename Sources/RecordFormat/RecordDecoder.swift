internal import StreamCore

/// Decodes a batch's (decompressed) records section into `Record`s, strictly: every length
/// must lie within its record, every record must be consumed exactly, and the section must
/// hold exactly `recordCount` records. Any inconsistency throws `corruptRecords`.
enum RecordDecoder {
    /// The smallest encoded record: length, attributes, timestampDelta, offsetDelta,
    /// keyLength, valueLength and headerCount, one byte each.
    static let recordBytesMin = 7

    static func decode(_ section: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(RecordFormatError) -> [Record] {
        guard header.recordCount >= 0 else {
            throw corrupt("record count \(header.recordCount) is negative")
        }
        let count = Int(header.recordCount)
        var records: [Record] = []
        records.reserveCapacity(min(count, section.count / recordBytesMin))
        var position = 0
        var previousDelta: Int32 = -1
        for ordinal in 0..<count {
            let record: Record
            do throws(RecordFormatError) {
                let length = try readInt32(section, &position, "length")
                guard length >= 0, Int(length) <= section.count - position else {
                    throw corrupt("length \(length) exceeds the \(section.count - position) bytes left")
                }
                let body = UnsafeRawBufferPointer(rebasing: section[position..<(position + Int(length))])
                position += Int(length)
                record = try decodeBody(body, header: header)
            } catch {
                throw corrupt("record \(ordinal) of \(count): \(error.detail)")
            }
            guard record.offsetDelta > previousDelta, record.offsetDelta <= header.lastOffsetDelta else {
                throw corrupt(
                    "record \(ordinal) has offsetDelta \(record.offsetDelta) after \(previousDelta)"
                        + " (lastOffsetDelta \(header.lastOffsetDelta))")
            }
            previousDelta = record.offsetDelta
            records.append(record)
        }
        guard position == section.count else {
            throw corrupt("\(section.count - position) bytes follow the \(count) records")
        }
        return records
    }

    /// Decodes one record's fields; `body` is exactly the bytes its length prefix covers.
    private static func decodeBody(_ body: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(RecordFormatError) -> Record {
        var position = 0
        guard !body.isEmpty else { throw corrupt("the record is empty") }
        position += 1  // attributes: unused
        let timestampDelta = try Varint.decode(body, at: &position)
        let offsetDelta = try readInt32(body, &position, "offsetDelta")
        let key = try readField(body, &position, "key")
        let value = try readField(body, &position, "value")
        let headerCount = try readInt32(body, &position, "headerCount")
        guard headerCount >= 0, Int(headerCount) <= (body.count - position) / 2 else {
            throw corrupt("header count \(headerCount) does not fit the \(body.count - position) bytes left")
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
            guard let keyBytes = try readField(body, &position, "header key") else {
                throw corrupt("a header key is null")
            }
            guard let headerKey = String(validating: keyBytes, as: UTF8.self) else {
                throw corrupt("a header key is not valid UTF-8")
            }
            let headerValue = try readField(body, &position, "header value")
            headers.append(RecordHeader(key: headerKey, value: headerValue))
        }
        guard position == body.count else {
            throw corrupt("\(body.count - position) bytes follow the record's last header")
        }
        let timestamp = header.isLogAppendTime
            ? header.maxTimestamp : Timestamp(milliseconds: header.baseTimestamp.rawValue &+ timestampDelta)
        return Record(
            offset: Offset(header.baseOffset.rawValue &+ Int64(offsetDelta)), timestamp: timestamp,
            key: key, value: value, headers: headers, offsetDelta: offsetDelta)
    }

    /// Reads a varint that must fit 32 bits. `field` names it in errors; an autoclosure so
    /// that the hot path builds no strings.
    static func readInt32(
        _ bytes: UnsafeRawBufferPointer, _ position: inout Int, _ field: @autoclosure () -> String
    ) throws(RecordFormatError) -> Int32 {
        let value = try Varint.decode(bytes, at: &position)
        guard let narrowed = Int32(exactly: value) else { throw corrupt("\(field()) \(value) does not fit 32 bits") }
        return narrowed
    }

    /// Reads a nullable byte field: a length varint (-1 = nil) and that many bytes.
    private static func readField(
        _ bytes: UnsafeRawBufferPointer, _ position: inout Int, _ field: StaticString
    ) throws(RecordFormatError) -> [UInt8]? {
        let length = try readInt32(bytes, &position, "\(field) length")
        if length == -1 { return nil }
        guard length >= 0, Int(length) <= bytes.count - position else {
            throw corrupt("\(field) length \(length) exceeds the \(bytes.count - position) bytes left")
        }
        let contents = Array(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))]))
        position += Int(length)
        return contents
    }

    static func corrupt(_ detail: String) -> RecordFormatError {
        RecordFormatError(.corruptRecords, detail)
    }
}
