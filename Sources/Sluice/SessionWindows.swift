/// Session windows: the records of a key separated by at most an inactivity gap form one session.
///
/// Records at `a <= b` of one key are in the same session when `b - a <= gap` (the gap is
/// inclusive, as in Kafka Streams), or when records between them chain them so. A session whose
/// first record is at `s` and last at `e` is reported as ``Windowed`` `[s, e + 1)`. It closes once
/// `e + 1 + gap + grace <= watermark` (no record can extend it any more, grace included).
///
/// - Invariant: `gapMilliseconds > 0`, `graceMilliseconds >= 0`.
public struct SessionWindows: Sendable, Equatable {
    /// The longest silence within a session, milliseconds (inclusive).
    public let gapMilliseconds: Int64
    /// How long after a session could last be extended records for it are still accepted,
    /// milliseconds.
    public let graceMilliseconds: Int64

    /// Sessions of records at most `gap` apart, accepting records up to `grace` late.
    ///
    /// - Precondition: `gap > 0`, `grace >= 0`.
    public static func withInactivityGap(_ gap: Duration, grace: Duration = .zero) -> SessionWindows {
        precondition(gap > .zero, "a session needs a positive inactivity gap")
        precondition(grace >= .zero, "grace cannot be negative")
        return SessionWindows(gapMilliseconds: gap.milliseconds, graceMilliseconds: grace.milliseconds)
    }
}

/// A grouped stream cut into sessions, ready for an aggregation.
///
/// A record at `t` joins every session of its key it is within the gap of (`last >= t - gap` and
/// `first <= t + gap`): they are merged into one session (their aggregates combined with `merge`,
/// oldest first, then the record added) and the old entries deleted in the same step. With
/// `.onUpdate` only the merged session is emitted; nothing says the sessions it replaced are gone
/// (a consumer keeps the latest session per key and start, or reads `.final`).
///
/// A record is late, and thrown as ``LateRecord``, when its own session `[t, t + 1)` has closed
/// (`t + 1 + gap + grace <= watermark`) or when it is within the gap of a closed session: adding it
/// would change a session already complete (and, with `.final`, emitted). Kafka Streams merges
/// such a record into the closed session and emits the merged session again; Sluice refuses it,
/// so each record is in exactly one emitted session.
///
/// The store of a session aggregation holds, per partition:
/// ```
/// session:    key = 0x00 | keyLength: u32 (BE) | key bytes | last: i64 (ordered) | first: i64 (ordered)
///             value = the aggregate
/// by end:     key = 0x01 | last: i64 (ordered) | keyLength: u32 (BE) | key bytes | first: i64 (ordered)
///             value = empty
/// watermark:  key = 0xFF "watermark"                                     value = i64 (BE)
/// ```
/// `ordered` is big-endian with the sign bit flipped (bytewise order is time order). A key's
/// sessions within the gap of `t` are the one range of the first kind from `last = t - gap` (a key's
/// sessions never overlap, so they sort by first as by last); the sessions the watermark closes
/// are one range of the second kind, by end, then by key, oldest first.
///
/// A session is emitted `.final` when it closes, exactly once, in the transaction that records the
/// watermark that closes it. It is deleted `gap` later (once `last + 2 × gap + grace < watermark`),
/// when no record that is not late can be within its gap: until then it tells a late record from
/// one starting a new session.
///
/// - Invariant: a key's sessions are disjoint and more than `gap` apart; every session has exactly
///   one entry of each of the first two kinds.
public struct SessionWindowedGroupedStream<Key, Value> {
    let grouped: GroupedStream<Key, Value>
    let windows: SessionWindows

    /// Counts records per key and session.
    public func count(store: String? = nil, emit: WindowEmission = .onUpdate) -> RecordStream<Windowed<Key>, Int64> {
        aggregate(store: store, initial: Int64(0), value: .int64, emit: emit, add: { count, _ in count + 1 }, merge: +)
    }

    /// Folds the records of each key and session into an aggregate: a record starting a session is
    /// added to `initial`; when a record joins sessions, `merge` combines their aggregates, oldest
    /// session first, and the record is added to the result.
    public func aggregate<Aggregate>(
        store: String? = nil, initial: Aggregate, value serde: Serde<Aggregate>, emit: WindowEmission = .onUpdate,
        add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate,
        merge: @escaping (Aggregate, Aggregate) throws -> Aggregate
    ) -> RecordStream<Windowed<Key>, Aggregate> {
        let storeName = store ?? grouped.stream.graph.nextOperatorName("session-store")
        let keySerde = grouped.keySerde
        let gap = windows.gapMilliseconds
        let grace = windows.graceMilliseconds
        return grouped.windowOperator(store: storeName) { state, record in
            let time = record.timestamp
            guard time >= 0 else { throw LateRecord(timestamp: time, windowEnd: 0, watermark: 0) }
            let keyBytes = try keySerde.encode(record.key)
            let previousWatermark = try WindowStoreLayout.watermark(in: state)
            let isClosed = { (last: Int64) in previousWatermark != Int64.min && last + 1 + gap + grace <= previousWatermark }
            if isClosed(time) { throw LateRecord(timestamp: time, windowEnd: time + 1, watermark: previousWatermark) }
            let prefix = SessionLayout.keyPrefix(keyBytes)
            var joined: [(first: Int64, last: Int64, aggregate: [UInt8])] = []
            for entry in state.range(from: prefix + WindowStoreLayout.orderedBytes(time - gap), to: prefix + SessionLayout.keyEnd) {
                let last = WindowStoreLayout.orderedValue(entry.key, at: prefix.count)
                let first = WindowStoreLayout.orderedValue(entry.key, at: prefix.count + 8)
                guard first <= time + gap else { break }
                if isClosed(last) { throw LateRecord(timestamp: time, windowEnd: last + 1, watermark: previousWatermark) }
                joined.append((first, last, entry.value))
            }
            // Everything that can throw happens before the first write: a refused record leaves no trace.
            var aggregate = try joined.first.map { try serde.decode($0.aggregate) } ?? initial
            for session in joined.dropFirst() { aggregate = try merge(aggregate, try serde.decode(session.aggregate)) }
            aggregate = try add(aggregate, record)
            let bytes = try serde.encode(aggregate)
            let first = min(time, joined.first?.first ?? time)
            let last = max(time, joined.last?.last ?? time)
            let watermark = max(previousWatermark, time)
            var output: [StreamRecord<Windowed<Key>, Aggregate>] = []
            if emit == .final && watermark > previousWatermark {
                // Closed now, open before: previous - gap - grace <= last < watermark - gap - grace. The
                // record's own session ends at the watermark, so it is open.
                let from = previousWatermark == Int64.min ? SessionLayout.indexPrefix : SessionLayout.indexBound(last: previousWatermark - gap - grace)
                for entry in state.range(from: from, to: SessionLayout.indexBound(last: watermark - gap - grace)) {
                    let session = SessionLayout.parseIndexKey(entry.key)
                    guard let value = state.get(SessionLayout.entryKey(key: session.key, first: session.first, last: session.last)) else {
                        preconditionFailure("a session's index entry has no session")
                    }
                    output.append(StreamRecord(key: Windowed(key: try keySerde.decode(session.key), start: session.first, end: session.last + 1),
                                               value: try serde.decode(value), timestamp: session.last))
                }
            }
            for session in joined where session.first != first || session.last != last {
                state.delete(SessionLayout.entryKey(key: keyBytes, first: session.first, last: session.last))
                state.delete(SessionLayout.indexKey(key: keyBytes, first: session.first, last: session.last))
            }
            state.put(SessionLayout.entryKey(key: keyBytes, first: first, last: last), bytes)
            state.put(SessionLayout.indexKey(key: keyBytes, first: first, last: last), [])
            if emit == .onUpdate {
                output.append(StreamRecord(key: Windowed(key: record.key, start: first, end: last + 1), value: aggregate,
                                           timestamp: time, headers: record.headers))
            }
            guard watermark > previousWatermark else { return output }
            WindowStoreLayout.setWatermark(watermark, in: state)
            // Closed sessions no accepted record can be within the gap of: last < watermark - 2 × gap - grace.
            for entry in state.range(from: SessionLayout.indexPrefix, to: SessionLayout.indexBound(last: watermark - 2 * gap - grace)) {
                let session = SessionLayout.parseIndexKey(entry.key)
                state.delete(SessionLayout.entryKey(key: session.key, first: session.first, last: session.last))
                state.delete(entry.key)
            }
            return output
        }
    }
}

extension GroupedStream {
    /// Cuts the grouped stream into sessions of each key.
    public func sessionWindowed(by windows: SessionWindows) -> SessionWindowedGroupedStream<Key, Value> {
        SessionWindowedGroupedStream(grouped: self, windows: windows)
    }
}

/// The byte layout of a session aggregation's store (see ``SessionWindowedGroupedStream``).
enum SessionLayout {
    static let indexPrefix: [UInt8] = [0x01]
    /// Above every `last | first` suffix of a key's session entries.
    static let keyEnd: [UInt8] = Array(repeating: 0xFF, count: 17)

    static func keyPrefix(_ key: [UInt8]) -> [UInt8] { [0x00] + WindowStoreLayout.lengthPrefixed(key) }

    static func entryKey(key: [UInt8], first: Int64, last: Int64) -> [UInt8] {
        keyPrefix(key) + WindowStoreLayout.orderedBytes(last) + WindowStoreLayout.orderedBytes(first)
    }

    static func indexKey(key: [UInt8], first: Int64, last: Int64) -> [UInt8] {
        indexPrefix + WindowStoreLayout.orderedBytes(last) + WindowStoreLayout.lengthPrefixed(key) + WindowStoreLayout.orderedBytes(first)
    }

    /// Below the index entries of every session with `last` or later, above all earlier ones.
    static func indexBound(last: Int64) -> [UInt8] { indexPrefix + WindowStoreLayout.orderedBytes(last) }

    static func parseIndexKey(_ bytes: [UInt8]) -> (key: [UInt8], first: Int64, last: Int64) {
        precondition(bytes.count >= 21, "a session index entry is shorter than its layout")
        let length = Int(bytes[9..<13].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        precondition(bytes.count == 21 + length, "a session index entry's key length disagrees with its size")
        return (Array(bytes[13..<13 + length]), WindowStoreLayout.orderedValue(bytes, at: 13 + length),
                WindowStoreLayout.orderedValue(bytes, at: 1))
    }
}
