import StreamCore
import RecordFormat
import Logging

/// What one compaction pass did.
package struct CompactionReport: Sendable, Equatable {
    package var segmentsBefore = 0
    package var segmentsAfter = 0
    package var recordsRemoved = 0
    package var tombstonesRemoved = 0
    package var bytesBefore: Int64 = 0
    package var bytesAfter: Int64 = 0
}

/// Compaction by key for topics whose cleanup policy is `compact`: only the latest record of
/// each key survives in the inactive segments, and tombstones (null values) are removed once
/// they are older than the topic's delete retention.
///
/// Only inactive segments are cleaned: they are synced whole, so a newer value that made an
/// older one removable can never be lost in a crash. Offsets never change; a filtered batch
/// keeps its base offset, its last offset delta and its records' offset deltas, and a run of
/// batches removed whole is replaced by one empty batch spanning their offsets. So a cleaned
/// segment starts and ends at the same offsets as the segments it replaces, without gaps.
///
/// The swap is crash-safe: the cleaned `.log.cleaned` is written and synced, renamed to
/// `.log.swap` (the swap point), the originals are deleted, and the swap is renamed to `.log`.
/// Recovery deletes `.cleaned` files and completes any `.swap` it finds.
extension PartitionLog {
    /// Whether enough of the inactive log is uncleaned to be worth a pass (Kafka's
    /// `min.cleanable.dirty.ratio` of 0.5).
    package var needsCompaction: Bool {
        guard config.cleanupPolicy == .compact else { return false }
        // Only throws once a sync of the data directory failed: then nothing is worth compacting.
        return (try? withSegments { (segments: inout [LogSegment]) throws(LogError) -> Bool in
            guard segments.count > 1 else { return false }
            let inactive = segments.dropLast()
            let total = inactive.reduce(Int64(0)) { $0 + $1.sizeBytes }
            let dirty = inactive.filter { $0.nextOffset > self.firstDirtyOffset }.reduce(Int64(0)) { $0 + $1.sizeBytes }
            return total > 0 && dirty * 2 >= total
        }) ?? false
    }

    /// Compacts the inactive segments now.
    @discardableResult
    package func compact() throws(LogError) -> CompactionReport {
        let storage = storageForCleaner
        let now = clockForCleaner.now().rawValue
        let config = self.config
        let topicPartition = self.topicPartition
        let directory = self.directory
        let logger = loggerForCleaner
        return try withSegments { (segments: inout [LogSegment]) throws(LogError) -> CompactionReport in
            var report = CompactionReport()
            guard config.cleanupPolicy == .compact, segments.count > 1 else { return report }
            let candidates = Array(segments.dropLast())
            report.segmentsBefore = candidates.count
            // Data at or past the last stable offset belongs to open transactions: it is kept as
            // it is and does not count as a newer value. Aborted data is dropped.
            let stable = self.producerState.firstUnstableOffset ?? segments[segments.count - 1].nextOffset
            let aborted = self.producerState.aborted
            func isAborted(_ header: RecordBatchHeader) -> Bool {
                header.isTransactional && !header.isControl && aborted.contains {
                    $0.producerID == header.producerID && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset
                }
            }
            report.bytesBefore = candidates.reduce(0) { $0 + $1.sizeBytes }

            // 1. The offset of the latest record of every key in the inactive segments.
            var latest: [[UInt8]: Offset] = [:]
            for segment in candidates {
                try Self.forEachRecordBatch(in: segment, topicPartition) { (header: RecordBatchHeader, records: [Record]) throws(LogError) in
                    guard !header.isControl, header.baseOffset < stable, !isAborted(header) else { return }
                    for record in records { if let key = record.key { latest[key] = record.offset } }
                }
            }

            // 2. Groups of consecutive segments that fit one segment once cleaned.
            var groups: [[LogSegment]] = []
            var current: [LogSegment] = []
            var currentBytes: Int64 = 0
            for segment in candidates {
                let span = current.isEmpty ? 0 : segment.nextOffset - current[0].baseOffset
                if !current.isEmpty && (currentBytes + segment.sizeBytes > Int64(config.segmentBytesMax) || span >= Int64(Int32.max)) {
                    groups.append(current)
                    current = []
                    currentBytes = 0
                }
                current.append(segment)
                currentBytes += segment.sizeBytes
            }
            if !current.isEmpty { groups.append(current) }

            // 3. Clean each group into one segment and swap it in.
            var cleaned: [LogSegment] = []
            for group in groups {
                var output: [UInt8] = []
                var removed = 0
                var tombstones = 0
                // Offsets of whole batches removed and not yet covered by a gap batch.
                var gap: ClosedRange<Offset>?
                var gapCodec = CompressionCodec.none
                func flushGap() throws(LogError) {
                    guard let range = gap else { return }
                    output.append(contentsOf: try Self.gapBatch(range, codec: gapCodec, topicPartition))
                    gap = nil
                }
                func drop(_ header: RecordBatchHeader) {
                    // The gap batch takes the codec of the batches it replaces.
                    if gap == nil { gapCodec = header.codec ?? .none }
                    gap = (gap?.lowerBound ?? header.baseOffset)...header.lastOffset
                }
                for segment in group {
                    try Self.forEachRawBatch(in: segment, topicPartition) { (header: RecordBatchHeader, bytes: ArraySlice<UInt8>) throws(LogError) in
                        if header.isControl || header.baseOffset >= stable {
                            try flushGap()
                            output.append(contentsOf: bytes)
                            return
                        }
                        if isAborted(header) {
                            removed += Int(header.recordCount)
                            drop(header)
                            return
                        }
                        let records = try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
                            try RecordBatch(bytes: Array(bytes)).records()
                        }
                        var kept: [Record] = []
                        for record in records {
                            guard let key = record.key, latest[key] == record.offset else { removed += 1; continue }
                            if record.value == nil && record.timestamp.rawValue < now - config.deleteRetentionMilliseconds {
                                tombstones += 1
                                continue
                            }
                            kept.append(record)
                        }
                        if kept.isEmpty {
                            drop(header)
                            return
                        }
                        try flushGap()
                        if kept.count == records.count {
                            output.append(contentsOf: bytes)
                        } else {
                            var builder = RecordBatchBuilder(
                                codec: header.codec ?? .none, producerID: header.producerID, producerEpoch: header.producerEpoch,
                                baseSequence: header.baseSequence, isTransactional: header.isTransactional,
                                partitionLeaderEpoch: header.partitionLeaderEpoch)
                            for record in kept {
                                builder.append(offsetDelta: record.offsetDelta, key: record.key, value: record.value,
                                               headers: record.headers, timestamp: record.timestamp)
                            }
                            let rebuilt = try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
                                try builder.build(baseOffset: header.baseOffset, lastOffsetDelta: header.lastOffsetDelta)
                            }
                            output.append(contentsOf: rebuilt)
                        }
                    }
                }
                try flushGap()
                report.recordsRemoved += removed
                report.tombstonesRemoved += tombstones
                if group.count == 1 && removed == 0 && tombstones == 0 {
                    cleaned.append(group[0])
                    continue
                }
                let swapped = try Self.swap(group, with: output, storage: storage, directory: directory,
                                            indexIntervalBytes: config.indexIntervalBytes, crashPoints: self.crashPoints)
                cleaned.append(swapped)
            }
            let active = segments[segments.count - 1]
            segments = cleaned + [active]
            self.firstDirtyOffset = active.baseOffset
            report.segmentsAfter = cleaned.count
            report.bytesAfter = cleaned.reduce(0) { $0 + $1.sizeBytes }
            logger.info("compacted", metadata: [
                "partition": "\(topicPartition)", "removed": "\(report.recordsRemoved)",
                "tombstones": "\(report.tombstonesRemoved)", "bytes": "\(report.bytesBefore)→\(report.bytesAfter)",
            ])
            return report
        }
    }

    /// An empty batch (no records) that keeps the offsets of removed batches, as Kafka keeps empty
    /// batches: segments stay contiguous after compaction, so every scan can check that each batch
    /// starts where the previous one ended.
    static func gapBatch(_ range: ClosedRange<Offset>, codec: CompressionCodec, _ topicPartition: TopicPartition) throws(LogError) -> [UInt8] {
        let builder = RecordBatchBuilder(codec: codec)
        return try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
            try builder.build(baseOffset: range.lowerBound, lastOffsetDelta: Int32(range.upperBound - range.lowerBound))
        }
    }

    /// Writes the cleaned bytes beside the group, swaps them in, and opens the result.
    private static func swap(
        _ group: [LogSegment], with bytes: [UInt8], storage: any Storage, directory: String, indexIntervalBytes: Int,
        crashPoints: CrashPoints
    ) throws(LogError) -> LogSegment {
        let base = group[0].baseOffset
        let cleanedPath = joinPath(directory, LogSegment.fileName(base, ".log.cleaned"))
        let swapPath = joinPath(directory, LogSegment.fileName(base, ".log.swap"))
        let finalPath = joinPath(directory, LogSegment.fileName(base, ".log"))
        let file = try storageCall("writing \(cleanedPath)") { () throws(StorageError) -> any StorageFile in
            let file = try storage.openFile(cleanedPath, mode: .create)
            try file.truncate(to: 0)
            let chunk = 8 << 20
            var position = 0
            while position < bytes.count {
                let end = min(bytes.count, position + chunk)
                try file.write(Array(bytes[position..<end]), at: Int64(position))
                position = end
            }
            return file
        }
        defer { file.close() }
        try syncFile(file)
        crashPoints.reached(.duringCompaction)
        // The group's aborted-transaction entries move to the cleaned segment.
        var aborted: [AbortedTransaction] = []
        for segment in group { aborted += segment.loadTxnIndex() ?? [] }
        try storageCall("swapping \(cleanedPath)") { () throws(StorageError) in try storage.rename(cleanedPath, to: swapPath) }
        crashPoints.reached(.duringCompaction)
        for segment in group { try segment.delete() }
        try storageCall("renaming \(swapPath)") { () throws(StorageError) in try storage.rename(swapPath, to: finalPath) }
        let segment = try LogSegment.open(storage: storage, directory: directory, baseOffset: base)
        _ = try segment.loadIndexes(indexIntervalBytes: indexIntervalBytes)
        try segment.rewriteTxnIndex(aborted)
        return segment
    }

    static func forEachRawBatch(
        in segment: LogSegment, _ topicPartition: TopicPartition,
        _ body: (RecordBatchHeader, ArraySlice<UInt8>) throws(LogError) -> Void
    ) throws(LogError) {
        let problem = try segment.scan(from: 0, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
            try body(batch.header, batch.bytes)
            return true
        }
        if let problem {
            var offset = segment.baseOffset
            if case .corrupt(_, let base?, _) = problem { offset = base }
            throw LogError.corrupt(topicPartition, offset: offset, position: problem.position, path: segment.logPath, reason: problem.reason)
        }
    }

    static func forEachRecordBatch(
        in segment: LogSegment, _ topicPartition: TopicPartition,
        _ body: (RecordBatchHeader, [Record]) throws(LogError) -> Void
    ) throws(LogError) {
        try forEachRawBatch(in: segment, topicPartition) { (header, bytes) throws(LogError) in
            let records = try formatCall("reading \(topicPartition)") { () throws(RecordFormatError) in
                try RecordBatch(bytes: Array(bytes)).records()
            }
            try body(header, records)
        }
    }
}
