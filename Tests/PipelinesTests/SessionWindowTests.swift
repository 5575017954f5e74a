import Foundation
import Testing
import Sluice
import StreamCore

@Suite("session windows")
struct SessionWindowTests {
    /// A brute-force model: each key's sessions as lists of ids, merged oldest first, kept after
    /// they close (a record within the gap of a closed session is late).
    struct Model {
        struct Session {
            var first: Int64
            var last: Int64
            var ids: [Int]
        }

        let gap: Int64
        let grace: Int64
        var final: [WindowOut] = []
        var late: [Int] = []
        private var watermark = Int64.min
        private var sessions: [String: [Session]] = [:]

        init(gap: Int64, grace: Int64) {
            self.gap = gap
            self.grace = grace
        }

        func isClosed(last: Int64, at watermark: Int64) -> Bool {
            watermark != Int64.min && last + 1 + gap + grace <= watermark
        }

        mutating func add(_ event: TimedEvent) {
            let mine = sessions[event.key, default: []]
            let joined = mine.filter { $0.last >= event.time - gap && $0.first <= event.time + gap }.sorted { $0.first < $1.first }
            if event.time < 0 || isClosed(last: event.time, at: watermark) || joined.contains(where: { isClosed(last: $0.last, at: watermark) }) {
                late.append(event.id)
                return
            }
            let merged = Session(first: min(event.time, joined.first?.first ?? event.time), last: max(event.time, joined.last?.last ?? event.time),
                                 ids: joined.flatMap(\.ids) + [event.id])
            sessions[event.key] = mine.filter { session in !joined.contains { $0.first == session.first } } + [merged]
            guard event.time > watermark else { return }
            let previous = watermark
            watermark = event.time
            var closing: [WindowOut] = []
            for (key, list) in sessions {
                for session in list where isClosed(last: session.last, at: watermark) && !isClosed(last: session.last, at: previous) {
                    closing.append(WindowOut(key: key, start: session.first, end: session.last + 1, ids: session.ids))
                }
            }
            final += closing.sorted { $0.end != $1.end ? $0.end < $1.end : WindowTesting.bytewise($0.key, $1.key) }
        }
    }

    @Test("a record bridging two sessions merges them; the gap is inclusive")
    func mergeBridgedSessions() throws {
        // Grace keeps [0, 0] open (until 0 + 1 + 10 + 20) when the record at 20 arrives.
        let sessions = SessionWindows.withInactivityGap(.milliseconds(10), grace: .milliseconds(20))
        let driver = PipelineTestDriver(SessionIDsPipeline(sessions: sessions, emit: .onUpdate))
        WindowTesting.send([TimedEvent(key: "a", time: 0, id: 0), TimedEvent(key: "a", time: 20, id: 1),
                            TimedEvent(key: "a", time: 10, id: 2), TimedEvent(key: "a", time: 31, id: 3)], to: driver)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "a", start: 0, end: 1, ids: [0]),
            WindowOut(key: "a", start: 20, end: 21, ids: [1]),
            WindowOut(key: "a", start: 0, end: 21, ids: [0, 1, 2]),
            WindowOut(key: "a", start: 31, end: 32, ids: [3]),
        ])
        #expect(driver.failures.isEmpty)
        // Two sessions of a ([0, 20] and [31, 31]): an entry and an index entry each, and the watermark.
        #expect(driver.store("sessions").count == 5)
    }

    @Test("count merges counts")
    func countMerges() throws {
        let sessions = SessionWindows.withInactivityGap(.milliseconds(10), grace: .milliseconds(20))
        let driver = PipelineTestDriver(SessionCountPipeline(sessions: sessions, emit: .final))
        WindowTesting.send([TimedEvent(key: "a", time: 0, id: 0), TimedEvent(key: "a", time: 5, id: 1), TimedEvent(key: "a", time: 20, id: 2),
                            TimedEvent(key: "a", time: 12, id: 3), TimedEvent(key: "b", time: 100, id: 4)], to: driver)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [WindowOut(key: "a", start: 0, end: 21, ids: [4])])
    }

    @Test("a session closes at last + 1 + gap + grace, is emitted once and later deleted")
    func closeAndCleanup() throws {
        let driver = PipelineTestDriver(SessionIDsPipeline(sessions: .withInactivityGap(.milliseconds(10), grace: .milliseconds(5)), emit: .final))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 50)
        driver.sendRaw(to: "in", key: "b", value: "1", timestamp: 65)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [], "50 + 1 + 10 + 5 > 65")
        driver.sendRaw(to: "in", key: "b", value: "2", timestamp: 66)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [WindowOut(key: "a", start: 50, end: 51, ids: [0])])
        #expect(driver.store("sessions").count == 5, "a's closed session stays while a record could still be within its gap")
        driver.sendRaw(to: "in", key: "c", value: "3", timestamp: 1000)
        #expect(try driver.read(from: "out", as: WindowOut.self).count == 2)
        let store = driver.store("sessions")
        #expect(store.count == 3, "c's session, its index entry and the watermark: \(store.keys)")
        #expect(store[[0xFF] + Array("watermark".utf8)] != nil)
    }

    @Test("a record is late when its own session has closed or when it would join a closed session")
    func lateRecords() throws {
        let driver = PipelineTestDriver(SessionIDsPipeline(sessions: .withInactivityGap(.milliseconds(10)), emit: .final))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 50)
        driver.sendRaw(to: "in", key: "b", value: "1", timestamp: 62)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [WindowOut(key: "a", start: 50, end: 51, ids: [0])])
        driver.sendRaw(to: "in", key: "a", value: "2", timestamp: 58)   // within 10 of a's closed [50, 50]
        driver.sendRaw(to: "in", key: "c", value: "3", timestamp: 51)   // 51 + 1 + 10 <= 62
        driver.sendRaw(to: "in", key: "c", value: "4", timestamp: 52)   // in time, a session of its own
        #expect(WindowTesting.lateIDs(driver) == [2, 3])
        #expect(driver.failures.allSatisfy { $0.operatorName == "sessions" })
        driver.sendRaw(to: "in", key: "b", value: "5", timestamp: 200)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "a", start: 50, end: 51, ids: [0]), WindowOut(key: "c", start: 52, end: 53, ids: [4]),
            WindowOut(key: "b", start: 62, end: 63, ids: [1]),
        ])
    }

    @Test("matches a brute-force model over random inputs", arguments: 0..<50)
    func randomizedAgainstModel(seed: UInt64) throws {
        var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        let gap = Int64(2 + random.next() % 8)
        let grace = Int64(random.next() % 6)
        let sessions = SessionWindows.withInactivityGap(.milliseconds(gap), grace: .milliseconds(grace))
        var events = WindowTesting.events(seed: seed)
        events.append(TimedEvent(key: "z", time: (events.map(\.time).max() ?? 0) + 1000, id: events.count))
        var model = Model(gap: gap, grace: grace)
        for event in events { model.add(event) }
        let final = PipelineTestDriver(SessionIDsPipeline(sessions: sessions, emit: .final))
        WindowTesting.send(events, to: final)
        let emitted = try final.read(from: "out", as: WindowOut.self)
        #expect(emitted == model.final, "seed \(seed), gap \(gap), grace \(grace), events \(events)")
        #expect(WindowTesting.lateIDs(final) == model.late, "seed \(seed)")
        #expect(final.store("sessions").count == 3, "seed \(seed): everything closed and purged but z's session")
        let updates = PipelineTestDriver(SessionIDsPipeline(sessions: sessions, emit: .onUpdate))
        WindowTesting.send(events, to: updates)
        #expect(WindowTesting.finalDisagreesWithUpdates(final: emitted, updates: try updates.read(from: "out", as: WindowOut.self)) == [],
                "seed \(seed)")
        #expect(model.final.count > 5, "seed \(seed): the inputs should close sessions")
        #expect(model.final.contains { $0.ids.count > 1 }, "seed \(seed): some sessions should hold several records")
    }
}
