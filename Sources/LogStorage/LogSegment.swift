import StreamCore
import RecordFormat

/// One segment of a partition: `<base>.log` holding record batches back to back, with its
/// sparse `.index` and its `.timeindex`, all named by the segment's base offset in 20 digits.
///
/// - Invariant: `sizeBytes` is the length of the validated prefix of the `.log`; no byte past it
///   is ever served. Batches in it have increasing offsets, all ≥ `baseOffset` and < `nextOffset`.
/// - Invariant: index entries point only below `sizeBytes`.
///
/// Thread-safety: not thread-safe; owned by its ``PartitionLog``, which serialises access.
final class LogSegment {
    let baseOffset: Offset
    let logPath: String
    let indexPath: String
    let timeIndexPath: String
    let txnIndexPath: String
    private let storage: any Storage
    private let log: any StorageFile
    private var indexFile: any StorageFile
    private var timeIndexFile: any StorageFile
    /// The `.txnindex`; nil while it is missing (an opened segment whose file was lost).
    ///
    /// - Invariant: a `.txnindex` on disk is always whole: a missing one is never created empty
    ///   and a damaged one never rewritten in place, but written through a synced `.tmp` and
    ///   renamed over (``rewriteTxnIndex(_:)``), so a crash leaves the file missing or damaged
    ///   (rebuilt again at the next open), never an empty or partial one that a clean open would
    ///   trust as "no aborted transactions".
    private var txnIndexFile: (any StorageFile)?
    /// Whether the `.txnindex` was there when the segment was opened (a missing one must be rebuilt).
    private(set) var txnIndexWasPresent = true
    private var txnIndexBytes: Int64 = 0
    private(set) var offsetIndex = OffsetIndex()
    private(set) var timeIndex = TimeIndex()
    private(set) var sizeBytes: Int64 = 0
    private(set) var nextOffset: Offset
    private(set) var maxTimestamp = Timestamp.none
    /// Wall-clock time of the segment's first append, for rolling by age.
    private(set) var firstAppendTime: Timestamp?
    private var bytesSinceIndexEntry = 0
    private(set) var hasUnsyncedWrites = false

    static func fileName(_ baseOffset: Offset, _ suffix: String) -> String {
        let digits = String(baseOffset.rawValue)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The base offset named by a segment file name (`00000000000000000042.log` → 42).
    static func baseOffset(fromFileName name: String, suffix: String) -> Offset? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy(\.isASCII), let value = Int64(stem), value >= 0 else { return nil }
        return Offset(value)
    }

    private init(storage: any Storage, directory: String, baseOffset: Offset, log: any StorageFile,
                 indexFile: any StorageFile, timeIndexFile: any StorageFile, txnIndexFile: (any StorageFile)?) {
        self.storage = storage
        self.baseOffset = baseOffset
        self.logPath = joinPath(directory, LogSegment.fileName(baseOffset, ".log"))
        self.indexPath = joinPath(directory, LogSegment.fileName(baseOffset, ".index"))
        self.timeIndexPath = joinPath(directory, LogSegment.fileName(baseOffset, ".timeindex"))
        self.txnIndexPath = joinPath(directory, LogSegment.fileName(baseOffset, ".txnindex"))
        self.txnIndexFile = txnIndexFile
        self.log = log
        self.indexFile = indexFile
        self.timeIndexFile = timeIndexFile
        self.nextOffset = baseOffset
    }

    /// Creates a new, empty segment; its files' directory entries are durable on return.
    static func create(storage: any Storage, directory: String, baseOffset: Offset) throws(LogError) -> LogSegment {
        let logPath = joinPath(directory, fileName(baseOffset, ".log"))
        let indexPath = joinPath(directory, fileName(baseOffset, ".index"))
        let timeIndexPath = joinPath(directory, fileName(baseOffset, ".timeindex"))
        return try storageCall("creating segment \(logPath)") { () throws(StorageError) -> LogSegment in
            let log = try storage.openFile(logPath, mode: .create)
            try log.truncate(to: 0)
            let index = try storage.openFile(indexPath, mode: .create)
            try index.truncate(to: 0)
            let timeIndex = try storage.openFile(timeIndexPath, mode: .create)
            try timeIndex.truncate(to: 0)
            let txnIndex = try storage.openFile(joinPath(directory, fileName(baseOffset, ".txnindex")), mode: .create)
            try txnIndex.truncate(to: 0)
            // The new files' entries, before anything synced into them can be relied on.
            try storage.syncDirectory(directory)
            return LogSegment(storage: storage, directory: directory, baseOffset: baseOffset, log: log,
                              indexFile: index, timeIndexFile: timeIndex, txnIndexFile: txnIndex)
        }
    }

    /// Opens an existing segment without scanning it. Call ``recover(verifyChecksums:)`` or
    /// ``loadIndexes(nextSegmentBase:)`` before use.
    static func open(storage: any Storage, directory: String, baseOffset: Offset) throws(LogError) -> LogSegment {
        let logPath = joinPath(directory, fileName(baseOffset, ".log"))
        let indexPath = joinPath(directory, fileName(baseOffset, ".index"))
        let timeIndexPath = joinPath(directory, fileName(baseOffset, ".timeindex"))
        return try storageCall("opening segment \(logPath)") { () throws(StorageError) -> LogSegment in
            let log = try storage.openFile(logPath, mode: .readWrite)
            let index = try storage.openFile(indexPath, mode: .create)
            let timeIndex = try storage.openFile(timeIndexPath, mode: .create)
            let txnIndexPath = joinPath(directory, fileName(baseOffset, ".txnindex"))
            let present = storage.exists(txnIndexPath)
            // A missing `.txnindex` stays missing until it is rebuilt whole.
            let txnIndex = present ? try storage.openFile(txnIndexPath, mode: .readWrite) : nil
            let segment = LogSegment(storage: storage, directory: directory, baseOffset: baseOffset, log: log,
                                     indexFile: index, timeIndexFile: timeIndex, txnIndexFile: txnIndex)
            segment.txnIndexWasPresent = present
            return segment
        }
    }

    var isEmpty: Bool { sizeBytes == 0 }
    var lastOffset: Offset? { nextOffset > baseOffset ? nextOffset + -1 : nil }

    // MARK: Appending

    /// Appends one whole, validated batch at the end of the segment. On failure the file is cut
    /// back to where it was, so no partial batch stays visible.
    /// - Precondition: the batch's offsets lie at or past `nextOffset`.
    func append(_ batch: [UInt8], header: RecordBatchHeader, indexIntervalBytes: Int, wallClock: Timestamp) throws(LogError) {
        precondition(header.baseOffset >= nextOffset, "append below the segment's next offset")
        let position = sizeBytes
        do {
            try log.write(batch, at: position)
        } catch {
            // Best effort, the write's error is what is thrown: `sizeBytes` never covers the partial
            // bytes, so they are never served, the next append overwrites them, and recovery cuts
            // them (they lie past the recovery point).
            try? log.truncate(to: position)
            throw LogError(storage: error, context: "append failed")
        }
        sizeBytes += Int64(batch.count)
        hasUnsyncedWrites = true
        if firstAppendTime == nil { firstAppendTime = wallClock }
        noteAppended(header: header, position: position, indexIntervalBytes: indexIntervalBytes, writeIndexes: true)
    }

    /// Updates offsets, timestamps and (every `indexIntervalBytes`) the indexes for a batch that
    /// now lies at `position`.
    private func noteAppended(header: RecordBatchHeader, position: Int64, indexIntervalBytes: Int, writeIndexes: Bool) {
        let relativeBase = Int32(header.baseOffset - baseOffset)
        let relativeLast = Int32(header.lastOffset - baseOffset)
        if bytesSinceIndexEntry == 0 || bytesSinceIndexEntry >= indexIntervalBytes || offsetIndex.count == 0 {
            if let entry = offsetIndex.append(relativeOffset: relativeBase, position: Int32(position)) {
                if writeIndexes { writeIndexEntry(entry, to: indexFile, count: offsetIndex.count, entryBytes: OffsetIndex.entryBytes) }
                bytesSinceIndexEntry = 0
            }
            if header.maxTimestamp > maxTimestamp, header.maxTimestamp.rawValue > (timeIndex.lastTimestamp ?? Int64.min),
               let entry = timeIndex.append(timestamp: header.maxTimestamp.rawValue, relativeOffset: relativeLast) {
                if writeIndexes { writeIndexEntry(entry, to: timeIndexFile, count: timeIndex.count, entryBytes: TimeIndex.entryBytes) }
            }
        }
        bytesSinceIndexEntry += header.totalSizeBytes
        if header.maxTimestamp > maxTimestamp { maxTimestamp = header.maxTimestamp }
        nextOffset = header.lastOffset + 1
    }

    /// Index entries are written through but not synced: an index is always rebuildable from the
    /// `.log`, and is synced when the segment stops being active.
    private func writeIndexEntry(_ entry: [UInt8], to file: any StorageFile, count: Int, entryBytes: Int) {
        // Ignored on purpose: the in-memory index is what reads use, a clean close rewrites the file
        // whole, and an open checks the file against the `.log` and rebuilds it when it is wrong.
        try? file.write(entry, at: Int64((count - 1) * entryBytes))
    }

    // MARK: Reading

    /// Reads up to `count` bytes of the validated log at `position`.
    func read(at position: Int64, count: Int) throws(LogError) -> [UInt8] {
        let available = Int(max(0, min(Int64(count), sizeBytes - position)))
        if available == 0 { return [] }
        return try storageCall("reading \(logPath)") { () throws(StorageError) in try log.read(at: position, count: available) }
    }

    /// Scans the validated batches from `position`.
    ///
    /// Batches must follow each other without gaps (compaction keeps removed offsets in empty
    /// batches); `first` is the base offset the batch at `position` must have, known for
    /// position 0 (the segment's base offset) and for index entries.
    func scan(
        from position: Int64, first: Offset? = nil, verifyChecksums: Bool,
        chunkBytes: Int = 4 << 20, visit: (ScannedBatch) throws(LogError) -> Bool
    ) throws(LogError) -> ScanProblem? {
        let expectation = OffsetExpectation(
            bounds: offsetBounds, first: first ?? (position == 0 ? baseOffset : nil), contiguous: true)
        return try BatchScanner.scan(log, from: position, to: sizeBytes, verifyChecksums: verifyChecksums,
                                     offsets: expectation, chunkBytes: chunkBytes, visit: visit)
    }

    /// `count` bytes of the `.log` at `position` as they are, unchecked (for a damaged batch).
    func rawRead(at position: Int64, count: Int) throws(StorageError) -> [UInt8] {
        try log.read(at: position, count: count)
    }

    /// The offsets this segment can hold: from its base as far as 32-bit relative offsets reach.
    var offsetBounds: Range<Offset> { baseOffset..<(baseOffset + Int64(Int32.max)) }

    /// The index entry to start a scan for `offset` from: its position and the base offset of
    /// the batch there.
    func indexEntry(for offset: Offset) -> (position: Int64, first: Offset?) {
        let entry = offsetIndex.entry(atOrBefore: offset - baseOffset)
        return (entry.position, entry.relativeOffset.map { baseOffset + Int64($0) })
    }

    /// The byte position from which to scan for `offset`.
    func startPosition(for offset: Offset) -> Int64 {
        indexEntry(for: offset).position
    }

    /// The index entry from which records with a timestamp ≥ `timestamp` may appear.
    func indexEntry(forTimestamp timestamp: Timestamp) -> (position: Int64, first: Offset?) {
        let relative = timeIndex.firstCandidateRelativeOffset(forTimestamp: timestamp.rawValue)
        return indexEntry(for: baseOffset + relative)
    }

    // MARK: Durability

    /// Syncs the `.log` when it has unsynced writes.
    func sync() throws(LogError) {
        guard hasUnsyncedWrites else { return }
        try syncFile(log)
        if txnIndexBytes > 0, let txnIndexFile { try syncFile(txnIndexFile) }
        hasUnsyncedWrites = false
    }

    /// The size of the `.log` file as it is now (unvalidated).
    func fileSizeBytes() throws(LogError) -> Int64 {
        try storageCall("opening \(logPath)") { () throws(StorageError) in try log.size() }
    }

    /// Prepares an active segment opened with ``loadIndexes(indexIntervalBytes:)`` (after a clean
    /// close) for appends: where the next index entry falls, and the age of the segment, which
    /// counts from its first batch as after a recovery.
    func prepareForAppends() throws(LogError) {
        bytesSinceIndexEntry = Int(sizeBytes - (offsetIndex.lastPosition ?? 0))
        guard sizeBytes >= Int64(RecordBatchHeader.sizeBytes) else { return }
        // The first batch's maxTimestamp is the segment's age. Only a batch whose CRC holds is
        // believed (read twice before giving up, as a transient read error passes): a damaged or
        // misread header would make the segment roll at once or never; without it the segment
        // only loses its age (it still rolls by size).
        for _ in 0..<2 {
            if let first = try checkedFirstBatchMaxTimestamp() {
                if first != .none { firstAppendTime = first }
                return
            }
        }
    }

    /// The first batch's maxTimestamp when the batch reads whole with a matching CRC, else nil.
    private func checkedFirstBatchMaxTimestamp() throws(LogError) -> Timestamp? {
        let head = try storageCall("reading \(logPath)") { () throws(StorageError) in
            try log.read(at: 0, count: RecordBatchHeader.sizeBytes)
        }
        guard let header = try? RecordBatchHeader.parse(head, at: 0), Int64(header.totalSizeBytes) <= sizeBytes else { return nil }
        let whole = try storageCall("reading \(logPath)") { () throws(StorageError) in
            try log.read(at: 0, count: header.totalSizeBytes)
        }
        guard let batch = try? RecordBatch(bytes: whole), batch.hasValidChecksum() else { return nil }
        return batch.header.maxTimestamp
    }

    /// Makes the segment inactive: adds a last time-index entry for its largest timestamp,
    /// rewrites both indexes in full and syncs them and the log. Called before the next segment
    /// is created, so every inactive segment is durable with its indexes.
    func seal() throws(LogError) {
        try closeIndexes()
        try sync()
    }

    /// Adds a last time-index entry for the largest timestamp and rewrites both indexes in full
    /// (synced): what sealing does, and what a clean close does to the active segment, so that an
    /// open that loads the indexes instead of scanning the `.log` learns its largest timestamp.
    func closeIndexes() throws(LogError) {
        if maxTimestamp != .none, let last = lastOffset {
            _ = timeIndex.append(timestamp: maxTimestamp.rawValue, relativeOffset: Int32(last - baseOffset))
        }
        try rewriteIndexes()
    }

    func rewriteIndexes() throws(LogError) {
        let offsets = offsetIndex.encoded()
        let times = timeIndex.encoded()
        try storageCall("writing indexes of \(logPath)") { () throws(StorageError) in
            try indexFile.truncate(to: 0)
            try indexFile.write(offsets, at: 0)
        }
        try syncFile(indexFile)
        try storageCall("writing indexes of \(logPath)") { () throws(StorageError) in
            try timeIndexFile.truncate(to: 0)
            try timeIndexFile.write(times, at: 0)
        }
        try syncFile(timeIndexFile)
    }

    func close() {
        log.close()
        indexFile.close()
        timeIndexFile.close()
        txnIndexFile?.close()
    }

    // MARK: Transaction index

    /// Records an aborted transaction whose ABORT marker is in this segment (written through,
    /// synced with the segment).
    func appendAbortedTransaction(_ entry: AbortedTransaction, lastStableOffset: Offset) throws(LogError) {
        guard let txnIndexFile else {
            preconditionFailure("an aborted transaction appended to \(txnIndexPath), which is missing and was not rebuilt")
        }
        let bytes = entry.encoded(lastStableOffset: lastStableOffset)
        let position = txnIndexBytes
        try storageCall("writing \(txnIndexPath)") { () throws(StorageError) in try txnIndexFile.write(bytes, at: position) }
        txnIndexBytes += Int64(bytes.count)
        hasUnsyncedWrites = true
    }

    /// The aborted transactions recorded in the `.txnindex`, or nil when it was missing or is damaged.
    func loadTxnIndex() -> [AbortedTransaction]? {
        // An unreadable `.txnindex` is treated as missing: the caller rebuilds it from the `.log`.
        guard txnIndexWasPresent, let txnIndexFile, let bytes = try? readStably(txnIndexFile),
              let entries = AbortedTransaction.decodeIndex(bytes),
              entries.allSatisfy({ $0.lastOffset >= baseOffset && $0.lastOffset < nextOffset })
        else { return nil }
        txnIndexBytes = Int64(bytes.count)
        return entries
    }

    /// Replaces the `.txnindex` with `entries`, durably and whole: written to a `.tmp`, synced,
    /// renamed over the old file and its directory synced (see ``txnIndexFile``'s invariant).
    func rewriteTxnIndex(_ entries: [AbortedTransaction]) throws(LogError) {
        var bytes: [UInt8] = []
        for entry in entries { bytes.append(contentsOf: entry.encoded(lastStableOffset: entry.lastOffset)) }
        let temporaryPath = txnIndexPath + ".tmp"
        let storage = self.storage
        let temporary = try storageCall("writing \(temporaryPath)") { () throws(StorageError) -> any StorageFile in
            let file = try storage.openFile(temporaryPath, mode: .create)
            try file.truncate(to: 0)
            if !bytes.isEmpty { try file.write(bytes, at: 0) }
            return file
        }
        defer { temporary.close() }
        try syncFile(temporary)
        let path = txnIndexPath
        let reopened = try storageCall("writing \(path)") { () throws(StorageError) -> any StorageFile in
            try storage.rename(temporaryPath, to: path)
            try storage.syncDirectory(parentPath(path))
            return try storage.openFile(path, mode: .readWrite)
        }
        txnIndexFile?.close()
        txnIndexFile = reopened
        txnIndexBytes = Int64(bytes.count)
        txnIndexWasPresent = true
    }

    /// Closes and removes the segment's files.
    func delete() throws(LogError) {
        close()
        for path in [logPath, indexPath, timeIndexPath, txnIndexPath] where storage.exists(path) {
            try storageCall("deleting \(path)") { () throws(StorageError) in try storage.removeFile(path) }
        }
    }
}

// MARK: - Recovery

/// What opening a segment found.
struct SegmentRecovery {
    /// Bytes cut from the end of the `.log` (a torn or partial tail).
    var truncatedBytes: Int64 = 0
    var truncationReason: String?
    /// Damaged batches left in place; reads of them fail with their position.
    var corruptions: [ScanProblem] = []
    var indexesRebuilt = false
}

extension LogSegment {
    /// Validates the whole segment batch by batch (the active segment after a possible crash)
    /// and rebuilds both indexes from what is valid.
    ///
    /// `recoveryPosition` is where the synced part of the file ends (``RecoveryPoint``; `.max`
    /// when it is not known). Past it the first invalid batch starts a torn tail, which is cut:
    /// those bytes were never acknowledged. Below it an invalid batch is damage to synced data: it
    /// is reported and kept, and scanning resumes at the next valid batch; when none follows,
    /// everything up to the recovery point is kept (reads of it fail) and appends continue at
    /// `recoveryOffset`. Without a known recovery point a damaged batch with no valid batch after
    /// it is taken for a torn tail.
    func recover(
        indexIntervalBytes: Int, recoveryPosition: Int64 = .max, recoveryOffset: Offset? = nil, verifyChecksums: Bool = true,
        visit: (ScannedBatch) throws(LogError) -> Void = { (_: ScannedBatch) throws(LogError) in }
    ) throws(LogError) -> SegmentRecovery {
        var report = SegmentRecovery()
        let fileSize = try storageCall("opening \(logPath)") { () throws(StorageError) in try log.size() }
        offsetIndex = OffsetIndex()
        timeIndex = TimeIndex()
        bytesSinceIndexEntry = 0
        nextOffset = baseOffset
        maxTimestamp = .none
        sizeBytes = fileSize
        var position: Int64 = 0
        var validEnd: Int64 = 0
        var first: Offset? = baseOffset
        while position < fileSize {
            let expectation = OffsetExpectation(bounds: offsetBounds, first: first, contiguous: true)
            let problem = try BatchScanner.scan(log, from: position, to: fileSize, verifyChecksums: verifyChecksums, offsets: expectation) {
                (batch: ScannedBatch) throws(LogError) -> Bool in
                guard batch.header.baseOffset >= self.nextOffset else { return false }
                self.noteAppended(header: batch.header, position: batch.position, indexIntervalBytes: indexIntervalBytes, writeIndexes: false)
                if self.firstAppendTime == nil, batch.header.maxTimestamp != .none {
                    // As Kafka does: after a restart a segment's age counts from its first batch.
                    self.firstAppendTime = batch.header.maxTimestamp
                }
                validEnd = batch.position + Int64(batch.header.totalSizeBytes)
                try visit(batch)
                return true
            }
            guard let problem else {
                if validEnd < fileSize && validEnd >= position {
                    // The visitor stopped at a batch whose offsets go backwards: damage.
                    report.truncationReason = "a batch at position \(validEnd) goes back before offset \(nextOffset)"
                    break
                }
                position = fileSize
                break
            }
            if problem.position >= recoveryPosition {
                report.truncationReason = "\(problem.reason) (past the recovery point, position \(recoveryPosition))"
                break
            }
            if let resume = try validBatchAfterDamage(at: problem.position, fileSize: fileSize) {
                report.corruptions.append(problem)
                position = resume
                validEnd = resume
                first = nil
                // Index the first batch after the damage, so reads past it never start before it.
                bytesSinceIndexEntry = 0
                continue
            }
            if recoveryPosition < Int64.max, let recoveryOffset {
                // Synced data is damaged up to (at least) the recovery point: keep it, never cut it.
                report.corruptions.append(problem)
                validEnd = min(fileSize, recoveryPosition)
                offsetIndex.truncate(toPosition: validEnd)
                if recoveryOffset > nextOffset { nextOffset = recoveryOffset }
                bytesSinceIndexEntry = 0
                break
            }
            report.truncationReason = problem.reason
            break
        }
        if validEnd < fileSize {
            report.truncatedBytes = fileSize - validEnd
            try storageCall("truncating \(logPath)") { () throws(StorageError) in try log.truncate(to: validEnd) }
            try syncFile(log)
            offsetIndex.truncate(toPosition: validEnd)
        } else if validEnd > 0 && (recoveryPosition == .max || validEnd > recoveryPosition) {
            // Kept bytes past the recovery point may sit in the page cache only (the process died,
            // the machine did not): the next sync must really sync before the point moves past them.
            hasUnsyncedWrites = true
        }
        sizeBytes = validEnd
        try rewriteIndexes()
        report.indexesRebuilt = true
        return report
    }

    /// Where valid batches start again after damage at `position`, or nil when none follows (the
    /// damage runs to the end: a torn tail). The damaged batch's length field is tried first;
    /// since that field may be what is damaged, the bytes after the damage are then searched for
    /// the start of a valid batch (see ``BatchScanner/nextValidBatch(_:after:to:offsets:scanBytesMax:)``).
    private func validBatchAfterDamage(at position: Int64, fileSize: Int64) throws(LogError) -> Int64? {
        try validBatch(afterDamageAt: position, to: fileSize, atLeast: nextOffset)
    }

    /// Where the first whole valid batch after damage at `position` starts (before `end`, with a
    /// base offset of at least `first` when given), or nil when none does; for a reader that
    /// wants an offset beyond the damage (``PartitionLog/read(from:maxBytes:isolation:)``).
    func validBatch(afterDamageAt position: Int64, to end: Int64? = nil, atLeast first: Offset?) throws(LogError) -> Int64? {
        let fileSize = end ?? sizeBytes
        let offsets = OffsetExpectation(bounds: offsetBounds, first: first, contiguous: false)
        if let next = try batchNamedByLengthField(at: position, fileSize: fileSize, offsets: offsets) { return next }
        return try BatchScanner.nextValidBatch(log, after: position, to: fileSize, offsets: offsets)
    }

    /// The position the length field of the batch at `position` points at, when a whole valid
    /// batch starts there.
    private func batchNamedByLengthField(at position: Int64, fileSize: Int64, offsets: OffsetExpectation) throws(LogError) -> Int64? {
        let head = try storageCall("reading \(logPath)") { () throws(StorageError) in try log.read(at: position, count: 12) }
        guard head.count == 12 else { return nil }
        let length = Int64(Int32(bitPattern: head.readBigEndianUInt32(at: 8)))
        guard length >= Int64(RecordBatchHeader.batchLengthMin) else { return nil }
        let next = position + 12 + length
        guard next < fileSize,
              try BatchScanner.nextValidBatch(log, after: next - 1, to: fileSize, offsets: offsets, scanBytesMax: 1) == next
        else { return nil }
        return next
    }

    /// Loads the indexes of an inactive segment, checking them against the `.log`, and rebuilds
    /// them from the `.log` when they are missing or damaged.
    /// - Returns: true when the indexes had to be rebuilt.
    func loadIndexes(indexIntervalBytes: Int) throws(LogError) -> Bool {
        sizeBytes = try storageCall("opening \(logPath)") { () throws(StorageError) in try log.size() }
        let offsetBytes = try storageCall("reading \(indexPath)") { () throws(StorageError) in try readStably(indexFile) }
        let timeBytes = try storageCall("reading \(timeIndexPath)") { () throws(StorageError) in try readStably(timeIndexFile) }
        if sizeBytes > 0, let loaded = OffsetIndex.decode(offsetBytes, logSizeBytes: sizeBytes), loaded.count > 0 {
            // Walk the tail after the last index entry to learn the segment's last offset.
            offsetIndex = loaded
            var last: RecordBatchHeader?
            var tailMax = Timestamp.none
            let lastEntry = loaded.entry(atOrBefore: Int64(Int32.max))
            let firstInTail = lastEntry.relativeOffset.map { baseOffset + Int64($0) }
            let problem = try scan(from: lastEntry.position, first: firstInTail, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
                last = batch.header
                tailMax = max(tailMax, batch.header.maxTimestamp)
                return true
            }
            if problem == nil, let last, let times = TimeIndex.decode(timeBytes, lastRelativeOffset: last.lastOffset - baseOffset),
               times.count > 0 || last.maxTimestamp == .none {
                timeIndex = times
                nextOffset = last.lastOffset + 1
                maxTimestamp = max(Timestamp(milliseconds: times.lastTimestamp ?? -1), tailMax)
                return false
            }
        }
        if sizeBytes == 0 { return false }
        try rebuildIndexes(indexIntervalBytes: indexIntervalBytes)
        return true
    }

    /// Rebuilds both indexes of an inactive segment from its `.log`.
    func rebuildIndexes(indexIntervalBytes: Int) throws(LogError) {
        // Missing or damaged: rebuild from the log (which is kept as it is; an inactive segment
        // was synced whole before the next one was created).
        offsetIndex = OffsetIndex()
        timeIndex = TimeIndex()
        bytesSinceIndexEntry = 0
        nextOffset = baseOffset
        maxTimestamp = .none
        _ = try scan(from: 0, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
            guard batch.header.baseOffset >= self.nextOffset else { return false }
            self.noteAppended(header: batch.header, position: batch.position, indexIntervalBytes: indexIntervalBytes, writeIndexes: false)
            return true
        }
        if maxTimestamp != .none, let lastOffset {
            _ = timeIndex.append(timestamp: maxTimestamp.rawValue, relativeOffset: Int32(lastOffset - baseOffset))
        }
        try rewriteIndexes()
    }
}
