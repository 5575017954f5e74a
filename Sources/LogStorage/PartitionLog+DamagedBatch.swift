package import StreamCore
import RecordFormat

/// A batch that fails its checks, read raw so that an operator can move past it on the record
/// (`pipeline recover --skip-damaged`): where it is, its bytes as they are on disk, what its
/// header still says, and where the next valid batch starts.
package struct DamagedBatch: Sendable, Equatable {
    /// The segment file and the byte position of the batch in it.
    package var path: String
    package var position: Int64
    /// The bytes its length field covers (the 12-byte prefix included), cut at the segment's end.
    package var bytes: [UInt8]
    /// The offsets its header names, when the header still parses (they are outside the CRC, so
    /// they are a hint, checked against the next valid batch).
    package var baseOffset: Offset?
    package var lastOffset: Offset?
    /// Why it is refused (the scan's reason).
    package var reason: String
    /// The base offset of the first valid batch after it, in the same segment or the next one;
    /// nil when none is known (the damage reaches the end of the log, or its length is damaged).
    package var nextValidOffset: Offset?
}

extension PartitionLog {
    /// The damaged batch that a read from `offset` stops at: the first batch holding offsets at or
    /// after `offset`, when it fails its checks; nil when that batch is valid (or there is none).
    /// - Throws: `.offsetOutOfRange` outside `logStartOffset...logEndOffset`; storage errors.
    package func damagedBatch(at offset: Offset) throws(LogError) -> DamagedBatch? {
        try withSegment(containing: offset) { (segment, following) throws(LogError) -> DamagedBatch? in
            try Self.damagedBatch(in: segment, following: following, at: offset)
        }
    }

    private static func damagedBatch(in segment: LogSegment, following: LogSegment?, at offset: Offset) throws(LogError) -> DamagedBatch? {
        let entry = segment.indexEntry(for: offset)
        var problem: ScanProblem?
        // Scan from the segment's start when the index entry lies past the damage's batch.
        for (start, first) in [(entry.position, entry.first), (0, nil)] {
            var reachedOffset = false
            problem = try segment.scan(from: start, first: first, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
                if batch.header.lastOffset < offset { return true }
                reachedOffset = true
                return false
            }
            if reachedOffset { return nil }
            if problem != nil { break }
        }
        guard case .corrupt(let position, let base, let reason)? = problem else { return nil }
        var damaged = try segment.rawBatch(at: position)
        damaged.reason = reason
        if damaged.baseOffset == nil { damaged.baseOffset = base }
        damaged.nextValidOffset = try segment.validBatchOffset(after: position, length: damaged.bytes.count)
            ?? following.map(\.baseOffset)
        if let next = damaged.nextValidOffset, let base = damaged.baseOffset, next <= base { damaged.nextValidOffset = nil }
        return damaged
    }
}

extension LogSegment {
    /// The raw bytes of the batch at `position` as its length field gives them (at most to the
    /// end of the segment), with the offsets its header names when it parses.
    func rawBatch(at position: Int64) throws(LogError) -> DamagedBatch {
        let fileSize = sizeBytes
        let head = try storageCall("reading \(logPath)") { () throws(StorageError) in
            try rawRead(at: position, count: Int(min(12, fileSize - position)))
        }
        var total = Int(fileSize - position)
        if head.count == 12 {
            let length = Int64(Int32(bitPattern: head.readBigEndianUInt32(at: 8)))
            if length >= 49 { total = Int(min(fileSize - position, 12 + length)) }
        }
        let bytes = try storageCall("reading \(logPath)") { () throws(StorageError) in try rawRead(at: position, count: total) }
        var batch = DamagedBatch(path: logPath, position: position, bytes: bytes, reason: "")
        if let header = try? RecordBatchHeader.parse(bytes, at: 0) {
            batch.baseOffset = header.baseOffset
            batch.lastOffset = header.lastOffset
        }
        return batch
    }

    /// The base offset of a valid batch right after `length` bytes at `position`, if there is one.
    func validBatchOffset(after position: Int64, length: Int) throws(LogError) -> Offset? {
        let next = position + Int64(length)
        guard next < sizeBytes else { return nil }
        var found: Offset?
        _ = try scan(from: next, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
            found = batch.header.baseOffset
            return false
        }
        return found
    }
}
