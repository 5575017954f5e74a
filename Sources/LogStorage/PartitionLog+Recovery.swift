import StreamCore
import RecordFormat
import Logging

/// Opening a partition after any crash.
///
/// Order of work: finish or discard an interrupted compaction swap, open every segment, trust
/// the indexes of inactive segments only after checking them against their `.log`, and scan the
/// active segment batch by batch (its tail may hold a torn or partial write, which is cut off and
/// logged, never served).
extension PartitionLog {
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
            // The swap file was synced whole before it was renamed into place: find its last offset.
            let file = try storageCall("opening \(swapPath)") { () throws(StorageError) in try storage.openFile(swapPath, mode: .read) }
            let size = try storageCall("opening \(swapPath)") { () throws(StorageError) in try file.size() }
            var last = base
            _ = try BatchScanner.scan(file, from: 0, to: size, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
                last = batch.header.lastOffset
                return true
            }
            file.close()
            // Delete the originals the swap replaces, then move the swap into place.
            let current = try storageCall("listing \(directory)") { () throws(StorageError) in try storage.listDirectory(directory) }
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
            loggerForCleaner.info("completed an interrupted compaction swap", metadata: ["partition": "\(topicPartition)", "base": "\(base)"])
        }
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
        var state = try recoverProducerState(inactive: loaded, activeBase: bases.last ?? Offset(0))
        if let activeBase = bases.last {
            let segment = try LogSegment.open(storage: storage, directory: directory, baseOffset: activeBase)
            let report = try segment.recover(indexIntervalBytes: config.indexIntervalBytes) { (batch: ScannedBatch) throws(LogError) in
                state.apply(batch.header, marker: Self.markerType(of: batch))
            }
            try segment.rewriteTxnIndex(state.aborted.filter { $0.lastOffset >= activeBase })
            if report.truncatedBytes > 0 {
                loggerForCleaner.warning("truncated a torn tail", metadata: [
                    "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                    "bytes": "\(report.truncatedBytes)", "reason": "\(report.truncationReason ?? "")",
                ])
            }
            for corruption in report.corruptions {
                loggerForCleaner.error("corrupt batch in the middle of a segment; reads of it will fail", metadata: [
                    "partition": "\(topicPartition)", "segment": "\(segment.logPath)",
                    "position": "\(corruption.position)", "reason": "\(corruption.reason)",
                ])
            }
            loaded.append(segment)
        }
        if loaded.isEmpty {
            loaded.append(try LogSegment.create(storage: storage, directory: directory, baseOffset: Offset(0)))
        }
        // Producers replayed from the active segment were active up to the crash, as far as we know.
        state.stampReplayedProducers(at: clockForCleaner.now())
        producerState = state
        try withSegments { (segments: inout [LogSegment]) throws(LogError) in segments = loaded }
        firstDirtyOffset = loaded[0].baseOffset
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
           let bytes = try? storageCall("reading \(snapshotPath)", { () throws(StorageError) -> [UInt8] in
               let file = try storage.openFile(snapshotPath, mode: .read)
               defer { file.close() }
               return try readStably(file)
           }),
           var state = ProducerStateSnapshot.decode(bytes, offset: activeBase) {
            state.setAborted(aborted)
            return state
        }
        loggerForCleaner.info("rebuilding producer state from the log", metadata: ["partition": "\(topicPartition)"])
        var state = ProducerStateMachine()
        for segment in inactive {
            var closed: [AbortedTransaction] = []
            _ = try segment.scan(from: 0, verifyChecksums: true) { (batch: ScannedBatch) throws(LogError) -> Bool in
                if let entry = state.apply(batch.header, marker: Self.markerType(of: batch)) { closed.append(entry) }
                return true
            }
            try segment.rewriteTxnIndex(closed)
        }
        return state
    }

    /// The marker type of a control batch, nil for data batches.
    static func markerType(of batch: ScannedBatch) -> ControlRecordType? {
        guard batch.header.isControl, let view = try? RecordBatch(bytes: Array(batch.bytes)) else { return nil }
        return try? view.controlRecord().type
    }
}
