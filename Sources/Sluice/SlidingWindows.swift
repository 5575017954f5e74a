extension Windows {
    /// Sliding windows, as Kafka Streams' `SlidingWindows` (KIP-450): windows of a fixed
    /// `timeDifference` `d` placed by the records of each key rather than by the clock.
    ///
    /// A window covers `[start, start + d]`, both ends inclusive, and is reported as
    /// ``Windowed`` `[start, start + d + 1)` (so ``sizeMilliseconds`` is `d + 1` and
    /// ``advanceMilliseconds`` is 1). For the accepted records of one key, the windows are:
    /// - the *left window* `[t - d, t]` of every record at `t` (created when the record enters);
    /// - the *right window* `[t + 1, t + 1 + d]` of every record at `t` with another record in
    ///   `(t, t + 1 + d]` (created when the record at `t` drops out of the sliding window);
    ///
    /// each holding every record of the key within it, folded in arrival order. These are all the
    /// distinct non-empty windows of size `d`; one at the same place as another is the same
    /// window. Left windows may start before the epoch (Kafka instead folds records earlier than
    /// `d` into one window `[0, d]`; Sluice keeps their exact windows).
    ///
    /// A window closes once `start + d + 1 + grace <= watermark`. A record at `t` is late, and
    /// thrown as ``LateRecord``, when the last window that could hold it, `[t, t + d]`, has
    /// closed (Kafka's rule). A record in time for some of its windows only is added to all of
    /// them, but only open windows are emitted; a window that closes before the records that
    /// define it arrive is never emitted. With `.final`, each window is emitted exactly once, when
    /// it closes, with every accepted record within it that arrived before.
    ///
    /// Unlike tumbling and hopping windows, a closed window is not deleted when it closes: new
    /// windows take their aggregate from older ones (a fold cannot be undone, so the left window
    /// of `t` starts from the window holding exactly the records in `[t - d, t)`), so closed
    /// windows stay, *retired*, still updated but never emitted again, until
    /// `start + 3 × (d + 1) + grace <= watermark`, after which no accepted record can need them.
    /// Kafka Streams keeps them too (by store retention) but stops updating them, which makes
    /// later windows miss records in some out-of-order cases; Sluice keeps them exact.
    ///
    /// - Precondition: `timeDifference >= 0`, `grace >= 0`.
    public static func sliding(timeDifference: Duration, grace: Duration = .zero) -> Windows {
        precondition(timeDifference >= .zero, "a sliding window's time difference cannot be negative")
        precondition(grace >= .zero, "grace cannot be negative")
        return Windows(kind: .sliding, sizeMilliseconds: timeDifference.milliseconds + 1, advanceMilliseconds: 1,
                       graceMilliseconds: grace.milliseconds)
    }
}

/// The byte layout of a sliding-window aggregation's store:
/// ```
/// window:     key = 0x00 | keyLength: u32 (BE) | key bytes | start: i64 (ordered)
///             value = maxRecordTimestamp: i64 (BE) | the aggregate
/// by start:   key = 0x01 | start: i64 (ordered) | key bytes           value = empty
/// watermark:  key = 0xFF "watermark"                                  value = i64 (BE)
/// ```
/// `ordered` is big-endian with the sign bit flipped, so bytewise order is time order and
/// starts before the epoch sort first. A key's windows around a record are one range of the
/// first kind; the windows the watermark closes or retires are one range of the second, oldest
/// first, then by key bytes. `maxRecordTimestamp` is the latest record in the window, which tells
/// whether a window holds records after a given time.
///
/// - Invariant: every window has exactly one entry of each of the first two kinds.
enum SlidingWindowLayout {
    static let indexPrefix: [UInt8] = [0x01]

    static func keyPrefix(_ key: [UInt8]) -> [UInt8] { [0x00] + WindowStoreLayout.lengthPrefixed(key) }

    static func indexKey(start: Int64, key: [UInt8]) -> [UInt8] { indexPrefix + WindowStoreLayout.orderedBytes(start) + key }

    static func value(maxTimestamp: Int64, aggregate: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: maxTimestamp.bigEndian) { Array($0) } + aggregate
    }

    static func maxTimestamp(of value: [UInt8]) throws -> Int64 {
        guard value.count >= 8 else { throw SerdeError.wrongLength(expected: 8, actual: value.count) }
        return value.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}

/// One sliding window of one key while a record is processed.
private struct SlidingWindow<Aggregate> {
    var maxTimestamp: Int64
    var aggregate: Aggregate
}

extension WindowedGroupedStream {
    /// The sliding-window step (semantics in ``Windows/sliding(timeDifference:grace:)``).
    ///
    /// For a record at `t`, every window it affects or needs starts in `[t - 2d, t + 1]`: the
    /// windows holding `t` (starts `t - d ... t`), the window with the latest start before `t - d`
    /// (its records in `[t - d, t)` seed `t`'s left window: by construction of the window set it
    /// holds no record before `t - d` when one of its records is at or after `t - d`), the window
    /// with the latest start in `(t - d, t]` (its records after `t` seed `t`'s right window: it
    /// holds no record in `[start, t]`), and the right windows of `t` and of the latest record
    /// before `t`, which this record may create.
    ///
    /// - Complexity: one range read of the key's windows in `[t - 2d, t + 1]`; when the
    ///   watermark advances, one range read of the windows it closes and one of those it retires.
    func slidingStep<Aggregate>(
        initial: Aggregate, value serde: Serde<Aggregate>, emit: WindowEmission,
        _ add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> WindowStep<Key, Value, Aggregate> {
        let keySerde = grouped.keySerde
        let size = windows.sizeMilliseconds
        let difference = size - 1
        let grace = windows.graceMilliseconds
        return { state, record in
            let time = record.timestamp
            guard time >= 0 else { throw LateRecord(timestamp: time, windowEnd: 0, watermark: 0) }
            let keyBytes = try keySerde.encode(record.key)
            let previousWatermark = try WindowStoreLayout.watermark(in: state)
            // The last window that could hold the record is [t, t + d], that is [t, t + size).
            if previousWatermark != Int64.min && time + size + grace <= previousWatermark {
                throw LateRecord(timestamp: time, windowEnd: time + size, watermark: previousWatermark)
            }
            let watermark = max(previousWatermark, time)
            let prefix = SlidingWindowLayout.keyPrefix(keyBytes)
            var found: [Int64: SlidingWindow<Aggregate>] = [:]
            for entry in state.range(from: prefix + WindowStoreLayout.orderedBytes(time - 2 * difference),
                                     to: prefix + WindowStoreLayout.orderedBytes(time + 2)) {
                let start = WindowStoreLayout.orderedValue(entry.key, at: prefix.count)
                found[start] = SlidingWindow(maxTimestamp: try SlidingWindowLayout.maxTimestamp(of: entry.value),
                                             aggregate: try serde.decode(Array(entry.value.dropFirst(8))))
            }
            let starts = found.keys.sorted()
            let leftStart = time - difference
            // The records in [t - d, t) as one window, when there are any.
            let seed = starts.last(where: { $0 < leftStart }).flatMap { found[$0] }.flatMap { $0.maxTimestamp >= leftStart ? $0 : nil }
            // The records in (t, t + d + 1] as one window, when there are any.
            let rightSeed = starts.last(where: { $0 > leftStart && $0 <= time }).flatMap { found[$0] }.flatMap { $0.maxTimestamp > time ? $0 : nil }
            // The latest earlier record, when it is within d (otherwise its right window cannot hold t,
            // or is t's left window); unknown, and not needed, when a record at t was already seen.
            let previousRecord: Int64? = if let left = found[leftStart] {
                left.maxTimestamp < time ? left.maxTimestamp : nil
            } else {
                seed?.maxTimestamp
            }
            var changed: [Int64: SlidingWindow<Aggregate>] = [:]
            for start in starts where start >= leftStart && start <= time {
                let window = found[start]!
                changed[start] = SlidingWindow(maxTimestamp: max(window.maxTimestamp, time), aggregate: try add(window.aggregate, record))
            }
            if found[leftStart] == nil {
                changed[leftStart] = SlidingWindow(maxTimestamp: time, aggregate: try add(seed?.aggregate ?? initial, record))
            }
            if found[time + 1] == nil, let rightSeed {
                changed[time + 1] = rightSeed
            }
            if let previousRecord, found[previousRecord + 1] == nil, changed[previousRecord + 1] == nil {
                changed[previousRecord + 1] = SlidingWindow(maxTimestamp: time, aggregate: try add(initial, record))
            }
            // Everything that can throw happens before the first write: a refused record leaves no trace.
            let writes = try changed.keys.sorted().map { start in (start, changed[start]!, try serde.encode(changed[start]!.aggregate)) }
            var output: [StreamRecord<Windowed<Key>, Aggregate>] = []
            if emit == .final && watermark > previousWatermark {
                // Closed now, open before: previous - size - grace < start <= watermark - size - grace. The
                // windows this record changed are all open (they end after t, which is the watermark).
                for entry in state.range(
                    from: previousWatermark == Int64.min ? SlidingWindowLayout.indexPrefix
                        : SlidingWindowLayout.indexKey(start: previousWatermark - size - grace + 1, key: []),
                    to: SlidingWindowLayout.indexKey(start: watermark - size - grace + 1, key: [])) {
                    let start = WindowStoreLayout.orderedValue(entry.key, at: 1)
                    let windowKey = Array(entry.key.dropFirst(9))
                    guard let value = state.get(SlidingWindowLayout.keyPrefix(windowKey) + WindowStoreLayout.orderedBytes(start)) else {
                        preconditionFailure("a sliding window's index entry has no window")
                    }
                    output.append(StreamRecord(key: Windowed(key: try keySerde.decode(windowKey), start: start, end: start + size),
                                               value: try serde.decode(Array(value.dropFirst(8))), timestamp: start + size - 1))
                }
            }
            var updates: [StreamRecord<Windowed<Key>, Aggregate>] = []
            for (start, window, bytes) in writes {
                state.put(prefix + WindowStoreLayout.orderedBytes(start), SlidingWindowLayout.value(maxTimestamp: window.maxTimestamp, aggregate: bytes))
                if found[start] == nil { state.put(SlidingWindowLayout.indexKey(start: start, key: keyBytes), []) }
                if emit == .onUpdate && start + size + grace > watermark {
                    updates.append(StreamRecord(key: Windowed(key: record.key, start: start, end: start + size), value: window.aggregate,
                                                timestamp: time, headers: record.headers))
                }
            }
            guard watermark > previousWatermark else { return updates }
            WindowStoreLayout.setWatermark(watermark, in: state)
            // Retired windows no accepted record can reach any more: start + 3 × size + grace <= watermark.
            for entry in state.range(from: SlidingWindowLayout.indexPrefix,
                                     to: SlidingWindowLayout.indexKey(start: watermark - 3 * size - grace + 1, key: [])) {
                let start = WindowStoreLayout.orderedValue(entry.key, at: 1)
                state.delete(SlidingWindowLayout.keyPrefix(Array(entry.key.dropFirst(9))) + WindowStoreLayout.orderedBytes(start))
                state.delete(entry.key)
            }
            return updates + output
        }
    }
}
