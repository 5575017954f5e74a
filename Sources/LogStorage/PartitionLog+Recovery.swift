import StreamCore
import RecordFormat
import Logging

/// Opening a partition after any crash.
///
/// Order of work: finish or discard an interrupted compaction swap, open every segment, trust
/// the indexes of inactive segments only after checking them against their `.log`, then open the
/// active segment one of two ways:
/// - clean: the recovery point says the whole active `.log` was synced (its size is the point's
///   position) and a producer snapshot at the point's offset exists, as a clean close leaves
///   them. The active segment's indexes are loaded like an inactive one's and nothing is written.
/// - recovered: the active segment is scanned batch by batch (see ``LogSegment/recover``): past
///   the recovery point a torn or partial tail is cut off and logged, never served; below it
///   damage is reported and kept.
extension PartitionLog {
    /// Removes what a compaction pass left before its swap point, and completes a swap it left
    /// after it (see ``LogCleaner``).
    ///
    /// - Invariant: a `.log.swap` replaces exactly the originals whose base offsets lie in
    ///   `base...last`, where `last` is the swap's last offset, and never the active segment.
    ///   `last` comes from a scan that expects the swap's batches to start at `base` and follow
    ///   each other without gaps (a cleaned segment spans the offsets of the segments it
    ///   replaces), because a batch's base offset lies outside its CRC: one read that flips a
    ///   bit there would otherwise move `last`, and the originals deleted with it. (Order-totals
    ///   seed 98: a flip read the base offset 50 of a swap spanning 40...59 as 2^30 + 50, the
    ///   scan's complaint about the next batch was ignored, and the open deleted the next
    ///   inactive segment and the active one, which held the latest record of keys whose older
    ///   records the swap had dropped: a group's committed offsets went back to 0.) A swap that
    ///   does not read right after the scan's retries is damage: the open fails, deleting nothing.
    func completeInterruptedSwaps() throws(LogError) {
        let directory = self.directory
        let storage = storageForCleaner
        let names = try storageCall("listing \(directory)") { () throws(StorageError) in try storage.listDirectory(directory) }
        for name in names where name.hasSuffix(".cleaned") || name.hasSuffix(".deleted") || name.hasSuffix(".tmp") {
            // A compaction that did not reach its swap point: the originals are intact.
            let path = joinPath(directory, name)
            try storageCall("removing \(path)") { () throws(StorageError) in try storage.removeFile(path) }
        }
        for name in names where name.hasSuffix(".log.swap") {
            guard let base = LogSegment.baseOffset(fromFileName: String(name.dropLast(5)), suffix: ".log") else { continue }
            let swapPath = joinPath(directory, name)
            let last = try lastOffset(ofSwap: swapPath, base: base)
            let current = try storageCall("listing \(directory)") { () throws(StorageError) in try storage.listDirectory(directory) }
            if let activeBase = current.compactMap({ LogSegment.baseOffset(fromFileName: $0, suffix: ".log") }).max(), activeBase <= last {
                throw LogError.corrupt(topicPartition, offset: base, position: 0, path: swapPath,
                                       reason: "the swap ends at offset \(last), past the active segment's base offset \(activeBase)")
            }
            // Delete the originals the swap replaces, then move the swap into place.
            for other in current {
                for suffix in [".log", ".index", ".timeindex", ".txnindex"] {
                    if let otherBase = LogSegment.baseOffset(fromFileName: other, suffix: suffix), otherBase >= base, otherBase <= last {
                        let path = joinPath(directory, other)
                        try storageCall("removing \(path)") { () throws(StorageError) in try storage.removeFile(path) }
                    }
                }
            }
            for suffix in [".log", ".index", ".timeindex", ".txnindex"] {
                let from = joinPath(directory, LogSegment.fileName(base, suffix + ".swap"))
                let to = joinPath(directory, LogSegment.fileName(base, suffix))
                if storage.exists(from) {
                    try storageCall("renaming \(from)") { () throws(StorageError) in try storage.rename(from, to: to) }
                }
            }
            loggerForCleaner.info("completed an interrupted compaction swap", metadata: [
                "partition": "\(topicPartition)", "base": "\(base)", "last": "\(last)",
            ])
        }
    }

    /// The last offset of a `.log.swap` whose first batch starts at `base` (synced whole before
    /// it was renamed into place), its batches checked for contiguous offsets and CRCs.
    /// - Throws: `.corruptBatch` when the swap holds no batch or a batch that does not read right.
    private func lastOffset(ofSwap swapPath: String, base: Offset) throws(LogError) -> Offset {
        let storage = storageForCleaner
        let file = try storageCall("opening \(swapPath)") { () throws(StorageError) in try storage.openFile(swapPath, mode: .read) }
        defer { file.close() }
        let size = try storageCall("opening \(swapPath)") { () throws(StorageError) in try file.size() }
        var last: Offset?
        let expectation = OffsetExpectation(bounds: base..<(base + Int64(Int32.max)), first: base, contiguous: true)
        let problem = try BatchScanner.scan(file, from: 0, to: size, verifyChecksums: true, offsets: expectation) {
            (batch: ScannedBatch) throws(LogError) -> Bool in
            last = batch.header.lastOffset
            return true
        }
        if let problem {
            var offset = last.map { $0 + 1 } ?? base
            if case .corrupt(_, let batchBase?, _) = problem { offset = batchBase }
            throw LogError.corrupt(topicPartition, offset: offset, position: problem.position, path: swapPath, reason: problem.reason)
        }
        guard let last else {
            throw LogError.corrupt(topicPartition, offset: base, position: 0, path: swapPath, reason: "a compaction swap holds no batch")
        }
        return last
    }

    func loadSegments() throws(LogError) {
        let directory = self.directory
        let storage = storageForCleaner
        let names = try storageCall("listing \(directory)") { () throws(StorageError) in try storage.listDirectory(directory) }
        let bases = names.compactMap { LogSegment.baseOffset(fromFileName: $0, suffix: ".log") }.sorted()
        let baseSet = Set(bases)
        for name in names {
            for suffix in [".index", ".timeindex", ".txnindex"] {
                if let base = LogSegment.baseOffset(fromFileName: name, suffix: suffix), !baseSet.contains(base) {
                    let path = joinPath(directory, name)
                    try storageCall("removing \(path)") { () throws(StorageError) in try storage.removeFile(path) }
                }
            }
        }
        var loaded: [LogSegment] = []
        for base in bases.dropLast() {
            let segment = try LogSegment.open(storage: storage, directory: directory, baseOffset: base)
            if try segment.loadIndexes(indexIntervalBytes: config.indexIntervalBytes) {
                loggerForCleaner.info("rebuilt missing or damaged indexes", metadata: [
                    "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                ])
            }
            loaded.append(segment)
        }
        var state = ProducerStateMachine()
        if let activeBase = bases.last {
            let segment = try LogSegment.open(storage: storage, directory: directory, baseOffset: activeBase)
            let point = recoveryPoints.point(topicPartition)
            if let point, let clean = try openCleanly(segment, inactive: loaded, point: point) {
                state = clean
            } else {
                state = try recoverProducerState(inactive: loaded, activeBase: activeBase)
                try recoverActive(segment, point: point, state: &state)
            }
            loaded.append(segment)
        }
        if loaded.isEmpty {
            loaded.append(try LogSegment.create(storage: storage, directory: directory, baseOffset: Offset(0)))
            recoveryPoints.set(topicPartition, RecoveryPoint(offset: Offset(0), activeBase: Offset(0), activePosition: 0))
        }
        // Producers replayed from the active segment were active up to the crash, as far as we know.
        state.stampReplayedProducers(at: clockForCleaner.now())
        producerState = state
        try withSegments { (segments: inout [LogSegment]) throws(LogError) in segments = loaded }
        firstDirtyOffset = loaded[0].baseOffset
    }

    /// Opens the active segment without recovery when `point` says it was closed cleanly: its
    /// whole `.log` synced, a producer snapshot at the point's offset, and sound `.txnindex` files.
    /// - Returns: the producer state, or nil (nothing written) when the segment needs recovery.
    private func openCleanly(_ segment: LogSegment, inactive: [LogSegment], point: RecoveryPoint) throws(LogError) -> ProducerStateMachine? {
        guard point.activeBase == segment.baseOffset, try segment.fileSizeBytes() == point.activePosition else { return nil }
        var state: ProducerStateMachine
        if inactive.isEmpty && point.offset == segment.baseOffset && point.activePosition == 0 {
            state = ProducerStateMachine()
        } else {
            let snapshotPath = joinPath(directory, ProducerStateSnapshot.fileName(point.offset))
            let storage = storageForCleaner
            guard storage.exists(snapshotPath) else { return nil }
            let bytes = try storageCall("reading \(snapshotPath)") { () throws(StorageError) -> [UInt8] in
                let file = try storage.openFile(snapshotPath, mode: .read)
                defer { file.close() }
                return try readStably(file)
            }
            guard let decoded = ProducerStateSnapshot.decode(bytes, offset: point.offset) else { return nil }
            state = decoded
        }
        var aborted: [AbortedTransaction] = []
        for segment in inactive {
            guard let entries = segment.loadTxnIndex() else { return nil }
            aborted += entries
        }
        if try segment.loadIndexes(indexIntervalBytes: config.indexIntervalBytes) {
            loggerForCleaner.info("rebuilt missing or damaged indexes", metadata: [
                "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
            ])
        }
        guard segment.nextOffset == point.offset, let active = segment.loadTxnIndex() else { return nil }
        try segment.prepareForAppends()
        state.setAborted(aborted + active)
        return state
    }

    /// Scans the active segment after a crash (see ``LogSegment/recover``), applying its batches to
    /// the producer state, and logs what it cut or found damaged.
    private func recoverActive(_ segment: LogSegment, point: RecoveryPoint?, state: inout ProducerStateMachine) throws(LogError) {
        let activeBase = segment.baseOffset
        // Where the synced part of the active `.log` ends: unknown without a point, all of it
        // when the point names an older segment (the segment rolled since, and was created empty).
        var recoveryPosition = Int64.max
        if let point, point.activeBase == activeBase { recoveryPosition = point.activePosition }
        if let point, point.activeBase < activeBase { recoveryPosition = 0 }
        var recoveryOffset = point.map { max($0.offset, activeBase) }
        let fileSize = try segment.fileSizeBytes()
        if recoveryPosition != .max && fileSize < recoveryPosition {
            // Synced bytes are gone (the file was cut by hand, or the disk broke its promise): the
            // point describes another file, so recover as if it were not known.
            loggerForCleaner.warning("the active segment is shorter than its recovery point", metadata: [
                "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                "bytes": "\(fileSize)", "recoveryPoint": "\(recoveryPosition)",
            ])
            recoveryPosition = .max
            recoveryOffset = nil
        }
        var damagedMarkers: [ScannedBatch] = []
        // Where each producer's open transaction began in this segment (absent: before it).
        var transactionStarts: [ProducerID: Int64] = [:]
        let report = try segment.recover(
            indexIntervalBytes: config.indexIntervalBytes, recoveryPosition: recoveryPosition, recoveryOffset: recoveryOffset
        ) { (batch: ScannedBatch) throws(LogError) in
            switch Self.marker(of: batch) {
            case .data:
                let producer = batch.header.producerID
                if batch.header.isTransactional, state.producers[producer]?.ongoingTransactionFirstOffset == nil {
                    transactionStarts[producer] = batch.position
                }
                state.apply(batch.header, marker: nil)
            case .marker(let type): state.apply(batch.header, marker: type)
            case .undecodable: damagedMarkers.append(batch)
            }
        }
        try segment.rewriteTxnIndex(state.aborted.filter { $0.lastOffset >= activeBase })
        changedSinceOpen = true
        if report.truncatedBytes > 0 {
            recoveryPoints.set(topicPartition, RecoveryPoint(
                offset: segment.nextOffset, activeBase: activeBase, activePosition: segment.sizeBytes))
            loggerForCleaner.warning("truncated a torn tail", metadata: [
                "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                "bytes": "\(report.truncatedBytes)", "reason": "\(report.truncationReason ?? "")",
            ])
        }
        // A transaction still open with damage after its start may have lost its marker there.
        var damage = report.corruptions.map { (position: $0.position, text: "a corrupt batch at position \($0.position) of \(segment.logPath)") }
        damage += damagedMarkers.map {
            (position: $0.position, text: "a corrupt transaction marker at offset \($0.header.baseOffset), position \($0.position) of \(segment.logPath)")
        }
        for (producer, entry) in state.producers {
            guard let first = entry.ongoingTransactionFirstOffset else { continue }
            let start = transactionStarts[producer] ?? -1
            let after = damage.filter { $0.position > start }
            if !after.isEmpty { transactionsOpenAtDamage[producer] = (first, after.map(\.text).joined(separator: "; ")) }
        }
        for corruption in report.corruptions {
            loggerForCleaner.error("corrupt batch in the middle of a segment; reads of it will fail", metadata: [
                "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                "position": "\(corruption.position)", "reason": "\(corruption.reason)",
            ])
        }
        for batch in damagedMarkers {
            loggerForCleaner.error("a transaction marker does not decode; its transaction stays open", metadata: [
                "partition": "\(topicPartition)", "segment": "\(segment.logPath)", "position": "\(batch.position)",
                "offset": "\(batch.header.baseOffset)", "producer": "\(batch.header.producerID)",
            ])
        }
    }

    /// The producer state at the start of the active segment: its snapshot plus the inactive
    /// segments' `.txnindex` files when all are sound, otherwise a replay of every inactive
    /// segment (which also rewrites their `.txnindex` files).
    private func recoverProducerState(inactive: [LogSegment], activeBase: Offset) throws(LogError) -> ProducerStateMachine {
        if inactive.isEmpty { return ProducerStateMachine() }
        var aborted: [AbortedTransaction] = []
        var sound = true
        for segment in inactive {
            if let entries = segment.loadTxnIndex() { aborted += entries } else { sound = false }
        }
        let snapshotPath = joinPath(directory, ProducerStateSnapshot.fileName(activeBase))
        let storage = storageForCleaner
        if sound, storage.exists(snapshotPath),
           var state = ProducerStateSnapshot.decode(try storageCall("reading \(snapshotPath)", { () throws(StorageError) -> [UInt8] in
               let file = try storage.openFile(snapshotPath, mode: .read)
               defer { file.close() }
               return try readStably(file)
           }), offset: activeBase) {
            state.setAborted(aborted)
            return state
        }
        loggerForCleaner.info("rebuilding producer state from the log", metadata: ["partition": "\(topicPartition)"])
        var state = ProducerStateMachine()
        for segment in inactive {
            var closed: [AbortedTransaction] = []
            _ = try segment.scan(from: 0, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
                switch Self.marker(of: batch) {
                case .data:
                    if let entry = state.apply(batch.header, marker: nil) { closed.append(entry) }
                case .marker(let type):
                    if let entry = state.apply(batch.header, marker: type) { closed.append(entry) }
                case .undecodable:
                    self.loggerForCleaner.error("a transaction marker does not decode; its transaction stays open", metadata: [
                        "partition": "\(self.topicPartition)", "segment": "\(segment.logPath)", "position": "\(batch.position)",
                        "offset": "\(batch.header.baseOffset)", "producer": "\(batch.header.producerID)",
                    ])
                }
                return true
            }
            try segment.rewriteTxnIndex(closed)
        }
        return state
    }

    /// What a batch is to the producer state.
    enum BatchKind {
        case data
        case marker(ControlRecordType)
        /// A control batch (CRC intact) whose record is no transaction marker: damage, never data.
        case undecodable
    }

    /// Whether a batch is data or a transaction marker, and which.
    static func marker(of batch: ScannedBatch) -> BatchKind {
        guard batch.header.isControl else { return .data }
        do {
            return .marker(try RecordBatch(bytes: Array(batch.bytes)).controlRecord().type)
        } catch {
            return .undecodable
        }
    }
}
