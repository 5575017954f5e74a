/// What a validating pass over a batch's records found (``RecordBatch/validateRecords(outputLimitBytes:)``).
package struct RecordBatchSummary: Sendable, Equatable {
    /// The records in the batch (the header's count, checked).
    package var recordCount: Int
    /// Whether some record has a null key (a compacted topic refuses such a batch).
    package var hasNullKey: Bool

    package init(recordCount: Int, hasNullKey: Bool) {
        self.recordCount = recordCount
        self.hasNullKey = hasNullKey
    }
}

extension RecordDecoder {
    /// Checks a records section exactly as ``decode(_:header:)`` does — the same rules, the
    /// same errors — without building a `Record`: no key, value or header is copied, so a
    /// broker can check a produced batch at the cost of one pass over its bytes.
    static func validate(_ section: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(RecordFormatError) -> RecordBatchSummary {
        guard header.recordCount >= 0 else {
            throw corrupt("record count \(header.recordCount) is negative")
        }
        let count = Int(header.recordCount)
        var position = 0
        var previousDelta: Int32 = -1
        var hasNullKey = false
        for ordinal in 0..<count {
            let offsetDelta: Int32
            do throws(RecordFormatError) {
                let length = try readInt32(section, &position, "length")
                guard length >= 0, Int(length) <= section.count - position else {
                    throw corrupt("length \(length) exceeds the \(section.count - position) bytes left")
                }
                let body = UnsafeRawBufferPointer(rebasing: section[position..<(position + Int(length))])
                position += Int(length)
                let checked = try validateBody(body)
                offsetDelta = checked.offsetDelta
                if checked.keyIsNull { hasNullKey = true }
            } catch {
                throw corrupt("record \(ordinal) of \(count): \(error.detail)")
            }
            guard offsetDelta > previousDelta, offsetDelta <= header.lastOffsetDelta else {
                throw corrupt(
                    "record \(ordinal) has offsetDelta \(offsetDelta) after \(previousDelta)"
                        + " (lastOffsetDelta \(header.lastOffsetDelta))")
            }
            previousDelta = offsetDelta
        }
        guard position == section.count else {
            throw corrupt("\(section.count - position) bytes follow the \(count) records")
        }
        return RecordBatchSummary(recordCount: count, hasNullKey: hasNullKey)
    }

    /// ``decodeBody(_:header:)``'s checks without its copies.
    private static func validateBody(_ body: UnsafeRawBufferPointer) throws(RecordFormatError) -> (offsetDelta: Int32, keyIsNull: Bool) {
        var position = 0
        guard !body.isEmpty else { throw corrupt("the record is empty") }
        position += 1  // attributes: unused
        _ = try Varint.decode(body, at: &position)  // timestampDelta
        let offsetDelta = try readInt32(body, &position, "offsetDelta")
        let keyIsNull = try skipField(body, &position, "key")
        _ = try skipField(body, &position, "value")
        let headerCount = try readInt32(body, &position, "headerCount")
        guard headerCount >= 0, Int(headerCount) <= (body.count - position) / 2 else {
            throw corrupt("header count \(headerCount) does not fit the \(body.count - position) bytes left")
        }
        for _ in 0..<headerCount {
            let keyLength = try readInt32(body, &position, "header key length")
            guard keyLength != -1 else { throw corrupt("a header key is null") }
            guard keyLength >= 0, Int(keyLength) <= body.count - position else {
                throw corrupt("header key length \(keyLength) exceeds the \(body.count - position) bytes left")
            }
            let key = UnsafeRawBufferPointer(rebasing: body[position..<(position + Int(keyLength))])
            position += Int(keyLength)
            guard String(validating: key, as: UTF8.self) != nil else {
                throw corrupt("a header key is not valid UTF-8")
            }
            _ = try skipField(body, &position, "header value")
        }
        guard position == body.count else {
            throw corrupt("\(body.count - position) bytes follow the record's last header")
        }
        return (offsetDelta, keyIsNull)
    }

    /// Moves past a nullable byte field (a length varint, -1 = null, and that many bytes).
    /// - Returns: whether it is null.
    private static func skipField(
        _ bytes: UnsafeRawBufferPointer, _ position: inout Int, _ field: StaticString
    ) throws(RecordFormatError) -> Bool {
        let length = try readInt32(bytes, &position, "\(field) length")
        if length == -1 { return true }
        guard length >= 0, Int(length) <= bytes.count - position else {
            throw corrupt("\(field) length \(length) exceeds the \(bytes.count - position) bytes left")
        }
        position += Int(length)
        return false
    }
}
