package import StreamCore
import RecordFormat

/// Finding where valid batches start again after a damaged one.
///
/// A damaged batch's length field cannot be trusted (one flipped bit in it points anywhere, or
/// past the end of the file), so the next batch is searched for byte by byte: a position where a
/// whole batch starts with a header that parses, a CRC-32C that matches and offsets the log can
/// hold. A batch's bytes hold its records, which may by chance contain such a shape; the scan
/// returns the first one, and the caller decides what damage below the recovery point means.
extension BatchScanner {
    /// How far past the start of a damaged batch the search for the next valid batch reaches, in
    /// bytes: sixteen times the default batch size limit (`TopicConfig.batchBytesMax`), so one
    /// damaged batch of a usual size never hides the batches after it. Damage longer than this is
    /// treated as running to the end of the file.
    package static let resyncScanBytesMax: Int64 = 16 << 20

    /// How many bytes the search reads at a time.
    static let resyncChunkBytes = 1 << 20

    /// The position of the first whole, valid batch that starts within the `scanBytesMax` bytes
    /// after `position` (and ends by `end`), or nil when there is none.
    ///
    /// A candidate must parse as a header (magic 2, a plausible length), fit before `end`, pass
    /// `offsets` (bounds, and a base offset at least `offsets.first` when that is set) and match
    /// its CRC-32C. When nothing is found the search is repeated once, so that a transient read
    /// error does not hide the batch it was looking for.
    package static func nextValidBatch(
        _ file: any StorageFile, after position: Int64, to end: Int64, offsets: OffsetExpectation,
        scanBytesMax: Int64 = resyncScanBytesMax
    ) throws(LogError) -> Int64? {
        var relaxed = offsets
        relaxed.contiguous = false
        for _ in 0..<2 {
            if let found = try searchOnce(file, after: position, to: end, offsets: relaxed, scanBytesMax: scanBytesMax) {
                return found
            }
        }
        return nil
    }

    private static func searchOnce(
        _ file: any StorageFile, after position: Int64, to end: Int64, offsets: OffsetExpectation, scanBytesMax: Int64
    ) throws(LogError) -> Int64? {
        let limit = min(end, position + 1 + scanBytesMax)
        var chunkStart = position + 1
        while chunkStart < limit {
            let count = Int(min(Int64(resyncChunkBytes + RecordBatchHeader.sizeBytes), end - chunkStart))
            let chunk = try storageCall("reading \(file.path)") { () throws(StorageError) in
                try file.read(at: chunkStart, count: count)
            }
            if chunk.count < RecordBatchHeader.sizeBytes { return nil }
            let candidates = min(chunk.count - RecordBatchHeader.sizeBytes + 1, Int(limit - chunkStart))
            for index in 0..<candidates where chunk[index + RecordBatchHeader.magicPosition] == UInt8(RecordBatchHeader.currentMagic) {
                let candidate = chunkStart + Int64(index)
                if try isValidBatch(file, at: candidate, in: chunk, index: index, end: end, offsets: offsets) { return candidate }
            }
            chunkStart += Int64(max(1, candidates))
        }
        return nil
    }

    /// Whether a whole valid batch starts at `chunk[index]` (file position `position`).
    private static func isValidBatch(
        _ file: any StorageFile, at position: Int64, in chunk: [UInt8], index: Int, end: Int64, offsets: OffsetExpectation
    ) throws(LogError) -> Bool {
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader.parse(chunk, at: index)
        } catch {
            return false  // Not a header here: the answer, not a failure.
        }
        let total = header.totalSizeBytes
        guard position + Int64(total) <= end, offsets.violation(by: header) == nil else { return false }
        if index + total <= chunk.count {
            return checksum(of: chunk[index..<index + total]) == header.crc
        }
        let bytes = try storageCall("reading \(file.path)") { () throws(StorageError) in try file.read(at: position, count: total) }
        return bytes.count == total && checksum(of: bytes[...]) == header.crc
    }
}
