/// Stream–stream joins within a time window: a record of one stream joins every record of the
/// other stream with the same key whose timestamp is at most `within` away from its own.
///
/// Both streams are buffered in one state store until they can no longer join:
/// ```
/// buffered record:  0x00 | side: u8 | key length: u32 BE | key | time: u64 BE | sequence: u64 BE   → value bytes
/// expiry index:     0x01 | time: u64 BE | side: u8 | sequence: u64 BE                              → key length | key
/// sequence:         0xFE "sequence"                                                                → u64 BE
/// watermark:        0xFF "watermark"                                                               → i64 BE
/// ```
/// `time` is the timestamp with its sign bit flipped, so byte order is time order. A record's
/// matches are one range scan of the other side's entries for its key; expiry is one range scan
/// of the index up to the watermark minus twice `within` and the grace (the oldest time an
/// on-time record can still reach).
///
/// - Invariant: each pair of records within the window is joined exactly once, when the later
///   of the two (in processing order) arrives, with the timestamp of the later event.
/// - Invariant: a record whose time + `within` + grace is before the partition's watermark (the
///   largest timestamp the join has seen) is late: it is refused with ``LateRecord`` (the runtime
///   dead-letters it), never silently dropped; buffered records are deleted once no on-time
///   record can join them.
extension RecordStream {
    /// The inner join of this stream with `other` on equal keys within `within` of each
    /// other's timestamps. Records of either stream that arrive up to `grace` after their
    /// window closed still join.
    ///
    /// - Parameters:
    ///   - key: the key serde (also used to repartition either stream when it was re-keyed).
    ///   - value, otherValue: the value serdes for the buffers; the sources' serdes (or JSON for
    ///     `Codable` values) when nil.
    public func join<OtherValue, Joined>(
        _ other: RecordStream<Key, OtherValue>, within: Duration, grace: Duration = .zero,
        key keySerde: Serde<Key>, value: Serde<Value>? = nil, otherValue: Serde<OtherValue>? = nil,
        store: String? = nil, _ joiner: @escaping (Value, OtherValue) throws -> Joined
    ) -> RecordStream<Key, Joined> {
        precondition(within >= .zero && grace >= .zero, "a join window and its grace cannot be negative")
        let left = partitionedByKey(keySerde, for: "join")
        let right = other.partitionedByKey(keySerde, for: "join")
        left.graph.absorb(right.graph)
        let graph = left.graph
        let storeName = store ?? graph.nextOperatorName("join-store")
        graph.addStore(storeName)
        let leftSerde = value ?? left.knownValueSerde(for: "join buffers its records, but", remedy: "give join a value serde")
        let rightSerde = otherValue ?? right.knownValueSerde(for: "join buffers the other stream's records, but", remedy: "give join an otherValue serde")
        let window = JoinWindow(withinMilliseconds: within.milliseconds, graceMilliseconds: grace.milliseconds)
        let next = StreamNode<Key, Joined>()
        left.node.attach { context in
            let buffer = JoinBuffer(state: context.keyValueStore(storeName), window: window)
            let downstream = next.compile(context)
            return { record in
                try buffer.arrive(record, side: 0, keySerde: keySerde, value: leftSerde, operatorName: storeName) { bytes, time in
                    try downstream(StreamRecord(key: record.key, value: try joiner(record.value, try rightSerde.decode(bytes)),
                                                timestamp: max(time, record.timestamp), headers: record.headers))
                }
            }
        }
        right.node.attach { context in
            let buffer = JoinBuffer(state: context.keyValueStore(storeName), window: window)
            let downstream = next.compile(context)
            return { record in
                try buffer.arrive(record, side: 1, keySerde: keySerde, value: rightSerde, operatorName: storeName) { bytes, time in
                    try downstream(StreamRecord(key: record.key, value: try joiner(try leftSerde.decode(bytes), record.value),
                                                timestamp: max(time, record.timestamp), headers: record.headers))
                }
            }
        }
        return RecordStream<Key, Joined>(node: next, graph: graph)
    }
}

/// A join window: how far apart two records may be, and how long past that a record is still
/// accepted, in milliseconds.
struct JoinWindow {
    let withinMilliseconds: Int64
    let graceMilliseconds: Int64
}

/// One worker's view of a stream–stream join's store (layout in ``RecordStream/join(_:within:grace:key:value:otherValue:store:_:)``).
struct JoinBuffer {
    let state: any KeyValueState
    let window: JoinWindow

    static let sequenceKey: [UInt8] = [0xFE] + Array("sequence".utf8)
    static let watermarkKey: [UInt8] = [0xFF] + Array("watermark".utf8)

    /// Joins `record` (from `side`) with the other side's buffered records, then buffers it and
    /// expires what the watermark's advance put out of reach.
    /// - Parameter match: called with each matching buffered value and its timestamp.
    func arrive<Key, Value>(
        _ record: StreamRecord<Key, Value>, side: UInt8, keySerde: Serde<Key>, value serde: Serde<Value>, operatorName: String,
        match: ([UInt8], Int64) throws -> Void
    ) throws {
        let time = record.timestamp
        let matches: [(key: [UInt8], value: [UInt8])]
        let keyBytes: [UInt8]
        do {
            let watermark = try state.get(Self.watermarkKey).map { try Serde<Int64>.int64.decode($0) } ?? Int64.min
            if watermark != Int64.min, Self.saturatingAdd(time, window.withinMilliseconds + window.graceMilliseconds) < watermark {
                throw LateRecord(timestamp: time, windowEnd: Self.saturatingAdd(time, window.withinMilliseconds), watermark: watermark)
            }
            keyBytes = try keySerde.encode(record.key)
            let lower = Self.saturatingAdd(time, -window.withinMilliseconds)
            let upper = Self.saturatingAdd(time, window.withinMilliseconds)
            matches = state.range(from: Self.recordKey(side: 1 - side, key: keyBytes, time: lower, sequence: 0),
                                  to: upper == Int64.max ? Self.recordPrefix(side: 1 - side, key: keyBytes) + [UInt8](repeating: 0xFF, count: 17)
                                                         : Self.recordKey(side: 1 - side, key: keyBytes, time: upper + 1, sequence: 0))
            let sequence = (try state.get(Self.sequenceKey).map { try Serde<Int64>.int64.decode($0) } ?? 0) + 1
            state.put(Self.sequenceKey, try Serde<Int64>.int64.encode(sequence))
            state.put(Self.recordKey(side: side, key: keyBytes, time: time, sequence: UInt64(sequence)), try serde.encode(record.value))
            state.put(Self.expiryKey(time: time, side: side, sequence: UInt64(sequence)), Self.lengthPrefixed(keyBytes))
            if time > watermark {
                state.put(Self.watermarkKey, try Serde<Int64>.int64.encode(time))
                expire(before: Self.saturatingAdd(time, -(2 * window.withinMilliseconds + window.graceMilliseconds)))
            }
        } catch let failure as RecordFailure {
            throw failure
        } catch {
            throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
        }
        for entry in matches {
            let matchTime = Self.time(fromOrdered: Array(entry.key[(entry.key.count - 16)..<(entry.key.count - 8)]))
            do {
                try match(entry.value, matchTime)
            } catch let failure as RecordFailure {
                throw failure
            } catch {
                throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
            }
        }
    }

    /// Deletes the buffered records older than `cutoff` (no on-time record can reach them).
    private func expire(before cutoff: Int64) {
        guard cutoff > Int64.min else { return }
        for entry in state.range(from: [0x01], to: [0x01] + Self.orderedTime(cutoff)) {
            let side = entry.key[9]
            let sequence = entry.key[10...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let time = Self.time(fromOrdered: Array(entry.key[1..<9]))
            let keyBytes = Array(entry.value.dropFirst(4))
            state.delete(Self.recordKey(side: side, key: keyBytes, time: time, sequence: sequence))
            state.delete(entry.key)
        }
    }

    static func recordPrefix(side: UInt8, key: [UInt8]) -> [UInt8] { [0x00, side] + lengthPrefixed(key) }

    static func recordKey(side: UInt8, key: [UInt8], time: Int64, sequence: UInt64) -> [UInt8] {
        recordPrefix(side: side, key: key) + orderedTime(time) + withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
    }

    static func expiryKey(time: Int64, side: UInt8, sequence: UInt64) -> [UInt8] {
        [0x01] + orderedTime(time) + [side] + withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
    }

    static func lengthPrefixed(_ bytes: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) } + bytes
    }

    /// The time's bytes in an order that sorts bytewise as the times do (sign bit flipped).
    static func orderedTime(_ time: Int64) -> [UInt8] {
        withUnsafeBytes(of: (UInt64(bitPattern: time) ^ (1 << 63)).bigEndian) { Array($0) }
    }

    static func time(fromOrdered bytes: [UInt8]) -> Int64 {
        Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } ^ (1 << 63))
    }

    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int64.max : Int64.min) : sum
    }
}
