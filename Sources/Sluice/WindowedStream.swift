/// Event-time windows for a grouped stream: hopping windows (tumbling ones are hopping windows
/// whose advance is their size) or sliding windows. Session windows are ``SessionWindows``.
///
/// Every window is reported as a half-open interval `[start, end)` with
/// `end = start + sizeMilliseconds`, and closes once `end + grace <= watermark`, where the
/// watermark is the largest event time its partition has seen.
///
/// - Invariant: `sizeMilliseconds > 0`, `0 < advanceMilliseconds <= sizeMilliseconds`,
///   `graceMilliseconds >= 0`.
public struct Windows: Sendable, Equatable {
    /// How windows are placed on the time line.
    public enum Kind: Sendable, Equatable {
        /// Epoch-aligned windows starting every `advanceMilliseconds` (tumbling when the advance is
        /// the size).
        case hopping
        /// Windows defined by the records themselves (see ``Windows/sliding(timeDifference:grace:)``).
        case sliding
    }

    /// How the windows are placed.
    public let kind: Kind
    /// Window length, milliseconds (`end - start` of every window).
    public let sizeMilliseconds: Int64
    /// The distance between the starts of consecutive windows, milliseconds (1 for sliding windows,
    /// which may start at any millisecond).
    public let advanceMilliseconds: Int64
    /// How long after a window's end records for it are still accepted, milliseconds.
    public let graceMilliseconds: Int64

    /// Fixed, non-overlapping windows of `size`, aligned to the epoch: `hopping(size: size,
    /// advance: size, grace: grace)`.
    public static func tumbling(_ size: Duration, grace: Duration = .zero) -> Windows {
        hopping(size: size, advance: size, grace: grace)
    }

    /// Fixed-size windows `[start, start + size)` starting at every non-negative multiple of
    /// `advance` since the epoch; with `advance < size` they overlap and a record at `t` belongs to
    /// each window with `t - size < start <= t` (Kafka Streams' hopping `TimeWindows`, which also
    /// has no window before the epoch).
    ///
    /// Windows are judged one by one: a record is added to each of its windows that is still open
    /// (`end + grace > watermark`); it is a ``LateRecord`` only when all its windows have closed.
    /// A window that closed was complete when it closed (and, with `.final`, already emitted), so
    /// a record that is late for it alone is counted in its open windows, as Kafka Streams does.
    ///
    /// - Precondition: `0 < advance <= size`, `grace >= 0`.
    public static func hopping(size: Duration, advance: Duration, grace: Duration = .zero) -> Windows {
        precondition(size > .zero, "a window needs a positive size")
        precondition(advance > .zero && advance <= size, "a hopping window advances by more than 0 and at most its size")
        precondition(grace >= .zero, "grace cannot be negative")
        return Windows(kind: .hopping, sizeMilliseconds: size.milliseconds, advanceMilliseconds: advance.milliseconds,
                       graceMilliseconds: grace.milliseconds)
    }

    /// The start of the latest window holding `timestamp` (for tumbling windows, its only one).
    func start(of timestamp: Int64) -> Int64 {
        timestamp - ((timestamp % advanceMilliseconds) + advanceMilliseconds) % advanceMilliseconds
    }
}

/// When a windowed aggregation emits.
public enum WindowEmission: Sendable, Equatable {
    /// The updated aggregate on every record, for every open window the record changed.
    case onUpdate
    /// Once per window, when the watermark passes its end plus grace (the window is then dropped
    /// from the store, or for sliding and session windows retired; see their documentation).
    case final
}

/// A key within a window `[start, end)`, milliseconds since the epoch. `end` is exclusive for every
/// kind of window: a sliding window covering `[t - d, t]` inclusive has `end == t + 1`, a session
/// whose last record is at `t` has `end == t + 1`.
public struct Windowed<Key> {
    /// The grouping key.
    public var key: Key
    /// The first millisecond in the window.
    public var start: Int64
    /// The first millisecond after the window (`end > start`).
    public var end: Int64
}

extension Windowed: Equatable where Key: Equatable {}
extension Windowed: Hashable where Key: Hashable {}

/// A record that arrived after its window closed (its end plus grace is at or before the
/// partition's watermark). It is not dropped silently: the runtime dead-letters it.
///
/// A record with a negative event time is late too (windows are kept from the epoch on); it is
/// reported with `windowEnd` and `watermark` 0.
public struct LateRecord: Error, CustomStringConvertible, Sendable {
    /// The record's event time, milliseconds since the epoch.
    public let timestamp: Int64
    /// The (exclusive) end of the latest window that could have held the record, or of the closed
    /// session it would have joined.
    public let windowEnd: Int64
    /// The partition's watermark when the record arrived.
    public let watermark: Int64
    public var description: String {
        "record at \(timestamp) is late: its window ended at \(windowEnd) and the watermark is \(watermark)"
    }
}

/// A grouped stream cut into event-time windows, ready for an aggregation.
///
/// The store of a hopping (or tumbling) aggregation holds, per partition:
/// ```
/// window entry:  key = windowStart: i64 (BE) | key bytes      value = the aggregate
/// watermark:     key = 0xFF "watermark"                        value = i64 (BE)
/// ```
/// so windows sort by start and the oldest are found with one range scan (starts are never
/// negative, so their first byte is below 0xFF). The watermark is the largest event time seen in
/// the partition; it is stored with the windows, so it survives restarts in the same transactions
/// as the state it governs. Sliding windows use the layout of ``SlidingWindowLayout``.
///
/// - Invariant: a window is emitted final at most once: it is deleted in the transaction that
///   emits it, and records for it arriving later are late for it.
public struct WindowedGroupedStream<Key, Value> {
    let grouped: GroupedStream<Key, Value>
    let windows: Windows

    /// Counts records per key and window.
    public func count(store: String? = nil, emit: WindowEmission = .onUpdate) -> RecordStream<Windowed<Key>, Int64> {
        aggregate(store: store, initial: Int64(0), value: .int64, emit: emit) { count, _ in count + 1 }
    }

    /// Folds the records of each key and window into an aggregate, starting from `initial`, in
    /// the order the records arrive.
    public func aggregate<Aggregate>(
        store: String? = nil, initial: Aggregate, value serde: Serde<Aggregate>, emit: WindowEmission = .onUpdate,
        _ add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> RecordStream<Windowed<Key>, Aggregate> {
        let storeName = store ?? grouped.stream.graph.nextOperatorName("window-store")
        switch windows.kind {
        case .hopping:
            return grouped.windowOperator(store: storeName, step: hoppingStep(initial: initial, value: serde, emit: emit, add))
        case .sliding:
            return grouped.windowOperator(store: storeName, step: slidingStep(initial: initial, value: serde, emit: emit, add))
        }
    }

    private func hoppingStep<Aggregate>(
        initial: Aggregate, value serde: Serde<Aggregate>, emit: WindowEmission,
        _ add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> WindowStep<Key, Value, Aggregate> {
        let keySerde = grouped.keySerde
        let windows = self.windows
        return { state, record in
            guard record.timestamp >= 0 else { throw LateRecord(timestamp: record.timestamp, windowEnd: 0, watermark: 0) }
            let keyBytes = try keySerde.encode(record.key)
            let watermark = try WindowStoreLayout.watermark(in: state)
            let size = windows.sizeMilliseconds
            let latestStart = windows.start(of: record.timestamp)
            if watermark != Int64.min && latestStart + size + windows.graceMilliseconds <= watermark {
                throw LateRecord(timestamp: record.timestamp, windowEnd: latestStart + size, watermark: watermark)
            }
            var starts: [Int64] = []
            var start = latestStart
            while start >= 0 && start + size > record.timestamp {
                if watermark == Int64.min || start + size + windows.graceMilliseconds > watermark { starts.append(start) }
                start -= windows.advanceMilliseconds
            }
            // Everything that can throw happens before the first write: a refused record leaves no trace.
            var updates: [(entryKey: [UInt8], window: Windowed<Key>, aggregate: Aggregate, bytes: [UInt8])] = []
            for start in starts.reversed() {
                let entryKey = WindowStoreLayout.entryKey(start: start, key: keyBytes)
                let aggregate = try add(try state.get(entryKey).map { try serde.decode($0) } ?? initial, record)
                updates.append((entryKey, Windowed(key: record.key, start: start, end: start + size), aggregate, try serde.encode(aggregate)))
            }
            // The windows the record updates are open after the watermark's advance, so closing others
            // first changes nothing they read. Closed windows leave the store in both modes (with
            // `.onUpdate` their last update was already emitted), so it holds only open windows.
            let closed = record.timestamp > watermark
                ? try WindowStoreLayout.closeWindows(in: state, windows: windows, previousWatermark: watermark,
                                                     watermark: record.timestamp, keySerde: keySerde, value: serde)
                : []
            var output: [StreamRecord<Windowed<Key>, Aggregate>] = []
            for update in updates {
                state.put(update.entryKey, update.bytes)
                if emit == .onUpdate {
                    output.append(StreamRecord(key: update.window, value: update.aggregate, timestamp: record.timestamp, headers: record.headers))
                }
            }
            if record.timestamp > watermark { WindowStoreLayout.setWatermark(record.timestamp, in: state) }
            if emit == .final {
                for (window, aggregate) in closed { output.append(StreamRecord(key: window, value: aggregate, timestamp: window.end - 1)) }
            }
            return output
        }
    }
}

extension GroupedStream {
    /// Cuts the grouped stream into event-time windows.
    public func windowed(by windows: Windows) -> WindowedGroupedStream<Key, Value> {
        WindowedGroupedStream(grouped: self, windows: windows)
    }
}

/// One record's work in a windowed aggregation: read and write the partition's store, return the
/// records to forward, in order. It must throw before its first write when it refuses a record.
typealias WindowStep<Key, Value, Aggregate> =
    (any KeyValueState, StreamRecord<Key, Value>) throws -> [StreamRecord<Windowed<Key>, Aggregate>]

extension GroupedStream {
    /// Attaches a windowed aggregation that keeps its state in the store `storeName`; an error its
    /// step throws (a ``LateRecord``, a serde or user-closure failure) becomes a process-stage
    /// ``RecordFailure`` of that operator.
    func windowOperator<Aggregate>(store storeName: String, step: @escaping WindowStep<Key, Value, Aggregate>)
        -> RecordStream<Windowed<Key>, Aggregate> {
        let graph = stream.graph
        graph.addStore(storeName)
        let next = StreamNode<Windowed<Key>, Aggregate>()
        stream.node.attach { context in
            let state = context.keyValueStore(storeName)
            let downstream = next.compile(context)
            return { record in
                let output: [StreamRecord<Windowed<Key>, Aggregate>]
                do {
                    output = try step(state, record)
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: storeName, error: error)
                }
                for emitted in output { try downstream(emitted) }
            }
        }
        return RecordStream(node: next, graph: graph)
    }
}

/// The byte layout of a hopping aggregation's store (see ``WindowedGroupedStream``), and the
/// encodings the other window stores share.
enum WindowStoreLayout {
    static let watermarkKey: [UInt8] = [0xFF] + Array("watermark".utf8)

    static func entryKey(start: Int64, key: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: start.bigEndian) { Array($0) } + key
    }

    /// The partition's watermark, `Int64.min` before its first record.
    static func watermark(in state: any KeyValueState) throws -> Int64 {
        try state.get(watermarkKey).map { try Serde<Int64>.int64.decode($0) } ?? Int64.min
    }

    static func setWatermark(_ watermark: Int64, in state: any KeyValueState) {
        state.put(watermarkKey, withUnsafeBytes(of: watermark.bigEndian) { Array($0) })
    }

    /// `value` as 8 bytes whose bytewise order is the numeric order (big-endian, sign bit flipped),
    /// for layouts whose times may be negative.
    static func orderedBytes(_ value: Int64) -> [UInt8] {
        withUnsafeBytes(of: (UInt64(bitPattern: value) ^ (1 << 63)).bigEndian) { Array($0) }
    }

    /// The inverse of ``orderedBytes(_:)`` on the 8 bytes of `bytes` from `offset`.
    static func orderedValue(_ bytes: [UInt8], at offset: Int) -> Int64 {
        precondition(bytes.count >= offset + 8, "a window store key is shorter than its layout")
        let raw = bytes[offset..<offset + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(bitPattern: raw ^ (1 << 63))
    }

    /// `key` prefixed with its length as a u32 (BE), so one key's entries are contiguous and never
    /// interleave with a longer key that starts with the same bytes.
    static func lengthPrefixed(_ key: [UInt8]) -> [UInt8] {
        precondition(key.count <= Int(UInt32.max), "a key longer than 4 GiB")
        return withUnsafeBytes(of: UInt32(key.count).bigEndian) { Array($0) } + key
    }

    /// Returns and deletes the windows the watermark's advance closed, oldest first (by start, then
    /// key bytes). Scans only when the advance crosses a window boundary.
    static func closeWindows<Key, Aggregate>(
        in state: any KeyValueState, windows: Windows, previousWatermark: Int64, watermark: Int64,
        keySerde: Serde<Key>, value: Serde<Aggregate>
    ) throws -> [(Windowed<Key>, Aggregate)] {
        // A window [s, s + size) is closed once s + size + grace <= watermark.
        let lastClosedStart = watermark - windows.sizeMilliseconds - windows.graceMilliseconds
        guard lastClosedStart >= 0 else { return [] }
        if previousWatermark != Int64.min {
            let before = previousWatermark - windows.sizeMilliseconds - windows.graceMilliseconds
            if before >= 0 && windows.start(of: before) == windows.start(of: lastClosedStart) { return [] }
        }
        var result: [(Windowed<Key>, Aggregate)] = []
        var closedKeys: [[UInt8]] = []
        for entry in state.range(from: [], to: entryKey(start: lastClosedStart + 1, key: [])) where entry.key.count >= 8 {
            let start = entry.key.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
            guard start + windows.sizeMilliseconds + windows.graceMilliseconds <= watermark else { continue }
            let key = try keySerde.decode(Array(entry.key.dropFirst(8)))
            result.append((Windowed(key: key, start: start, end: start + windows.sizeMilliseconds), try value.decode(entry.value)))
            closedKeys.append(entry.key)
        }
        // Deleted only once all decoded, so a failure leaves the store as it was.
        for key in closedKeys { state.delete(key) }
        return result
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
