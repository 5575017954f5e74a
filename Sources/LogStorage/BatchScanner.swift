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
    /// A batch that fails its CRC is read a second time before it is declared corrupt, so a
    /// transient read error is not mistaken for damage.
    /// - Returns: nil when the scan reached `end` (or `visit` returned false), otherwise the
    ///   problem that stopped it.
    package static func scan(
        _ file: any StorageFile, from start: Int64, to end: Int64, verifyChecksums: Bool,
        chunkBytes: Int = 4 << 20, visit: (ScannedBatch) throws(LogError) -> Bool
    ) throws(LogError) -> ScanProblem? {
        var position = start
        while position < end {
            let wanted = Int(min(Int64(chunkBytes), end - position))
            let chunk = try storageCall("reading \(file.path)") { () throws(StorageError) in
                try file.read(at: position, count: wanted)
            }
            var cursor = 0
            var progressed = false
            while cursor < chunk.count {
                let remaining = chunk.count - cursor
                if remaining < RecordBatchHeader.sizeBytes {
                    if position + Int64(chunk.count) >= end {
                        return .incomplete(position: position + Int64(cursor), reason: "\(remaining) trailing bytes, less than a batch header")
                    }
                    break
                }
                let header: RecordBatchHeader
                do {
                    header = try RecordBatchHeader.parse(chunk, at: cursor)
                } catch {
                    return .corrupt(position: position + Int64(cursor), baseOffset: nil, reason: "bad batch header: \(error)")
                }
                let total = header.totalSizeBytes
                if total > remaining {
                    if position + Int64(cursor) + Int64(total) > end {
                        return .incomplete(
                            position: position + Int64(cursor),
                            reason: "batch at offset \(header.baseOffset) needs \(total) bytes, \(end - position - Int64(cursor)) remain")
                    }
                    if cursor == 0 {
                        // A batch larger than the chunk: read it whole.
                        return try scanLarge(file, header: header, from: position, to: end, verifyChecksums: verifyChecksums, chunkBytes: chunkBytes, visit: visit)
                    }
                    break
                }
                var bytes = chunk[cursor..<cursor + total]
                if verifyChecksums && checksum(of: bytes) != header.crc {
                    let reread = try storageCall("reading \(file.path)") { () throws(StorageError) in
                        try file.read(at: position + Int64(cursor), count: total)
                    }
                    guard reread.count == total, let again = try? RecordBatchHeader.parse(reread, at: 0),
                        again == header, checksum(of: reread[...]) == header.crc
                    else {
                        return .corrupt(
                            position: position + Int64(cursor), baseOffset: header.baseOffset,
                            reason: "CRC-32C mismatch (stored \(hex(header.crc)), computed \(hex(checksum(of: bytes))))")
                    }
                    bytes = reread[...]
                }
                let batch = ScannedBatch(header: header, position: position + Int64(cursor), bytes: bytes)
                if try !visit(batch) { return nil }
                cursor += total
                progressed = true
            }
            if !progressed {
                return .incomplete(position: position, reason: "the file ended before \(end) bytes")
            }
            position += Int64(cursor)
        }
        return nil
    }

    private static func scanLarge(
        _ file: any StorageFile, header: RecordBatchHeader, from position: Int64, to end: Int64,
        verifyChecksums: Bool, chunkBytes: Int, visit: (ScannedBatch) throws(LogError) -> Bool
    ) throws(LogError) -> ScanProblem? {
        let total = header.totalSizeBytes
        let bigger = max(chunkBytes, total)
        return try scan(file, from: position, to: end, verifyChecksums: verifyChecksums, chunkBytes: bigger, visit: visit)
    }

    package static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
