/// Event-time windows for a grouped stream.
public struct Windows: Sendable, Equatable {
    /// Window length, milliseconds.
    public let sizeMilliseconds: Int64
    /// How long after a window's end records for it are still accepted, milliseconds.
    public let graceMilliseconds: Int64

    /// Fixed, non-overlapping windows of `size`, aligned to the epoch.
    public static func tumbling(_ size: Duration, grace: Duration = .zero) -> Windows {
        precondition(size > .zero, "a window needs a positive size")
        precondition(grace >= .zero, "grace cannot be negative")
        return Windows(sizeMilliseconds: size.milliseconds, graceMilliseconds: grace.milliseconds)
    }

    /// The start of the window holding `timestamp`.
    func start(of timestamp: Int64) -> Int64 { timestamp - ((timestamp % sizeMilliseconds) + sizeMilliseconds) % sizeMilliseconds }
}

/// When a windowed aggregation emits.
public enum WindowEmission: Sendable, Equatable {
    /// The updated aggregate on every record.
    case onUpdate
    /// Once per window, when the watermark passes its end plus grace (the window is then dropped
    /// from the store).
    case final
}

/// A key within a window `[start, end)`, milliseconds since the epoch.
public struct Windowed<Key> {
    public var key: Key
    public var start: Int64
    public var end: Int64
}

extension Windowed: Equatable where Key: Equatable {}
extension Windowed: Hashable where Key: Hashable {}

/// A record that arrived after its window closed (its end plus grace is at or before the
/// partition's watermark). It is not dropped silently: the runtime dead-letters it.
public struct LateRecord: Error, CustomStringConvertible, Sendable {
    public let timestamp: Int64
    public let windowEnd: Int64
    public let watermark: Int64
    public var description: String {
        "record at \(timestamp) is late: its window ended at \(windowEnd) and the watermark is \(watermark)"
    }
}

/// A grouped stream cut into event-time windows, ready for an aggregation.
///
/// The store of a windowed aggregation holds, per partition:
/// ```
/// window entry:  key = windowStart: i64 (BE) | key bytes      value = the aggregate
/// watermark:     key = 0xFF "watermark"                        value = i64 (BE)
/// ```
/// so windows sort by start and the oldest are found with one range scan. The watermark is the
/// largest event time seen in the partition; it is stored with the windows, so it survives
/// restarts in the same transactions as the state it governs.
///
/// - Invariant: a window is emitted final at most once: it is deleted in the transaction that
///   emits it, and records for it arriving later are late.
public struct WindowedGroupedStream<Key, Value> {
    let grouped: GroupedStream<Key, Value>
    let windows: Windows

    /// Counts records per key and window.
    public func count(store: String? = nil, emit: WindowEmission = .onUpdate) -> RecordStream<Windowed<Key>, Int64> {
        aggregate(store: store, initial: Int64(0), value: .int64, emit: emit) { count, _ in count + 1 }
    }

    /// Folds the records of each key and window into an aggregate, starting from `initial`.
    public func aggregate<Aggregate>(
        store: String? = nil, initial: Aggregate, value serde: Serde<Aggregate>, emit: WindowEmission = .onUpdate,
        _ add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> RecordStream<Windowed<Key>, Aggregate> {
        let stream = grouped.stream
        let graph = stream.graph
        let storeName = store ?? graph.nextOperatorName("window-store")
        graph.addStore(storeName)
        let keySerde = grouped.keySerde
        let windows = self.windows
        let next = StreamNode<Windowed<Key>, Aggregate>()
        stream.node.attach { context in
            let state = context.keyValueStore(storeName)
            let downstream = next.compile(context)
            return { record in
                var closed: [(Windowed<Key>, Aggregate)] = []
                var updated: (Windowed<Key>, Aggregate)?
                do {
                    guard record.timestamp >= 0 else { throw LateRecord(timestamp: record.timestamp, windowEnd: 0, watermark: 0) }
                    let keyBytes = try keySerde.encode(record.key)
                    let watermark = try state.get(WindowStoreLayout.watermarkKey).map { try Serde<Int64>.int64.decode($0) } ?? Int64.min
                    let start = windows.start(of: record.timestamp)
                    let end = start + windows.sizeMilliseconds
                    if watermark != Int64.min && end + windows.graceMilliseconds <= watermark {
                        throw LateRecord(timestamp: record.timestamp, windowEnd: end, watermark: watermark)
                    }
                    let entryKey = WindowStoreLayout.entryKey(start: start, key: keyBytes)
                    let previous = try state.get(entryKey).map { try serde.decode($0) } ?? initial
                    let aggregate = try add(previous, record)
                    state.put(entryKey, try serde.encode(aggregate))
                    updated = (Windowed(key: record.key, start: start, end: end), aggregate)
                    if record.timestamp > watermark {
                        state.put(WindowStoreLayout.watermarkKey, try Serde<Int64>.int64.encode(record.timestamp))
                        if emit == .final {
                            closed = try WindowStoreLayout.closeWindows(in: state, windows: windows, previousWatermark: watermark,
                                                                        watermark: record.timestamp, keySerde: keySerde, value: serde)
                        }
                    }
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: storeName, error: error)
                }
                if emit == .onUpdate, let (window, aggregate) = updated {
                    try downstream(StreamRecord(key: window, value: aggregate, timestamp: record.timestamp, headers: record.headers))
                }
                for (window, aggregate) in closed {
                    try downstream(StreamRecord(key: window, value: aggregate, timestamp: window.end - 1))
                }
            }
        }
        return RecordStream(node: next, graph: graph)
    }
}

extension GroupedStream {
    /// Cuts the grouped stream into event-time windows.
    public func windowed(by windows: Windows) -> WindowedGroupedStream<Key, Value> {
        WindowedGroupedStream(grouped: self, windows: windows)
    }
}

/// The byte layout of a windowed aggregation's store (see ``WindowedGroupedStream``).
enum WindowStoreLayout {
    static let watermarkKey: [UInt8] = [0xFF] + Array("watermark".utf8)

    static func entryKey(start: Int64, key: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: start.bigEndian) { Array($0) } + key
    }

    /// Emits and deletes the windows the watermark's advance closed, oldest first. Scans only
    /// when the advance crosses a window boundary.
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
        for entry in state.range(from: [], to: entryKey(start: lastClosedStart + 1, key: [])) where entry.key.count >= 8 {
            let start = entry.key.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
            guard start + windows.sizeMilliseconds + windows.graceMilliseconds <= watermark else { continue }
            let key = try keySerde.decode(Array(entry.key.dropFirst(8)))
            result.append((Windowed(key: key, start: start, end: start + windows.sizeMilliseconds), try value.decode(entry.value)))
            state.delete(entry.key)
        }
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
