package import StreamCore
import RecordFormat
import Logging

/// Deleting a partition's records below an offset (Kafka's DeleteRecords): the log start offset
/// moves to that offset, inside a segment if need be, and every segment wholly below it is
/// deleted. The runtime uses it to purge repartition topics below their consumer's committed
/// offset.
///
/// The log start offset lives in `log-start-offset` in the partition's directory when it is
/// past the first segment's base offset:
/// ```
/// | magic "SLS1" | crc32c: u32 (of the offset) | logStartOffset: i64 |
/// ```
/// It is written through a synced temporary file and renamed into place before any segment is
/// deleted, so a crash leaves either the old start (and the old segments) or the new one; on
/// open, segments wholly below it are deleted. A missing or damaged file means the first
/// segment's base offset (deleting records never hides data that is not durably marked gone).
extension PartitionLog {
    static let logStartFileName = "log-start-offset"
    static let logStartMagic: [UInt8] = Array("SLS1".utf8)

    /// Makes `offset` the partition's log start offset: records below it are no longer readable,
    /// and segments wholly below it are deleted (the active segment never is).
    /// - Returns: the log start offset afterwards (unchanged when `offset` is not past it).
    /// - Throws: `.offsetOutOfRange` for an offset past the last stable offset (an open
    ///   transaction's records, or records not yet written, can never be deleted this way).
    @discardableResult
    package func deleteRecords(below offset: Offset) throws(LogError) -> Offset {
        try withSegments { (segments: inout [LogSegment]) throws(LogError) -> Offset in
            let start = max(segments[0].baseOffset, recordsStartOffset)
            let stable = producerState.firstUnstableOffset ?? segments[segments.count - 1].nextOffset
            guard offset <= stable else {
                throw LogError(.offsetOutOfRange, "cannot delete the records of \(topicPartition) below \(offset): past its last stable offset \(stable) (log start \(start))")
            }
            guard offset > start else { return start }
            try writeLogStart(offset)
            recordsStartOffset = offset
            try deleteSegments(&segments, below: offset)
            loggerForCleaner.info("deleted records", metadata: [
                "partition": "\(topicPartition)", "below": "\(offset)", "segments": "\(segments.count)",
            ])
            return offset
        }
    }

    /// Reads `log-start-offset` (on open) and deletes the segments wholly below it, which a
    /// crash after the file was written may have left.
    func loadLogStart() throws(LogError) {
        let path = joinPath(directory, Self.logStartFileName)
        let storage = storageForCleaner
        guard storage.exists(path) else { return }
        let bytes = try storageCall("reading \(path)") { () throws(StorageError) -> [UInt8] in
            let file = try storage.openFile(path, mode: .read)
            defer { file.close() }
            return try readStably(file)
        }
        guard bytes.count == 16, Array(bytes[0..<4]) == Self.logStartMagic,
              bytes.readBigEndianUInt32(at: 4) == CRC32C.checksum(bytes[8...])
        else {
            loggerForCleaner.warning("ignoring a damaged log start offset file", metadata: ["partition": "\(topicPartition)", "path": "\(path)"])
            return
        }
        var reader = BigEndianReader(Array(bytes[8...]))
        guard let raw = reader.int64() else { return }
        try withSegments { (segments: inout [LogSegment]) throws(LogError) in
            // Never past the log end: a log cut short by recovery starts at its end at most.
            let offset = min(Offset(raw), segments[segments.count - 1].nextOffset)
            recordsStartOffset = offset
            try deleteSegments(&segments, below: offset)
        }
    }

    private func deleteSegments(_ segments: inout [LogSegment], below offset: Offset) throws(LogError) {
        var deleted = false
        while segments.count > 1, segments[0].nextOffset <= offset {
            try segments.removeFirst().delete()
            deleted = true
        }
        if deleted { producerState.forgetAborted(before: segments[0].baseOffset) }
    }

    private func writeLogStart(_ offset: Offset) throws(LogError) {
        var body: [UInt8] = []
        body.appendBigEndian(offset.rawValue)
        var bytes = Self.logStartMagic
        bytes.appendBigEndian(CRC32C.checksum(body))
        bytes.append(contentsOf: body)
        let finalPath = joinPath(directory, Self.logStartFileName)
        let temporaryPath = finalPath + ".tmp"
        let storage = storageForCleaner
        try storageCall("writing \(finalPath)") { () throws(StorageError) in
            let file = try storage.openFile(temporaryPath, mode: .create)
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            try file.sync()
            try storage.rename(temporaryPath, to: finalPath)
        }
    }
}
