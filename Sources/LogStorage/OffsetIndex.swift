/// The sparse offset index of a segment (`.index`): relative offset → file position.
///
/// Kafka's layout, big-endian, 8 bytes an entry, one entry per `indexIntervalBytes` of log:
/// ```
/// +---------------------------+---------------------------+
/// | relativeOffset: i32 (BE)  | position: i32 (BE)        |
/// +---------------------------+---------------------------+
/// ```
/// `relativeOffset` is the entry batch's base offset minus the segment's base offset, and
/// `position` the byte position of that batch in the `.log`.
///
/// - Invariant: relative offsets and positions strictly increase.
struct OffsetIndex: Equatable {
    static let entryBytes = 8

    private(set) var relativeOffsets: [Int32] = []
    private(set) var positions: [Int32] = []

    var count: Int { relativeOffsets.count }
    var lastPosition: Int64? { positions.last.map(Int64.init) }

    /// Appends an entry; entries that would not increase are ignored.
    /// - Returns: the entry's encoded bytes when it was added.
    mutating func append(relativeOffset: Int32, position: Int32) -> [UInt8]? {
        if let last = relativeOffsets.last, relativeOffset <= last { return nil }
        if let last = positions.last, position <= last { return nil }
        relativeOffsets.append(relativeOffset)
        positions.append(position)
        var bytes = [UInt8]()
        bytes.reserveCapacity(8)
        bytes.appendBigEndian(relativeOffset)
        bytes.appendBigEndian(position)
        return bytes
    }

    /// The position of the last indexed batch whose relative offset is ≤ `relativeOffset`
    /// (0 when none is).
    /// - Complexity: O(log n).
    func position(atOrBefore relativeOffset: Int64) -> Int64 {
        entry(atOrBefore: relativeOffset).position
    }

    /// The last entry whose relative offset is ≤ `relativeOffset`: its relative offset (nil when
    /// there is none and the scan starts at position 0) and position.
    func entry(atOrBefore relativeOffset: Int64) -> (relativeOffset: Int32?, position: Int64) {
        var low = 0
        var high = relativeOffsets.count
        while low < high {
            let middle = (low + high) / 2
            if Int64(relativeOffsets[middle]) <= relativeOffset { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? (nil, 0) : (relativeOffsets[low - 1], Int64(positions[low - 1]))
    }

    /// Drops entries at or past `position` (after a truncation of the log).
    mutating func truncate(toPosition position: Int64) {
        while let last = positions.last, Int64(last) >= position {
            positions.removeLast()
            relativeOffsets.removeLast()
        }
    }

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * 8)
        for index in 0..<count {
            bytes.appendBigEndian(relativeOffsets[index])
            bytes.appendBigEndian(positions[index])
        }
        return bytes
    }

    /// Decodes an index file, or returns nil when it is damaged: a partial entry, entries that
    /// do not increase, or a position at or past `logSizeBytes`.
    static func decode(_ bytes: [UInt8], logSizeBytes: Int64) -> OffsetIndex? {
        guard bytes.count % entryBytes == 0 else { return nil }
        var index = OffsetIndex()
        var cursor = 0
        while cursor < bytes.count {
            let relative = Int32(bitPattern: bytes.readBigEndianUInt32(at: cursor))
            let position = Int32(bitPattern: bytes.readBigEndianUInt32(at: cursor + 4))
            cursor += entryBytes
            guard relative >= 0, position >= 0, Int64(position) < logSizeBytes,
                index.append(relativeOffset: relative, position: position) != nil
            else { return nil }
        }
        return index
    }
}

/// The time index of a segment (`.timeindex`): the largest timestamp seen so far → the last
/// offset of the batch that carried it.
///
/// Kafka's layout, big-endian, 12 bytes an entry:
/// ```
/// +---------------------------+---------------------------+
/// | timestamp: i64 (BE)       | relativeOffset: i32 (BE)  |
/// +---------------------------+---------------------------+
/// ```
/// - Invariant: timestamps strictly increase, relative offsets never decrease. Every record at
///   or before an entry's offset has a timestamp ≤ the entry's timestamp.
struct TimeIndex: Equatable {
    static let entryBytes = 12

    private(set) var timestamps: [Int64] = []
    private(set) var relativeOffsets: [Int32] = []

    var count: Int { timestamps.count }
    var lastTimestamp: Int64? { timestamps.last }

    mutating func append(timestamp: Int64, relativeOffset: Int32) -> [UInt8]? {
        if let last = timestamps.last, timestamp <= last { return nil }
        if let last = relativeOffsets.last, relativeOffset < last { return nil }
        timestamps.append(timestamp)
        relativeOffsets.append(relativeOffset)
        var bytes = [UInt8]()
        bytes.reserveCapacity(12)
        bytes.appendBigEndian(timestamp)
        bytes.appendBigEndian(relativeOffset)
        return bytes
    }

    /// The relative offset after which records may have a timestamp ≥ `timestamp`: one past the
    /// last entry whose timestamp is below it (0 when none is).
    func firstCandidateRelativeOffset(forTimestamp timestamp: Int64) -> Int64 {
        var low = 0
        var high = timestamps.count
        while low < high {
            let middle = (low + high) / 2
            if timestamps[middle] < timestamp { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? 0 : Int64(relativeOffsets[low - 1]) + 1
    }

    /// Drops entries past `relativeOffset` (after a truncation of the log).
    mutating func truncate(afterRelativeOffset relativeOffset: Int64) {
        while let last = relativeOffsets.last, Int64(last) > relativeOffset {
            relativeOffsets.removeLast()
            timestamps.removeLast()
        }
    }

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * 12)
        for index in 0..<count {
            bytes.appendBigEndian(timestamps[index])
            bytes.appendBigEndian(relativeOffsets[index])
        }
        return bytes
    }

    /// Decodes a time index file, or returns nil when it is damaged.
    static func decode(_ bytes: [UInt8], lastRelativeOffset: Int64) -> TimeIndex? {
        guard bytes.count % entryBytes == 0 else { return nil }
        var index = TimeIndex()
        var cursor = 0
        while cursor < bytes.count {
            let timestamp = Int64(bitPattern: bytes.readBigEndianUInt64(at: cursor))
            let relative = Int32(bitPattern: bytes.readBigEndianUInt32(at: cursor + 8))
            cursor += entryBytes
            guard relative >= 0, Int64(relative) <= lastRelativeOffset,
                index.append(timestamp: timestamp, relativeOffset: relative) != nil
            else { return nil }
        }
        return index
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        Swift.withUnsafeBytes(of: &bigEndian) { append(contentsOf: $0) }
    }

    func readBigEndianUInt32(at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in self[index..<index + 4] { value = value << 8 | UInt32(byte) }
        return value
    }

    func readBigEndianUInt64(at index: Int) -> UInt64 {
        var value: UInt64 = 0
        for byte in self[index..<index + 8] { value = value << 8 | UInt64(byte) }
        return value
    }

    func readBigEndianUInt16(at index: Int) -> UInt16 {
        UInt16(self[index]) << 8 | UInt16(self[index + 1])
    }
}
