package import StreamCore
package import RecordFormat
import Logging

/// Where an append landed.
package struct AppendResult: Sendable, Equatable {
    package let baseOffset: Offset
    package let lastOffset: Offset
    /// True when the batch was already in the log (a retried duplicate, or a transaction marker
    /// for a transaction already complete here) and nothing was written.
    package var wasAlreadyPresent = false

    package init(baseOffset: Offset, lastOffset: Offset, wasAlreadyPresent: Bool = false) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.wasAlreadyPresent = wasAlreadyPresent
    }
}

/// Which records a reader may see.
package enum IsolationLevel: String, Sendable, CaseIterable {
    /// Only committed data below the last stable offset; aborted transactions are skipped.
    case readCommitted = "read-committed"
    /// Everything appended, open and aborted transactions included.
    case readUncommitted = "read-uncommitted"
}

/// The batches a read returned, with the partition's bounds at the time of the read.
package struct FetchResult: Sendable {
    package var batches: [RecordBatch]
    /// The first offset of the partition (records before it were deleted or never existed).
    package var logStartOffset: Offset
    /// One past the last offset written (Kafka's log end offset).
    package var logEndOffset: Offset
    /// The first offset of the oldest open transaction, or the log end (read-committed readers
    /// see nothing at or past it).
    package var lastStableOffset: Offset
    /// For read-committed reads: the aborted transactions overlapping the batches returned.
    package var abortedTransactions: [AbortedTransaction] = []
}

/// One partition: an ordered list of segments, the last of which is active (takes appends).
///
/// - Invariant: segments are sorted by base offset; each segment's offsets lie below the next
///   segment's base offset; `logEndOffset` is one past the last appended offset.
/// - Invariant: every segment but the active one is synced whole, with its indexes.
///
/// Thread-safety: all methods are safe to call from any thread; they serialise on one lock
/// per partition. A compaction pass also holds the partition's cleaner lock for its whole length
/// but the partition lock only to plan and to swap (see LogCleaner); `close()` takes the cleaner
/// lock first, so it waits for a running pass. Lock order: cleaner lock, then partition lock.
package final class PartitionLog: @unchecked Sendable {
    package let topicPartition: TopicPartition
    package let directory: String
    package private(set) var config: TopicConfig
    private let storage: any Storage
    private let clock: any EngineClock
    private let logger: Logger
    /// The partition lock (internal so the extensions in other files read the segments under it).
    let lock = Lock()
    /// Held by a compaction pass from start to end, and by `close()`.
    let cleanerLock = Lock()
    let crashPoints: CrashPoints
    var segments: [LogSegment] = []
    /// Sequences, open transactions and aborted transactions of every producer here.
    var producerState = ProducerStateMachine()
    /// Transactions left open by a recovery that found damaged batches (what is damaged, by
    /// producer): the damage may hold their marker, so until a marker for the producer is
    /// appended, reads that would wait on them and writes that need them closed fail with a
    /// corruption error naming the damage instead of stalling or refusing without a reason.
    var transactionsOpenAtDamage: [ProducerID: (firstOffset: Offset, damage: String)] = [:]
    /// Offsets below this were compacted already; the cleaner starts from here.
    var firstDirtyOffset = Offset(0)
    /// The earliest delete horizon the last pass kept a tombstone or marker for (nil: none).
    private var pendingDeleteHorizon: Timestamp?
    /// Expiries of producers so far, and as of the last pass's plan: when they differ, producers
    /// expired since (their last markers may go now).
    private(set) var producerExpiryCount = 0
    private var producerExpiryCountCleaned = 0
    /// Set by `close()`; a pass planned after it does nothing.
    private(set) var isClosed = false
    /// Records below this were deleted by ``deleteRecords(below:)`` (it may lie inside the first
    /// segment); the log start offset is the larger of it and the first segment's base offset.
    var recordsStartOffset = Offset(0)
    /// The data directory's recovery points (this partition's is raised after each sync).
    let recoveryPoints: RecoveryPoints
    /// The data directory's first failed sync, after which this partition takes no writes.
    let syncFailure: SyncFailure
    /// Whether anything was written (or recovered) since the open, so that ``close()`` must leave
    /// the partition clean for the next open; a partition only read is closed without a write.
    var changedSinceOpen = false
    /// Who waits for this partition's log end or last stable offset to move (``PartitionChangeObservers``).
    package let changeObservers = PartitionChangeObservers()

    /// Opens (and recovers) the partition in `directory`, creating its first segment when empty.
    init(topicPartition: TopicPartition, directory: String, config: TopicConfig, storage: any Storage,
         clock: any EngineClock, logger: Logger, recoveryPoints: RecoveryPoints, syncFailure: SyncFailure,
         crashPoints: CrashPoints = .disabled) throws(LogError) {
        self.recoveryPoints = recoveryPoints
        self.syncFailure = syncFailure
        self.crashPoints = crashPoints
        self.topicPartition = topicPartition
        self.directory = directory
        self.config = config
        self.storage = storage
        self.clock = clock
        self.logger = logger
        try storageCall("creating \(directory)") { () throws(StorageError) in try storage.createDirectory(directory) }
        try completeInterruptedSwaps()
        try loadSegments()
        try loadLogStart()
    }

    // MARK: Bounds

    /// The first readable offset: the first segment's base offset, or past it when records
    /// were deleted below an offset inside that segment (``deleteRecords(below:)``).
    package var logStartOffset: Offset {
        lock.lock(); defer { lock.unlock() }
        return logStartOffsetLocked
    }

    private var logStartOffsetLocked: Offset { max(segments[0].baseOffset, recordsStartOffset) }

    package var logEndOffset: Offset {
        lock.lock(); defer { lock.unlock() }
        return segments[segments.count - 1].nextOffset
    }

    /// The first offset of the oldest open transaction, or the log end offset when none is open.
    package var lastStableOffset: Offset {
        lock.lock(); defer { lock.unlock() }
        return lastStableOffsetLocked
    }

    private var lastStableOffsetLocked: Offset {
        producerState.firstUnstableOffset ?? segments[segments.count - 1].nextOffset
    }

    /// A producer's epoch and last sequence here, if it has written here.
    package func producerEpochAndSequence(_ producer: ProducerID) -> (epoch: ProducerEpoch, lastSequence: Int32)? {
        lock.lock(); defer { lock.unlock() }
        return producerState.entry(for: producer).map { ($0.epoch, $0.lastSequence) }
    }

    /// Producers with an open transaction here, with its first offset.
    package var openTransactions: [ProducerID: Offset] {
        lock.lock(); defer { lock.unlock() }
        return producerState.producers.compactMapValues(\.ongoingTransactionFirstOffset)
    }

    package var sizeBytes: Int64 {
        lock.lock(); defer { lock.unlock() }
        return segments.reduce(0) { $0 + $1.sizeBytes }
    }

    package var segmentCount: Int {
        lock.lock(); defer { lock.unlock() }
        return segments.count
    }

    /// The base offsets of the segments, oldest first.
    package var segmentBaseOffsets: [Offset] {
        lock.lock(); defer { lock.unlock() }
        return segments.map(\.baseOffset)
    }

    // MARK: Append

    /// Appends one complete batch (built with base offset 0), assigning its offsets.
    ///
    /// The batch is checked before it is written (header, CRC-32C, record count, size limit), so
    /// a damaged batch never reaches the disk. A failed write leaves nothing visible.
    /// - Returns: the offsets the batch received.
    @discardableResult
    package func append(_ batch: [UInt8]) throws(LogError) -> AppendResult {
        let bytes = batch
        let header = try formatCall("appending to \(topicPartition)") { () throws(RecordFormatError) in
            try RecordBatchHeader.parse(bytes, at: 0)
        }
        guard header.totalSizeBytes == bytes.count else {
            throw LogError(.invalidBatch, "batch length field says \(header.totalSizeBytes) bytes, got \(bytes.count)")
        }
        let checked: ChecksummedRecordBatch
        do {
            checked = try ChecksummedRecordBatch(verifying: RecordBatch(bytes: bytes))
        } catch {
            guard error.code == .checksumMismatch else { throw LogError(.invalidBatch, "appending to \(topicPartition): \(error)") }
            guard bytes.count <= config.batchBytesMax else { throw Self.tooLarge(bytes.count, topicPartition, config) }
            throw LogError(.invalidBatch, "batch for \(topicPartition) fails its CRC-32C check")
        }
        return try append(checked)
    }

    /// Appends a batch whose CRC was checked when it was built (a broker checks a produced batch
    /// once): the same checks as ``append(_:)-([UInt8])`` but the CRC, which the type vouches for.
    @discardableResult
    package func append(_ batch: ChecksummedRecordBatch) throws(LogError) -> AppendResult {
        let header = batch.header
        let bytes = batch.bytes
        guard bytes.count <= config.batchBytesMax else { throw Self.tooLarge(bytes.count, topicPartition, config) }
        guard header.lastOffsetDelta >= 0, header.recordCount >= 1 || header.isControl else {
            throw LogError(.invalidBatch, "batch for \(topicPartition) has no records")
        }
        var marker: ControlRecordType?
        if header.isControl {
            marker = try formatCall("appending a marker to \(topicPartition)") { () throws(RecordFormatError) in
                try RecordBatch(bytes: bytes).controlRecord().type
            }
        }
        if config.cleanupPolicy == .compact && !header.isControl {
            let summary = try formatCall("appending to \(topicPartition)") { () throws(RecordFormatError) in
                try RecordBatch(bytes: bytes).validateRecords()
            }
            if summary.hasNullKey {
                throw LogError(.invalidBatch, "compacted topic \(topicPartition.topic) requires a key on every record")
            }
        }

        let result = try appendUnderLock(bytes, header: header, marker: marker)
        // After the lock is released: whoever is told can read what was appended.
        if !result.wasAlreadyPresent { changeObservers.notifyChanged() }
        return result
    }

    /// Throws `.corruptBatch` when the last stable offset is held by a transaction that a recovery
    /// left open behind damaged bytes (``transactionsOpenAtDamage``): read-committed reading cannot
    /// go past it, and waiting would never end. A reader at the last stable offset calls this
    /// instead of reading (``LogConsumer`` does; ``read(from:maxBytes:isolation:)`` does there).
    package func checkStableOffsetResolvable() throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        try checkStableOffsetResolvableLocked()
    }

    private func checkStableOffsetResolvableLocked() throws(LogError) {
        guard !transactionsOpenAtDamage.isEmpty else { return }
        let stable = lastStableOffsetLocked
        guard stable < segments[segments.count - 1].nextOffset,
              let (producer, open) = transactionsOpenAtDamage.first(where: { $0.value.firstOffset == stable }) else { return }
        throw LogError(.corruptBatch, "read-committed reads of \(topicPartition) stop at offset \(stable), where producer \(producer)'s transaction is open and cannot be resolved: \(open.damage)")
    }

    private static func tooLarge(_ size: Int, _ topicPartition: TopicPartition, _ config: TopicConfig) -> LogError {
        LogError(.recordTooLarge, "a batch of \(size) bytes exceeds \(topicPartition.topic)'s limit of \(config.batchBytesMax) bytes")
    }

    private func appendUnderLock(_ bytes: [UInt8], header: RecordBatchHeader, marker: ControlRecordType?) throws(LogError) -> AppendResult {
        lock.lock(); defer { lock.unlock() }
        return try syncFailure.guarding { () throws(LogError) -> AppendResult in
            try appendLocked(bytes, header: header, marker: marker)
        }
    }

    private func appendLocked(_ batch: [UInt8], header: RecordBatchHeader, marker: ControlRecordType?) throws(LogError) -> AppendResult {
        var bytes = batch
        let decision: ProducerAppendDecision
        do {
            decision = try producerState.decide(header, partition: topicPartition)
        } catch {
            if let open = transactionsOpenAtDamage[header.producerID] {
                throw LogError(.corruptBatch, "\(error.message); its transaction from offset \(open.firstOffset) cannot be closed here: \(open.damage)")
            }
            throw error
        }
        switch decision {
        case .append: break
        case .duplicate(let previous):
            return AppendResult(baseOffset: previous.baseOffset, lastOffset: previous.lastOffset, wasAlreadyPresent: true)
        case .markerAlreadyApplied:
            let end = segments[segments.count - 1].nextOffset
            return AppendResult(baseOffset: end, lastOffset: end + -1, wasAlreadyPresent: true)
        }
        var active = segments[segments.count - 1]
        let now = clock.now()
        if try shouldRoll(active, incomingBytes: bytes.count, lastOffsetDelta: header.lastOffsetDelta, now: now) {
            active = try roll()
            // A roll is when an inactive segment may have become deletable.
            _ = try enforceRetentionLocked(now: now)
        }
        let base = active.nextOffset
        RecordBatch.setBaseOffset(base, in: &bytes)
        let placed = RecordBatchHeader.withBaseOffset(header, base)
        changedSinceOpen = true
        try active.append(bytes, header: placed, indexIntervalBytes: config.indexIntervalBytes, wallClock: now)
        if marker != nil { transactionsOpenAtDamage[header.producerID] = nil }
        if let closed = producerState.apply(placed, marker: marker, appendedAt: now) {
            try active.appendAbortedTransaction(closed, lastStableOffset: lastStableOffsetLocked)
        }
        return AppendResult(baseOffset: base, lastOffset: placed.lastOffset)
    }

    private func shouldRoll(_ active: LogSegment, incomingBytes: Int, lastOffsetDelta: Int32, now: Timestamp) throws(LogError) -> Bool {
        guard !active.isEmpty else { return false }
        if active.sizeBytes + Int64(incomingBytes) > Int64(config.segmentBytesMax) { return true }
        if let first = active.firstAppendTime, Self.age(since: first, now: now) >= config.segmentAgeMilliseconds { return true }
        if (active.nextOffset - active.baseOffset) + Int64(lastOffsetDelta) >= Int64(Int32.max) { return true }
        return false
    }

    /// Milliseconds from `first` to `now`, saturating: a segment's first timestamp may be any
    /// 64-bit value (a client's CreateTime), so the difference must not trap.
    static func age(since first: Timestamp, now: Timestamp) -> Int64 {
        let (age, overflow) = now.rawValue.subtractingReportingOverflow(first.rawValue)
        guard overflow else { return age }
        return first.rawValue < 0 ? Int64.max : Int64.min
    }

    /// Seals the active segment (synced with its indexes) and starts a new one at the log end.
    private func roll() throws(LogError) -> LogSegment {
        let active = segments[segments.count - 1]
        try active.seal()
        try writeProducerSnapshot(at: active.nextOffset)
        crashPoints.reached(.duringSegmentRoll)
        let next = try LogSegment.create(storage: storage, directory: directory, baseOffset: active.nextOffset)
        segments.append(next)
        // The sealed segment is synced whole and the new one was created empty: all is durable.
        recoveryPoints.set(topicPartition, RecoveryPoint(offset: next.baseOffset, activeBase: next.baseOffset, activePosition: 0))
        logger.debug("rolled segment", metadata: ["partition": "\(topicPartition)", "base": "\(next.baseOffset)"])
        return next
    }

    /// Seals the active segment and starts a new one, when the active one holds anything.
    package func rollNow() throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        try syncFailure.guarding { () throws(LogError) in
            if !segments[segments.count - 1].isEmpty {
                changedSinceOpen = true
                _ = try roll()
            }
        }
    }

    /// Makes every append so far durable: one sync of the active `.log` (sealed segments were
    /// synced when they were sealed), then the data directory's recovery-point checkpoint, before
    /// it returns. To sync several partitions with one checkpoint, use ``LogManager/sync(_:)``.
    /// - Throws: `.syncFailed` when a sync failed, now or earlier (see ``SyncFailure``).
    package func sync() throws(LogError) {
        try syncLog()
        try recoveryPoints.checkpoint()
    }

    /// Syncs the active segment and raises the recovery point in memory only; the caller
    /// checkpoints the recovery points before it acknowledges the sync.
    func syncLog() throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        try syncFailure.guarding { () throws(LogError) in
            let active = segments[segments.count - 1]
            try active.sync()
            recoveryPoints.set(topicPartition, RecoveryPoint(
                offset: active.nextOffset, activeBase: active.baseOffset, activePosition: active.sizeBytes))
        }
    }

    // MARK: Read

    /// Reads whole batches holding offsets at or after `offset`, up to about `maxBytes` (at least
    /// one batch when there is any, so a reader always makes progress).
    ///
    /// Every batch is CRC-checked; a damaged one is reported with its offset and file position,
    /// never returned. A read-committed read may return nothing but markers and aborted batches
    /// (a run of aborted transactions longer than `maxBytes`): a reader moves past them and reads
    /// on, and is at the end only at ``lastStableOffset`` (``LogConsumer`` does; a Kafka Fetch
    /// answer hands them on with their aborted transactions, as Kafka does).
    /// - Throws: `.offsetOutOfRange` outside `logStartOffset...logEndOffset`, `.corruptBatch`.
    package func read(
        from offset: Offset, maxBytes: Int, isolation: IsolationLevel = .readUncommitted
    ) throws(LogError) -> FetchResult {
        lock.lock(); defer { lock.unlock() }
        let start = logStartOffsetLocked
        let end = segments[segments.count - 1].nextOffset
        guard offset >= start, offset <= end else {
            throw LogError.offsetOutOfRange(topicPartition, requested: offset, earliest: start, latest: end)
        }
        let stable = lastStableOffsetLocked
        let upTo = isolation == .readCommitted ? stable : end
        var result = FetchResult(batches: [], logStartOffset: start, logEndOffset: end, lastStableOffset: stable)
        if offset >= upTo {
            if isolation == .readCommitted { try checkStableOffsetResolvableLocked() }
            return result
        }
        var index = segmentIndex(containing: offset)
        var collected = 0
        var full = false
        let chunkBytes = max(64 << 10, min(4 << 20, maxBytes + config.indexIntervalBytes + 1024))
        while index < segments.count && !full {
            let segment = segments[index]
            let entry = segment.indexEntry(for: offset)
            var scanFrom = entry
            var batches: [RecordBatch] = []
            var problem: ScanProblem?
            // Damage a scan met before reaching `offset`, and resumed after (issue 18.1): the
            // index entry the scan started from may lie before damaged bytes that `offset` is past.
            var skippedDamage: ScanProblem?
            var endOfValidBatches = entry.first
            var indexRebuilt = false
            while true {
                var damageHoldsOffset = false
                problem = try segment.scan(from: scanFrom.position, first: scanFrom.first, verifyChecksums: true, chunkBytes: chunkBytes) {
                    (batch: ScannedBatch) throws(LogError) -> Bool in
                    if batch.header.lastOffset < offset {
                        endOfValidBatches = batch.header.lastOffset + 1
                        return true
                    }
                    if skippedDamage != nil && batches.isEmpty && result.batches.isEmpty && batch.header.baseOffset > offset {
                        damageHoldsOffset = true
                        return false
                    }
                    if batch.header.baseOffset >= upTo {
                        full = true
                        return false
                    }
                    if collected > 0 && collected + batch.bytes.count > maxBytes {
                        full = true
                        return false
                    }
                    let view = try formatCall("reading \(self.topicPartition)") { () throws(RecordFormatError) in
                        try RecordBatch(bytes: Array(batch.bytes))
                    }
                    batches.append(view)
                    collected += batch.bytes.count
                    if collected >= maxBytes { full = true; return false }
                    return true
                }
                if damageHoldsOffset {
                    problem = skippedDamage
                    break
                }
                guard let found = problem, batches.isEmpty, result.batches.isEmpty else { break }
                if skippedDamage == nil && entry.position > 0, try indexLooksWrong(segment, offset: offset) {
                    indexRebuilt = true
                    break
                }
                guard let resume = try segment.validBatch(afterDamageAt: found.position, atLeast: endOfValidBatches) else { break }
                skippedDamage = skippedDamage ?? found
                scanFrom = (resume, nil)
            }
            if indexRebuilt { continue }
            result.batches.append(contentsOf: batches)
            if let problem {
                if !result.batches.isEmpty { break }
                let at: Offset
                if case .corrupt(_, let base?, _) = problem { at = base } else { at = offset }
                throw LogError.corrupt(topicPartition, offset: at, position: problem.position, path: segment.logPath, reason: problem.reason)
            }
            index += 1
        }
        if isolation == .readCommitted, let last = result.batches.last {
            result.abortedTransactions = producerState.abortedTransactions(from: offset, upTo: last.header.lastOffset + 1)
        }
        return result
    }

    /// Whether a failed scan from an index entry was the index's fault: when scanning the same
    /// segment from its start reaches `offset` cleanly, the index is rebuilt from the `.log`.
    private func indexLooksWrong(_ segment: LogSegment, offset: Offset) throws(LogError) -> Bool {
        var reached = false
        let problem = try segment.scan(from: 0, verifyChecksums: true) {
            (batch: ScannedBatch) throws(LogError) -> Bool in
            if batch.header.lastOffset >= offset {
                reached = true
                return false
            }
            return true
        }
        guard problem == nil && reached else { return false }
        logger.warning("an index entry does not match the log; rebuilding the indexes", metadata: [
            "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
        ])
        try segment.rebuildIndexes(indexIntervalBytes: config.indexIntervalBytes)
        return true
    }

    /// Runs `body` under the partition's lock with the segment holding `offset` and the one after
    /// it (for ``damagedBatch(at:)``).
    /// - Throws: `.offsetOutOfRange` outside `logStartOffset...logEndOffset`.
    func withSegment<T>(containing offset: Offset, _ body: (LogSegment, LogSegment?) throws(LogError) -> T) throws(LogError) -> T {
        lock.lock(); defer { lock.unlock() }
        let start = segments[0].baseOffset
        let end = segments[segments.count - 1].nextOffset
        guard offset >= start, offset <= end else {
            throw LogError.offsetOutOfRange(topicPartition, requested: offset, earliest: start, latest: end)
        }
        let index = segmentIndex(containing: offset)
        return try body(segments[index], index + 1 < segments.count ? segments[index + 1] : nil)
    }

    /// The index of the last segment whose base offset is ≤ `offset`.
    private func segmentIndex(containing offset: Offset) -> Int {
        var low = 0
        var high = segments.count
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].baseOffset <= offset { low = middle + 1 } else { high = middle }
        }
        return max(0, low - 1)
    }

    /// The first offset whose record has a timestamp ≥ `timestamp`, or nil when none has.
    package func offset(forTimestamp timestamp: Timestamp) throws(LogError) -> Offset? {
        lock.lock(); defer { lock.unlock() }
        for segment in segments where segment.maxTimestamp >= timestamp {
            var found: Offset?
            let entry = segment.indexEntry(forTimestamp: timestamp)
            let problem = try segment.scan(from: entry.position, first: entry.first, verifyChecksums: true) {
                (batch: ScannedBatch) throws(LogError) -> Bool in
                guard batch.header.maxTimestamp >= timestamp else { return true }
                let records = try formatCall("reading \(self.topicPartition)") { () throws(RecordFormatError) in
                    try RecordBatch(bytes: Array(batch.bytes)).records()
                }
                if let record = records.first(where: { $0.timestamp >= timestamp && $0.offset >= self.logStartOffsetLocked }) {
                    found = record.offset
                    return false
                }
                return true
            }
            if let found { return found }
            if let problem {
                var at = segment.baseOffset
                if case .corrupt(_, let base?, _) = problem { at = base }
                throw LogError.corrupt(topicPartition, offset: at, position: problem.position, path: segment.logPath, reason: problem.reason)
            }
        }
        return nil
    }

    // MARK: Retention

    /// Deletes whole inactive segments that are past the topic's retention time or that keep the
    /// partition over its retention size. The active segment is never deleted.
    /// - Returns: how many segments were deleted.
    @discardableResult
    package func enforceRetention() throws(LogError) -> Int {
        lock.lock(); defer { lock.unlock() }
        return try enforceRetentionLocked(now: clock.now())
    }

    private func enforceRetentionLocked(now timestamp: Timestamp) throws(LogError) -> Int {
        guard config.cleanupPolicy == .delete else { return 0 }
        let now = timestamp.rawValue
        var deleted = 0
        // Never delete data of a transaction that is still open.
        let unstable = producerState.firstUnstableOffset ?? Offset(Int64.max)
        if config.retentionMilliseconds > 0 {
            while segments.count > 1, let first = segments.first, first.maxTimestamp != .none, first.nextOffset <= unstable,
                  first.maxTimestamp.rawValue < now - config.retentionMilliseconds {
                try deleteOldestSegment(reason: "older than the retention time")
                deleted += 1
            }
        }
        if config.retentionBytes > 0 {
            var total = segments.reduce(Int64(0)) { $0 + $1.sizeBytes }
            while segments.count > 1, segments[0].nextOffset <= unstable, total - segments[0].sizeBytes >= config.retentionBytes {
                total -= segments[0].sizeBytes
                try deleteOldestSegment(reason: "over the retention size")
                deleted += 1
            }
        }
        if deleted > 0 { producerState.forgetAborted(before: segments[0].baseOffset) }
        return deleted
    }

    private func deleteOldestSegment(reason: String) throws(LogError) {
        let segment = segments.removeFirst()
        logger.info("deleting segment", metadata: [
            "partition": "\(topicPartition)", "base": "\(segment.baseOffset)", "reason": "\(reason)",
        ])
        try segment.delete()
    }

    // MARK: Producer expiry

    /// Forgets the producers that have appended nothing here for more than `idleMilliseconds`
    /// (wall clock) and have no transaction open here (Kafka's producer id expiration): their
    /// sequences and epochs no longer cost memory, snapshot bytes or recovery work.
    ///
    /// The expiry is made durable at once: when anything expired, the active segment is rolled,
    /// and the snapshot written at the roll no longer holds the expired producers (recovery
    /// replays only the active segment after the snapshot, which would bring back a producer
    /// that wrote there). An expired producer that writes again is a new producer here.
    /// - Returns: how many producers expired.
    @discardableResult
    package func expireProducers(idleMilliseconds: Int64) throws(LogError) -> Int {
        lock.lock(); defer { lock.unlock() }
        let cutoff = Timestamp(milliseconds: clock.now().rawValue - idleMilliseconds)
        let expired = producerState.expireProducers(idleBefore: cutoff)
        guard !expired.isEmpty else { return 0 }
        producerExpiryCount += 1
        if segments[segments.count - 1].isEmpty {
            try writeProducerSnapshot(at: segments[segments.count - 1].baseOffset)
        } else {
            _ = try roll()
        }
        logger.debug("expired idle producers", metadata: ["partition": "\(topicPartition)", "producers": "\(expired.count)"])
        return expired.count
    }

    // MARK: Lifecycle

    /// Waits for a running compaction pass, then closes every file. When anything was written or
    /// recovered since the open (and no sync of the data directory failed), first leaves the
    /// partition clean for the next open: the active segment synced with its indexes, a producer
    /// snapshot at the log end, the recovery point at the log end (checkpointed by
    /// ``LogManager/close()``). A partition only read writes nothing.
    package func close() {
        cleanerLock.lock(); defer { cleanerLock.unlock() }
        lock.lock(); defer { lock.unlock() }
        isClosed = true
        if changedSinceOpen && syncFailure.error == nil {
            do {
                try syncFailure.guarding { () throws(LogError) in try closeCleanly() }
            } catch {
                // close() cannot fail: the next open recovers the partition instead.
                logger.error("closing a partition left it to recovery", metadata: ["partition": "\(topicPartition)", "error": "\(error)"])
            }
        }
        for segment in segments { segment.close() }
    }

    private func closeCleanly() throws(LogError) {
        let active = segments[segments.count - 1]
        try active.sync()
        try active.closeIndexes()
        try writeProducerSnapshot(at: active.nextOffset)
        recoveryPoints.set(topicPartition, RecoveryPoint(
            offset: active.nextOffset, activeBase: active.baseOffset, activePosition: active.sizeBytes))
        changedSinceOpen = false
    }

    /// Replaces the configuration (for settings that can change on a live topic).
    func updateConfig(_ newConfig: TopicConfig) {
        lock.lock(); defer { lock.unlock() }
        config = newConfig
    }

    /// Writes `<offset>.snapshot` (through a synced temporary file): at a segment boundary, and at
    /// the log end on a clean close. Keeps the newest two at or below the active segment's base
    /// (recovery after a crash reads the one at the base and replays only the active segment)
    /// and the newest above it (a clean open reads the one at the log end and replays nothing).
    private func writeProducerSnapshot(at offset: Offset) throws(LogError) {
        let bytes = ProducerStateSnapshot.encode(producerState, offset: offset)
        let finalPath = joinPath(directory, ProducerStateSnapshot.fileName(offset))
        let temporaryPath = finalPath + ".tmp"
        let storage = self.storage
        let directory = self.directory
        let file = try storageCall("writing \(finalPath)") { () throws(StorageError) -> any StorageFile in
            let file = try storage.openFile(temporaryPath, mode: .create)
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            return file
        }
        defer { file.close() }
        try syncFile(file)
        let activeBase = segments[segments.count - 1].baseOffset
        try storageCall("writing \(finalPath)") { () throws(StorageError) in
            try storage.rename(temporaryPath, to: finalPath)
            let snapshots = try storage.listDirectory(directory).compactMap { LogSegment.baseOffset(fromFileName: $0, suffix: ".snapshot") }.sorted()
            let doomed = snapshots.filter { $0 <= activeBase }.dropLast(2) + snapshots.filter { $0 > activeBase }.dropLast(1)
            for old in doomed { try storage.removeFile(joinPath(directory, ProducerStateSnapshot.fileName(old))) }
            try storage.syncDirectory(directory)
        }
    }

    /// Whether the cleaner has work without new dirty data: a kept delete horizon has passed, or
    /// producers expired. Called with the partition lock held.
    func cleaningDue(at now: Timestamp) -> Bool {
        producerExpiryCount != producerExpiryCountCleaned || (pendingDeleteHorizon.map { $0 <= now } ?? false)
    }

    /// Records what a pass left waiting: the earliest horizon it kept, and the expiries its plan
    /// saw (expiries during the pass still make the next one due). Called with the partition lock
    /// held.
    func noteCleaned(pendingHorizon: Timestamp?, producerExpiryCount planned: Int) {
        pendingDeleteHorizon = pendingHorizon
        producerExpiryCountCleaned = planned
    }

    /// Runs `body` with the segment list under the partition lock (for the cleaner): refused once
    /// a sync of the data directory failed, and a sync failing in it poisons the directory.
    func withSegments<T>(_ body: (inout [LogSegment]) throws(LogError) -> T) throws(LogError) -> T {
        lock.lock(); defer { lock.unlock() }
        return try syncFailure.guarding { () throws(LogError) -> T in try body(&segments) }
    }

    var storageForCleaner: any Storage { storage }
    var clockForCleaner: any EngineClock { clock }
    var loggerForCleaner: Logger { logger }
}

extension RecordBatchHeader {
    /// The same header with another base offset.
    static func withBaseOffset(_ header: RecordBatchHeader, _ offset: Offset) -> RecordBatchHeader {
        var copy = header
        copy.baseOffset = offset
        return copy
    }
}
