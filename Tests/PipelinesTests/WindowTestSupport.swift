import Foundation
import Sluice
import StreamCore

/// One emitted window as the window test pipelines write it: the key, `[start, end)` and the ids
/// of the records in it, in the order the aggregate folded them.
struct WindowOut: Codable, Hashable, CustomStringConvertible {
    var key: String
    var start: Int64
    var end: Int64
    var ids: [Int]
    var description: String { "\(key)[\(start),\(end))\(ids)" }
}

/// `in` (string keys, the record id as its value) → windowed list of ids → `out`. The list is an
/// order-sensitive aggregate, so a model must match the fold order too.
struct WindowIDsPipeline: PipelineDefinition {
    let name = "window-ids"
    let summary = "test: ids per window"
    let windows: Windows
    let emit: WindowEmission

    var body: Topology {
        Source("in", value: .string)
            .groupByKey()
            .windowed(by: windows)
            .aggregate(store: "windows", initial: [Int](), value: .json([Int].self), emit: emit) { ids, record in
                ids + [Int(record.value) ?? -1]
            }
            .map { window, ids in (window.key, WindowOut(key: window.key, start: window.start, end: window.end, ids: ids)) }
            .sink("out", value: .json(WindowOut.self))
    }
}

/// The session counterpart of ``WindowIDsPipeline``: merging concatenates, oldest session first.
struct SessionIDsPipeline: PipelineDefinition {
    let name = "session-ids"
    let summary = "test: ids per session"
    let sessions: SessionWindows
    let emit: WindowEmission

    var body: Topology {
        Source("in", value: .string)
            .groupByKey()
            .sessionWindowed(by: sessions)
            .aggregate(store: "sessions", initial: [Int](), value: .json([Int].self), emit: emit,
                       add: { ids, record in ids + [Int(record.value) ?? -1] }, merge: { older, newer in older + newer })
            .map { window, ids in (window.key, WindowOut(key: window.key, start: window.start, end: window.end, ids: ids)) }
            .sink("out", value: .json(WindowOut.self))
    }
}

/// Session counts, for the `count` convenience.
struct SessionCountPipeline: PipelineDefinition {
    let name = "session-count"
    let summary = "test: records per session"
    let sessions: SessionWindows
    let emit: WindowEmission

    var body: Topology {
        Source("in", value: .string)
            .groupByKey()
            .sessionWindowed(by: sessions)
            .count(store: "sessions", emit: emit)
            .map { window, count in (window.key, WindowOut(key: window.key, start: window.start, end: window.end, ids: [Int(count)])) }
            .sink("out", value: .json(WindowOut.self))
    }
}

/// One input record of a window test: its key, event time and id (its offset in `in`).
struct TimedEvent: CustomStringConvertible {
    var key: String
    var time: Int64
    var id: Int
    var description: String { "\(key)@\(time)#\(id)" }
}

enum WindowTesting {
    /// A seeded sequence of events over a few keys: mostly forward in time, some out of order, a
    /// few far behind (late), now and then one before the epoch.
    static func events(seed: UInt64, count: Int = 80, keys: [String] = ["a", "b", "c"]) -> [TimedEvent] {
        var random = SeededRandom(seed: seed)
        var clock = Int64(random.next() % 20)
        return (0..<count).map { id in
            clock += Int64(random.next() % 5)
            var time = clock - Int64(random.next() % 8)
            if random.next() % 10 == 0 { time -= Int64(random.next() % 40) }
            if random.next() % 60 == 0 { time = -1 }
            return TimedEvent(key: keys[Int(random.next() % UInt64(keys.count))], time: time, id: id)
        }
    }

    /// Sends `events` (the id as the value) through `driver`, in order.
    static func send(_ events: [TimedEvent], to driver: PipelineTestDriver) {
        for event in events { driver.sendRaw(to: "in", key: event.key, value: String(event.id), timestamp: event.time) }
    }

    /// The offsets (ids) of the records that failed, all as process-stage `LateRecord`s, or nil
    /// when a failure is of another kind.
    static func lateIDs(_ driver: PipelineTestDriver) -> [Int]? {
        guard driver.failures.allSatisfy({ $0.stage == .process && $0.errorType == "LateRecord" }) else { return nil }
        return driver.failures.map { Int($0.source?.offset ?? -1) }
    }

    /// For every window emitted final, the last update emitted for it with `.onUpdate` must carry
    /// the same records: both modes compute the same windows. Returns the windows that disagree.
    static func finalDisagreesWithUpdates(final: [WindowOut], updates: [WindowOut]) -> [WindowOut] {
        var last: [String: WindowOut] = [:]
        for update in updates { last["\(update.key)/\(update.start)/\(update.end)"] = update }
        return final.filter { last["\($0.key)/\($0.start)/\($0.end)"] != $0 }
    }

    /// True when `a` sorts before `b` as key bytes do.
    static func bytewise(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }
}
