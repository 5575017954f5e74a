package import StreamCore
import RecordFormat

extension PartitionLog {
    /// How many data records a reader from `offset` has yet to read: the records of the data
    /// batches in [`offset`, the last stable offset) for read-committed readers, or up to the log
    /// end for read-uncommitted ones. Transaction markers (control batches) are not counted, and
    /// read-committed neither are the records of aborted transactions, which such a reader never
    /// sees. This is consumer lag in records, where `end - offset` would count a marker's offset
    /// as a record.
    ///
    /// Reads batch headers only (no CRC check, no decompression), from the index entry at or
    /// before `offset`. A batch that `offset` falls inside counts its offsets from `offset` on
    /// (exact unless compaction removed records inside that one batch).
    /// - Returns: the count (0 when `offset` is at or past the end) and the end it counted up to,
    ///   read under one lock so the two agree.
    /// - Complexity: O(bytes between `offset` and the end), read from the page cache.
    /// - Throws: a storage failure while reading a segment.
    package func dataRecordCount(from offset: Offset, isolation: IsolationLevel) throws(LogError) -> (records: Int64, endOffset: Offset) {
        lock.lock(); defer { lock.unlock() }
        let start = max(segments[0].baseOffset, recordsStartOffset)
        let logEnd = segments[segments.count - 1].nextOffset
        let end = isolation == .readCommitted ? (producerState.firstUnstableOffset ?? logEnd) : logEnd
        let from = max(offset, start)
        guard from < end else { return (0, end) }
        let aborted = isolation == .readCommitted ? producerState.abortedTransactions(from: from, upTo: end) : []
        var total: Int64 = 0
        for segment in segments where segment.nextOffset > from && segment.baseOffset < end {
            let entry = segment.baseOffset < from ? segment.indexEntry(for: from) : (position: Int64(0), first: Offset?.none)
            _ = try segment.scan(from: entry.position, first: entry.first, verifyChecksums: false) {
                (batch: ScannedBatch) throws(LogError) -> Bool in
                let header = batch.header
                if header.baseOffset >= end { return false }
                if header.lastOffset < from || header.isControl { return true }
                if header.isTransactional, aborted.contains(where: {
                    $0.producerID == header.producerID && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset
                }) {
                    return true
                }
                let first = max(header.baseOffset, from)
                let last = min(header.lastOffset, end + -1)
                total += min(Int64(header.recordCount), last - first + 1)
                return true
            }
        }
        return (total, end)
    }
}
