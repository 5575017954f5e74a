package import StreamCore
package import RecordFormat

/// One batch found by a scan: its header, where it starts in the file, and its bytes.
package struct ScannedBatch {
    package let header: RecordBatchHeader
    package let position: Int64
    package let bytes: ArraySlice<UInt8>
}

/// Why a scan of a segment stopped before its end.
package enum ScanProblem: Equatable, Sendable {
    /// The bytes from `position` to the end do not hold a whole batch: a torn or partial write.
    case incomplete(position: Int64, reason: String)
    /// A whole batch is there but its header or CRC is wrong.
    case corrupt(position: Int64, baseOffset: Offset?, reason: String)

    package var position: Int64 {
        switch self {
        case .incomplete(let position, _), .corrupt(let position, _, _): return position
        }
    }

    package var reason: String {
        switch self {
        case .incomplete(_, let reason), .corrupt(_, _, let reason): return reason
        }
    }
}

/// What a scan expects of batch offsets. A batch's base offset is outside its CRC, so a read
/// error there is caught only by checking it against what the log must hold.
package struct OffsetExpectation: Sendable {
    /// Offsets every batch must lie in (a segment's base offset up to what relative offsets reach).
    package var bounds: Range<Offset>
    /// The base offset the first batch must have, when known.
    package var first: Offset?
    /// Whether each batch must start right after the previous one (true for logs that are never
    /// compacted); otherwise offsets only have to increase.
    package var contiguous: Bool

    package init(bounds: Range<Offset>, first: Offset? = nil, contiguous: Bool) {
        self.bounds = bounds
        self.first = first
        self.contiguous = contiguous
    }

    /// Anything goes (for tools that report rather than trust).
    package static let none = OffsetExpectation(bounds: Offset(Int64.min)..<Offset(Int64.max), contiguous: false)
}

/// Walks the batches of a `.log` file in large chunks, checking each batch's header and, when
/// asked, its CRC-32C. It never returns a batch that fails either check.
package enum BatchScanner {
    /// The CRC-32C of a whole batch held in `bytes` (the range from attributes to the end).
    package static func checksum(of bytes: ArraySlice<UInt8>) -> UInt32 {
        CRC32C.checksum(bytes.dropFirst(crcCoverageStart))
    }

    /// Where the CRC coverage starts within a batch: after baseOffset, batchLength,
    /// partitionLeaderEpoch, magic and the crc itself.
    package static let crcCoverageStart = 21

    /// Scans `file` from `start` to `end`, calling `visit` for every valid batch.
    ///
    /// A problem (a header that does not parse, a batch running past `end`, a CRC mismatch) is
    /// confirmed by reading the bytes again before it is reported, so a transient read error is
    /// never mistaken for a torn tail or for damage.
    /// - Returns: nil when the scan reached `end` (or `visit` returned false), otherwise the
    ///   problem that stopped it.
    package static func scan(
        _ file: any StorageFile, from start: Int64, to end: Int64, verifyChecksums: Bool,
        offsets: OffsetExpectation = .none, chunkBytes: Int = 4 << 20, visit: (ScannedBatch) throws(LogError) -> Bool
    ) throws(LogError) -> ScanProblem? {
        var expectation = offsets
        var position = start
        var retriesAtPosition = 0
        var lastProblemPosition: Int64 = -1
        while position < end {
            var wanted = Int(min(Int64(chunkBytes), end - position))
            var outcome = try scanChunk(file, at: position, count: wanted, end: end, verifyChecksums: verifyChecksums, offsets: &expectation, visit: visit)
            if case .needsBytes(let total) = outcome {
                wanted = Int(min(Int64(total), end - position))
                outcome = try scanChunk(file, at: position, count: wanted, end: end, verifyChecksums: verifyChecksums, offsets: &expectation, visit: visit)
            }
            switch outcome {
            case .stopped:
                return nil
            case .advanced(let next):
                position = next
            case .needsBytes:
                return .incomplete(position: position, reason: "the file ended before \(end) bytes")
            case .problem(let problem, let next):
                position = next
                if problem.position == lastProblemPosition {
                    retriesAtPosition += 1
                } else {
                    lastProblemPosition = problem.position
                    retriesAtPosition = 1
                }
                if retriesAtPosition > 2 { return problem }
            }
        }
        return nil
    }

    private enum ChunkOutcome {
        case stopped
        case advanced(to: Int64)
        /// The chunk starts with a batch of this many bytes, more than was read.
        case needsBytes(Int)
        /// A problem at `problem.position`; `next` is where visiting stopped (the problem's position).
        case problem(ScanProblem, next: Int64)
    }

    private static func scanChunk(
        _ file: any StorageFile, at position: Int64, count: Int, end: Int64, verifyChecksums: Bool,
        offsets expectation: inout OffsetExpectation, visit: (ScannedBatch) throws(LogError) -> Bool
    ) throws(LogError) -> ChunkOutcome {
        let chunk = try storageCall("reading \(file.path)") { () throws(StorageError) in
            try file.read(at: position, count: count)
        }
        var cursor = 0
        while cursor < chunk.count {
            let here = position + Int64(cursor)
            let remaining = chunk.count - cursor
            if remaining < RecordBatchHeader.sizeBytes {
                if here + Int64(remaining) >= end {
                    return .problem(.incomplete(position: here, reason: "\(end - here) trailing bytes, less than a batch header"), next: here)
                }
                break
            }
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader.parse(chunk, at: cursor)
            } catch {
                return .problem(.corrupt(position: here, baseOffset: nil, reason: "bad batch header: \(error)"), next: here)
            }
            let total = header.totalSizeBytes
            if total > remaining {
                if here + Int64(total) > end {
                    return .problem(.incomplete(
                        position: here,
                        reason: "batch at offset \(header.baseOffset) needs \(total) bytes, \(end - here) remain"), next: here)
                }
                if cursor == 0 { return .needsBytes(total) }
                break
            }
            let bytes = chunk[cursor..<cursor + total]
            if verifyChecksums && checksum(of: bytes) != header.crc {
                return .problem(.corrupt(
                    position: here, baseOffset: header.baseOffset,
                    reason: "CRC-32C mismatch (stored \(hex(header.crc)), computed \(hex(checksum(of: bytes))))"), next: here)
            }
            if let reason = expectation.violation(by: header) {
                return .problem(.corrupt(position: here, baseOffset: nil, reason: reason), next: here)
            }
            if try !visit(ScannedBatch(header: header, position: here, bytes: bytes)) { return .stopped }
            expectation.first = header.lastOffset + 1
            cursor += total
        }
        if cursor == 0 {
            return chunk.isEmpty ? .needsBytes(Int.max) : .problem(.incomplete(position: position, reason: "the file ended early"), next: position)
        }
        return .advanced(to: position + Int64(cursor))
    }

    package static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

extension OffsetExpectation {
    /// Why `header`'s offsets cannot be right here, or nil when they can.
    func violation(by header: RecordBatchHeader) -> String? {
        if header.baseOffset < bounds.lowerBound || header.lastOffset >= bounds.upperBound || header.lastOffset < header.baseOffset {
            return "batch offsets \(header.baseOffset)...\(header.lastOffset) lie outside \(bounds.lowerBound)..<\(bounds.upperBound)"
        }
        guard let first else { return nil }
        if contiguous ? header.baseOffset != first : header.baseOffset < first {
            return "batch starts at offset \(header.baseOffset) where \(contiguous ? "" : "at least ")\(first) was expected"
        }
        return nil
    }
}
