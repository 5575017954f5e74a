import StreamCore
import RecordFormat
import Logging

/// What one compaction pass did.
package struct CompactionReport: Sendable, Equatable {
    package var segmentsBefore = 0
    package var segmentsAfter = 0
    package var recordsRemoved = 0
    package var tombstonesRemoved = 0
    /// Transaction markers removed: their transaction had no data left and their delete horizon passed.
    package var markersRemoved = 0
    /// Batches rewritten to carry a delete horizon (the pass that first kept their tombstones or marker).
    package var horizonsSet = 0
    package var bytesBefore: Int64 = 0
    package var bytesAfter: Int64 = 0
}

/// Compaction by key for topics whose cleanup policy is `compact`: only the latest record of
/// each key survives in the inactive segments; tombstones (null values) and transaction markers
/// go once their delete horizon has passed.
///
/// Delete horizons (KIP-534): the first pass that keeps a tombstone, or a marker whose
/// transaction has no data left, rewrites its batch with attribute bit 6 set and the base
/// timestamp set to now + the topic's delete retention. A later pass at or after that horizon
/// removes the tombstones (and such a marker). The horizon is in the batch, so it survives
/// restarts, and no producer's clock decides when a delete disappears. A marker is removed only
/// once (Kafka's rule) every record of its transaction is gone, and never while it is the last
/// marker of a producer the partition still knows (it carries that producer's epoch for a
/// rebuild of the producer state from the log); an expired producer's markers can go.
///
/// Only inactive segments are cleaned: they are synced whole, so a newer value that made an
/// older one removable can never be lost in a crash. Offsets never change; a filtered batch
/// keeps its base offset, its last offset delta and its records' offset deltas, and a run of
/// batches removed whole is replaced by one empty batch spanning their offsets. So a cleaned
/// segment starts and ends at the same offsets as the segments it replaces, without gaps.
///
/// A pass has three steps; only the first and the last take the partition lock, so appends,
/// rolls and reads go on while the cleaned segments are built (issue 10.8):
/// ```
/// plan (locked): the inactive segments, the last stable offset, the aborted transactions, now
/// build (unlocked): read the planned segments, write and sync each group's `.log.cleaned`
/// install (locked): `.log.cleaned` → `.log.swap` (the swap point), delete the originals,
///                   `.log.swap` → `.log`, its `.txnindex` through a `.tmp`, and replace the
///                   planned segments in the list
/// ```
/// The planned segments cannot change meanwhile: only the cleaner rewrites inactive segments,
/// and one pass at a time runs per partition (the cleaner lock, which `close()` also takes, so
/// closing waits for a running pass). Recovery deletes `.cleaned` files and completes any
/// `.swap` it finds.
extension PartitionLog {
    /// Whether a pass is worth it: enough of the inactive log is uncleaned (Kafka's
    /// `min.cleanable.dirty.ratio` of 0.5), a delete horizon has passed, or producers expired
    /// (whose last markers may now go).
    package var needsCompaction: Bool {
        guard config.cleanupPolicy == .compact else { return false }
        let now = clockForCleaner.now()
        // Only throws once a sync of the data directory failed: then nothing is worth compacting.
        return (try? withSegments { (segments: inout [LogSegment]) throws(LogError) -> Bool in
            guard segments.count > 1 else { return false }
            if self.cleaningDue(at: now) { return true }
            let inactive = segments.dropLast()
            let total = inactive.reduce(Int64(0)) { $0 + $1.sizeBytes }
            let dirty = inactive.filter { $0.nextOffset > self.firstDirtyOffset }.reduce(Int64(0)) { $0 + $1.sizeBytes }
            return total > 0 && dirty * 2 >= total
        }) ?? false
    }

    /// What a pass works from, taken under the partition lock.
    struct CompactionPlan {
        var candidates: [LogSegment]
        /// Data at or past it belongs to open transactions: kept as it is, and not a newer value.
        var stable: Offset
        var aborted: [AbortedTransaction]
        /// Producers the partition still knows: their last marker stays.
        var liveProducers: Set<ProducerID>
        /// The partition's producer expiry count when the pass was planned.
        var producerExpiryCount: Int
        var now: Int64
        var config: TopicConfig
    }

    /// What the build step made of one group of planned segments.
    struct CleanedGroup {
        var segments: [LogSegment]
        /// The synced `.log.cleaned` file, or nil when the group is kept as it is.
        var cleanedPath: String?
        /// The markers of aborted transactions removed (their `.txnindex` entries go too).
        var removedAbortMarkers: Set<Offset>
    }

    /// Compacts the inactive segments now. Appends, rolls and reads are not held up while the
    /// cleaned segments are built; a second pass waits for the first.
    @discardableResult
    package func compact() throws(LogError) -> CompactionReport {
        cleanerLock.lock(); defer { cleanerLock.unlock() }
        guard let plan = try withSegments({ (segments: inout [LogSegment]) throws(LogError) -> CompactionPlan? in
            guard !self.isClosed, self.config.cleanupPolicy == .compact, segments.count > 1 else { return nil }
            return CompactionPlan(
                candidates: Array(segments.dropLast()),
                stable: self.producerState.firstUnstableOffset ?? segments[segments.count - 1].nextOffset,
                aborted: self.producerState.aborted, liveProducers: Set(self.producerState.producers.keys),
                producerExpiryCount: self.producerExpiryCount, now: self.clockForCleaner.now().rawValue, config: self.config)
        }) else { return CompactionReport() }
        var report = CompactionReport()
        let (groups, pendingHorizon) = try build(plan, &report)
        return try install(groups, plan, report, pendingHorizon: pendingHorizon)
    }

    // MARK: Build (outside the partition lock)

    /// - Returns: the groups, and the earliest delete horizon still ahead among what was kept.
    private func build(_ plan: CompactionPlan, _ report: inout CompactionReport) throws(LogError) -> ([CleanedGroup], Timestamp?) {
        let topicPartition = self.topicPartition
        let candidates = plan.candidates
        let stable = plan.stable
        let now = plan.now
        let aborted = plan.aborted
        func isAborted(_ header: RecordBatchHeader) -> Bool {
            header.isTransactional && !header.isControl && aborted.contains {
                $0.producerID == header.producerID && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset
            }
        }
        report.segmentsBefore = candidates.count
        report.bytesBefore = candidates.reduce(0) { $0 + $1.sizeBytes }

        // 1. The offset of the latest record of every key, and the last marker of every producer.
        var latest: [[UInt8]: Offset] = [:]
        var lastMarker: [ProducerID: Offset] = [:]
        for segment in candidates {
            try Self.forEachRawBatch(in: segment, topicPartition) { (header: RecordBatchHeader, bytes: ArraySlice<UInt8>) throws(LogError) in
                guard header.baseOffset < stable else { return }
                if header.isControl {
                    lastMarker[header.producerID] = header.baseOffset
                    return
                }
                guard !isAborted(header), header.recordCount > 0 else { return }
                let records = try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
                    try RecordBatch(bytes: Array(bytes)).records()
                }
                for record in records { if let key = record.key { latest[key] = record.offset } }
            }
        }

        // 2. Groups of consecutive segments that fit one segment once cleaned.
        var groups: [[LogSegment]] = []
        var current: [LogSegment] = []
        var currentBytes: Int64 = 0
        for segment in candidates {
            let span = current.isEmpty ? 0 : segment.nextOffset - current[0].baseOffset
            if !current.isEmpty && (currentBytes + segment.sizeBytes > Int64(plan.config.segmentBytesMax) || span >= Int64(Int32.max)) {
                groups.append(current)
                current = []
                currentBytes = 0
            }
            current.append(segment)
            currentBytes += segment.sizeBytes
        }
        if !current.isEmpty { groups.append(current) }

        // 3. Clean each group into one `.log.cleaned`, in offset order.
        let horizon = Timestamp(milliseconds: now + plan.config.deleteRetentionMilliseconds)
        // Per producer: whether its current transaction (since its last marker) kept any record.
        var transactionKeptData: [ProducerID: Bool] = [:]
        var cleaned: [CleanedGroup] = []
        // The earliest horizon of what the pass kept that still waits for one.
        var pendingHorizon: Timestamp?
        for group in groups {
            var output: [UInt8] = []
            var changed = false
            var removedAbortMarkers: Set<Offset> = []
            // Offsets of whole batches removed and not yet covered by a gap batch.
            var gap: ClosedRange<Offset>?
            var gapCodec = CompressionCodec.none
            func flushGap() throws(LogError) {
                guard let range = gap else { return }
                output.append(contentsOf: try Self.gapBatch(range, codec: gapCodec, topicPartition))
                gap = nil
            }
            /// Removes a batch; an empty batch of an earlier pass merges into the gap without
            /// making the group worth rewriting.
            func drop(_ header: RecordBatchHeader, isChange: Bool = true) {
                // The gap batch takes the codec of the batches it replaces.
                if gap == nil { gapCodec = header.codec ?? .none }
                gap = (gap?.lowerBound ?? header.baseOffset)...header.lastOffset
                if isChange { changed = true }
            }
            func keep(_ bytes: ArraySlice<UInt8>, horizon kept: Timestamp?) throws(LogError) {
                try flushGap()
                output.append(contentsOf: bytes)
                if let kept, kept.rawValue > now { pendingHorizon = min(pendingHorizon ?? kept, kept) }
            }
            for segment in group {
                try Self.forEachRawBatch(in: segment, topicPartition) { (header: RecordBatchHeader, bytes: ArraySlice<UInt8>) throws(LogError) in
                    if header.baseOffset >= stable {
                        try keep(bytes, horizon: nil)
                        return
                    }
                    if header.recordCount == 0 && !header.isControl {
                        drop(header, isChange: false)
                        return
                    }
                    if header.isControl {
                        let producer = header.producerID
                        let dataLeft = transactionKeptData.removeValue(forKey: producer) ?? false
                        let pinned = plan.liveProducers.contains(producer) && lastMarker[producer] == header.baseOffset
                        guard !dataLeft else { return try keep(bytes, horizon: nil) }
                        if let markerHorizon = header.deleteHorizon {
                            if markerHorizon.rawValue <= now && !pinned {
                                report.markersRemoved += 1
                                if Self.isAbortMarker(bytes) { removedAbortMarkers.insert(header.baseOffset) }
                                drop(header)
                            } else {
                                try keep(bytes, horizon: markerHorizon)
                            }
                            return
                        }
                        // The first pass that finds the transaction without data starts its horizon.
                        try keep(try Self.rebuilt(bytes, header, horizon: horizon, keeping: nil, topicPartition)[...], horizon: horizon)
                        report.horizonsSet += 1
                        changed = true
                        return
                    }
                    if isAborted(header) {
                        report.recordsRemoved += Int(header.recordCount)
                        drop(header)
                        return
                    }
                    let records = try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
                        try RecordBatch(bytes: Array(bytes)).records()
                    }
                    var kept: [Record] = []
                    var tombstonesKept = false
                    for record in records {
                        guard let key = record.key, latest[key] == record.offset else {
                            report.recordsRemoved += 1
                            continue
                        }
                        if record.value == nil {
                            if let batchHorizon = header.deleteHorizon, batchHorizon.rawValue <= now {
                                report.tombstonesRemoved += 1
                                continue
                            }
                            tombstonesKept = true
                        }
                        kept.append(record)
                    }
                    if header.isTransactional && !kept.isEmpty { transactionKeptData[header.producerID] = true }
                    if kept.isEmpty {
                        drop(header)
                        return
                    }
                    let setsHorizon = tombstonesKept && !header.hasDeleteHorizon
                    let batchHorizon = setsHorizon ? horizon : header.deleteHorizon
                    // Only tombstones wait for a horizon; a batch whose tombstones went has no work left.
                    let pending = tombstonesKept ? batchHorizon : nil
                    if kept.count == records.count && !setsHorizon {
                        try keep(bytes, horizon: pending)
                        return
                    }
                    try keep(try Self.rebuilt(bytes, header, horizon: batchHorizon, keeping: kept, topicPartition)[...], horizon: pending)
                    if setsHorizon { report.horizonsSet += 1 }
                    changed = true
                }
            }
            try flushGap()
            if group.count == 1 && !changed {
                cleaned.append(CleanedGroup(segments: group, cleanedPath: nil, removedAbortMarkers: []))
                continue
            }
            let path = try Self.writeCleaned(output, base: group[0].baseOffset, storage: storageForCleaner, directory: directory)
            crashPoints.reached(.duringCompaction)
            cleaned.append(CleanedGroup(segments: group, cleanedPath: path, removedAbortMarkers: removedAbortMarkers))
        }
        return (cleaned, pendingHorizon)
    }

    /// Whether a control batch is an ABORT marker.
    private static func isAbortMarker(_ bytes: ArraySlice<UInt8>) -> Bool {
        (try? RecordBatch(bytes: Array(bytes)).controlRecord().type) == .abort
    }

    /// The batch again, with `keeping` records (all, when nil) and a delete horizon.
    private static func rebuilt(
        _ bytes: ArraySlice<UInt8>, _ header: RecordBatchHeader, horizon: Timestamp?, keeping kept: [Record]?,
        _ topicPartition: TopicPartition
    ) throws(LogError) -> [UInt8] {
        try formatCall("compacting \(topicPartition)") { () throws(RecordFormatError) in
            let records: [Record]
            if let kept { records = kept } else { records = try RecordBatch(bytes: Array(bytes)).records() }
            var builder = RecordBatchBuilder(
                codec: header.codec ?? .none, producerID: header.producerID, producerEpoch: header.producerEpoch,
                baseSequence: header.baseSequence, isTransactional: header.isTransactional, isControl: header.isControl,
                partitionLeaderEpoch: header.partitionLeaderEpoch, deleteHorizon: horizon)
            for record in records {
                builder.append(offsetDelta: record.offsetDelta, key: record.key, value: record.value,
                               headers: record.headers, timestamp: record.timestamp)
            }
            return try builder.build(baseOffset: header.baseOffset, lastOffsetDelta: header.lastOffsetDelta)
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

    /// Writes and syncs `<base>.log.cleaned`.
    private static func writeCleaned(_ bytes: [UInt8], base: Offset, storage: any Storage, directory: String) throws(LogError) -> String {
        let cleanedPath = joinPath(directory, LogSegment.fileName(base, ".log.cleaned"))
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
        return cleanedPath
    }

    // MARK: Install (under the partition lock)

    private func install(
        _ groups: [CleanedGroup], _ plan: CompactionPlan, _ report: CompactionReport, pendingHorizon: Timestamp?
    ) throws(LogError) -> CompactionReport {
        var report = report
        let storage = storageForCleaner
        let directory = self.directory
        let indexIntervalBytes = plan.config.indexIntervalBytes
        let crashPoints = self.crashPoints
        let topicPartition = self.topicPartition
        return try withSegments { (segments: inout [LogSegment]) throws(LogError) -> CompactionReport in
            // Only the cleaner rewrites inactive segments, one pass at a time; but a live change of
            // the cleanup policy lets retention delete them: then the pass is dropped.
            guard self.config.cleanupPolicy == .compact, segments.count > plan.candidates.count,
                  zip(segments, plan.candidates).allSatisfy({ $0 === $1 })
            else {
                for path in groups.compactMap(\.cleanedPath) {
                    try storageCall("removing \(path)") { () throws(StorageError) in try storage.removeFile(path) }
                }
                self.loggerForCleaner.info("dropped a compaction pass: the segments changed under it", metadata: ["partition": "\(topicPartition)"])
                return CompactionReport()
            }
            var cleaned: [LogSegment] = []
            var removedAbortMarkers: Set<Offset> = []
            for group in groups {
                guard let cleanedPath = group.cleanedPath else {
                    cleaned += group.segments
                    continue
                }
                removedAbortMarkers.formUnion(group.removedAbortMarkers)
                cleaned.append(try Self.swap(group.segments, cleanedPath: cleanedPath, removedAbortMarkers: group.removedAbortMarkers,
                                             storage: storage, directory: directory, indexIntervalBytes: indexIntervalBytes,
                                             crashPoints: crashPoints))
            }
            let rest = Array(segments[plan.candidates.count...])
            segments = cleaned + rest
            self.firstDirtyOffset = rest[0].baseOffset
            if !removedAbortMarkers.isEmpty { self.producerState.forgetAborted(endingAt: removedAbortMarkers) }
            self.noteCleaned(pendingHorizon: pendingHorizon, producerExpiryCount: plan.producerExpiryCount)
            report.segmentsAfter = cleaned.count
            report.bytesAfter = cleaned.reduce(0) { $0 + $1.sizeBytes }
            self.loggerForCleaner.info("compacted", metadata: [
                "partition": "\(topicPartition)", "removed": "\(report.recordsRemoved)",
                "tombstones": "\(report.tombstonesRemoved)", "markers": "\(report.markersRemoved)",
                "bytes": "\(report.bytesBefore)→\(report.bytesAfter)",
            ])
            return report
        }
    }

    /// Swaps a synced `.log.cleaned` in for `group`, and opens the result.
    private static func swap(
        _ group: [LogSegment], cleanedPath: String, removedAbortMarkers: Set<Offset>, storage: any Storage, directory: String,
        indexIntervalBytes: Int, crashPoints: CrashPoints
    ) throws(LogError) -> LogSegment {
        let base = group[0].baseOffset
        let swapPath = joinPath(directory, LogSegment.fileName(base, ".log.swap"))
        let finalPath = joinPath(directory, LogSegment.fileName(base, ".log"))
        // The group's aborted-transaction entries move to the cleaned segment, but those whose
        // marker went (their data went before it).
        var aborted: [AbortedTransaction] = []
        for segment in group { aborted += segment.loadTxnIndex() ?? [] }
        aborted.removeAll { removedAbortMarkers.contains($0.lastOffset) }
        try storageCall("swapping \(cleanedPath)") { () throws(StorageError) in try storage.rename(cleanedPath, to: swapPath) }
        crashPoints.reached(.duringCompaction)
        for segment in group { try segment.delete() }
        try storageCall("renaming \(swapPath)") { () throws(StorageError) in
            try storage.rename(swapPath, to: finalPath)
            try storage.syncDirectory(directory)
        }
        try writeTxnIndex(aborted, base: base, storage: storage, directory: directory)
        let segment = try LogSegment.open(storage: storage, directory: directory, baseOffset: base)
        _ = try segment.loadIndexes(indexIntervalBytes: indexIntervalBytes)
        return segment
    }

    /// Writes the cleaned segment's `<base>.txnindex` whole, through a synced `.tmp` file renamed
    /// into place, before the segment is opened.
    ///
    /// - Invariant: from the swap point on, `<base>.txnindex` is either absent or holds every
    ///   aborted transaction of the cleaned segment. Absent, the next open rebuilds it by
    ///   replaying the log. Opening the segment first would create it empty, and an open after a
    ///   crash before it was rewritten trusted that empty file: a clean open then knew of no
    ///   aborted transaction there, and served the aborted data the pass kept (at or past the
    ///   last stable offset) as committed.
    private static func writeTxnIndex(_ entries: [AbortedTransaction], base: Offset, storage: any Storage, directory: String) throws(LogError) {
        let finalPath = joinPath(directory, LogSegment.fileName(base, ".txnindex"))
        let temporaryPath = finalPath + ".tmp"
        var bytes: [UInt8] = []
        for entry in entries { bytes.append(contentsOf: entry.encoded(lastStableOffset: entry.lastOffset)) }
        let file = try storageCall("writing \(temporaryPath)") { () throws(StorageError) -> any StorageFile in
            let file = try storage.openFile(temporaryPath, mode: .create)
            try file.truncate(to: 0)
            if !bytes.isEmpty { try file.write(bytes, at: 0) }
            return file
        }
        defer { file.close() }
        try syncFile(file)
        try storageCall("writing \(finalPath)") { () throws(StorageError) in
            try storage.rename(temporaryPath, to: finalPath)
            try storage.syncDirectory(directory)
        }
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
