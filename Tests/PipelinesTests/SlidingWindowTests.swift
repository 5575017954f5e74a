import Foundation
import Testing
import Sluice
import StreamCore

@Suite("sliding windows")
struct SlidingWindowTests {
    /// A brute-force model of Kafka's sliding windows: whenever the watermark advances, every
    /// window defined by the records accepted so far (the left window [t - d, t] of each, the
    /// right window [t + 1, t + 1 + d] of each with a later record within it) that closes now is
    /// emitted with all the accepted records within it, in arrival order.
    struct Model {
        let difference: Int64
        let grace: Int64
        var final: [WindowOut] = []
        var late: [Int] = []
        private var watermark = Int64.min
        private var accepted: [TimedEvent] = []

        init(difference: Int64, grace: Int64) {
            self.difference = difference
            self.grace = grace
        }

        mutating func add(_ event: TimedEvent) {
            let size = difference + 1
            if event.time < 0 || (watermark != Int64.min && event.time + size + grace <= watermark) {
                late.append(event.id)
                return
            }
            accepted.append(event)
            guard event.time > watermark else { return }
            let previous = watermark
            watermark = event.time
            var closing: [WindowOut] = []
            for key in Set(accepted.map(\.key)) {
                let events = accepted.filter { $0.key == key }
                var starts = Set(events.map { $0.time - difference })
                for event in events where events.contains(where: { $0.time > event.time && $0.time <= event.time + 1 + difference }) {
                    starts.insert(event.time + 1)
                }
                for start in starts where start + size + grace <= watermark && (previous == Int64.min || start + size + grace > previous) {
                    let ids = events.filter { $0.time >= start && $0.time <= start + difference }.map(\.id)
                    closing.append(WindowOut(key: key, start: start, end: start + size, ids: ids))
                }
            }
            final += closing.sorted { $0.start != $1.start ? $0.start < $1.start : WindowTesting.bytewise($0.key, $1.key) }
        }
    }

    @Test("Kafka's documented example: five windows for three records")
    func kafkaExample() throws {
        let events = [TimedEvent(key: "A", time: 8000, id: 0), TimedEvent(key: "A", time: 9200, id: 1),
                      TimedEvent(key: "A", time: 12400, id: 2), TimedEvent(key: "B", time: 100_000, id: 3)]
        let final = PipelineTestDriver(WindowIDsPipeline(windows: .sliding(timeDifference: .seconds(5)), emit: .final))
        WindowTesting.send(events, to: final)
        #expect(try final.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "A", start: 3000, end: 8001, ids: [0]),
            WindowOut(key: "A", start: 4200, end: 9201, ids: [0, 1]),
            WindowOut(key: "A", start: 7400, end: 12401, ids: [0, 1, 2]),
            WindowOut(key: "A", start: 8001, end: 13002, ids: [1, 2]),
            WindowOut(key: "A", start: 9201, end: 14202, ids: [2]),
        ])
        let updates = PipelineTestDriver(WindowIDsPipeline(windows: .sliding(timeDifference: .seconds(5)), emit: .onUpdate))
        WindowTesting.send(Array(events.prefix(3)), to: updates)
        #expect(try updates.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "A", start: 3000, end: 8001, ids: [0]),
            WindowOut(key: "A", start: 4200, end: 9201, ids: [0, 1]), WindowOut(key: "A", start: 8001, end: 13002, ids: [1]),
            WindowOut(key: "A", start: 7400, end: 12401, ids: [0, 1, 2]), WindowOut(key: "A", start: 8001, end: 13002, ids: [1, 2]),
            WindowOut(key: "A", start: 9201, end: 14202, ids: [2]),
        ])
    }

    @Test("both ends are inclusive; windows may start before the epoch")
    func inclusiveEdges() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: .sliding(timeDifference: .milliseconds(10)), emit: .final))
        WindowTesting.send([TimedEvent(key: "a", time: 0, id: 0), TimedEvent(key: "a", time: 10, id: 1),
                            TimedEvent(key: "a", time: 11, id: 2), TimedEvent(key: "b", time: 1000, id: 3)], to: driver)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "a", start: -10, end: 1, ids: [0]),
            WindowOut(key: "a", start: 0, end: 11, ids: [0, 1]),
            WindowOut(key: "a", start: 1, end: 12, ids: [1, 2]),
            WindowOut(key: "a", start: 11, end: 22, ids: [2]),
        ])
        #expect(driver.failures.isEmpty)
    }

    @Test("a record is late once [t, t + d] has closed; closed windows are not emitted again")
    func lateRecords() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: .sliding(timeDifference: .milliseconds(10)), emit: .onUpdate))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 100)
        // 95's left window [85, 95] has closed; [90, 100] and its right window [96, 106] are open.
        driver.sendRaw(to: "in", key: "a", value: "1", timestamp: 95)
        // [89, 99] has closed (99 + 1 <= 100): late.
        driver.sendRaw(to: "in", key: "a", value: "2", timestamp: 89)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "a", start: 90, end: 101, ids: [0]),
            WindowOut(key: "a", start: 90, end: 101, ids: [0, 1]), WindowOut(key: "a", start: 96, end: 107, ids: [0]),
        ])
        #expect(WindowTesting.lateIDs(driver) == [2])
        #expect(driver.failures.first?.operatorName == "windows")
    }

    @Test("grace keeps windows open; a window closed before its record arrives is never emitted", arguments: [0, 5])
    func grace(graceMilliseconds: Int64) throws {
        let windows = Windows.sliding(timeDifference: .milliseconds(10), grace: .milliseconds(graceMilliseconds))
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: windows, emit: .final))
        WindowTesting.send([TimedEvent(key: "a", time: 97, id: 0), TimedEvent(key: "b", time: 100, id: 1),
                            TimedEvent(key: "a", time: 88, id: 2), TimedEvent(key: "c", time: 200, id: 3)], to: driver)
        if graceMilliseconds == 0 {
            #expect(WindowTesting.lateIDs(driver) == [2], "[88, 98] closed at 98 + 1 <= 100")
            #expect(try driver.read(from: "out", as: WindowOut.self) == [
                WindowOut(key: "a", start: 87, end: 98, ids: [0]), WindowOut(key: "b", start: 90, end: 101, ids: [1]),
            ])
        } else {
            // 88's left window [78, 88] had closed (88 + 1 + 5 <= 100); [87, 97] and 88's right window
            // [89, 99] had not.
            #expect(driver.failures.isEmpty)
            #expect(try driver.read(from: "out", as: WindowOut.self) == [
                WindowOut(key: "a", start: 87, end: 98, ids: [0, 2]), WindowOut(key: "a", start: 89, end: 100, ids: [0]),
                WindowOut(key: "b", start: 90, end: 101, ids: [1]),
            ])
        }
    }

    @Test("after the watermark moves on, the store holds only the watermark and open windows")
    func cleanup() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: .sliding(timeDifference: .milliseconds(10)), emit: .final))
        WindowTesting.send([TimedEvent(key: "a", time: 0, id: 0), TimedEvent(key: "a", time: 5, id: 1)], to: driver)
        #expect(driver.store("windows").count == 7, "3 windows (2 left, 1 right), each with an index entry, and the watermark")
        driver.sendRaw(to: "in", key: "b", value: "2", timestamp: 1000)
        #expect(try driver.read(from: "out", as: WindowOut.self).count == 3)
        let store = driver.store("windows")
        #expect(store.count == 3, "b's left window, its index entry and the watermark: \(store.keys)")
        #expect(store[[0xFF] + Array("watermark".utf8)] != nil)
    }

    @Test("matches a brute-force model over random inputs", arguments: 0..<50)
    func randomizedAgainstModel(seed: UInt64) throws {
        var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        let difference = Int64(random.next() % 13)
        let grace = Int64(random.next() % 6)
        let windows = Windows.sliding(timeDifference: .milliseconds(difference), grace: .milliseconds(grace))
        var events = WindowTesting.events(seed: seed)
        events.append(TimedEvent(key: "z", time: (events.map(\.time).max() ?? 0) + 1000, id: events.count))
        var model = Model(difference: difference, grace: grace)
        for event in events { model.add(event) }
        let final = PipelineTestDriver(WindowIDsPipeline(windows: windows, emit: .final))
        WindowTesting.send(events, to: final)
        let emitted = try final.read(from: "out", as: WindowOut.self)
        #expect(emitted == model.final, "seed \(seed), d \(difference), grace \(grace), events \(events)")
        #expect(WindowTesting.lateIDs(final) == model.late, "seed \(seed)")
        #expect(final.store("windows").count == 3, "seed \(seed): everything closed and purged but z's window")
        let updates = PipelineTestDriver(WindowIDsPipeline(windows: windows, emit: .onUpdate))
        WindowTesting.send(events, to: updates)
        #expect(WindowTesting.finalDisagreesWithUpdates(final: emitted, updates: try updates.read(from: "out", as: WindowOut.self)) == [],
                "seed \(seed)")
        #expect(WindowTesting.lateIDs(updates) == model.late, "seed \(seed)")
        #expect(model.final.count > 10, "seed \(seed): the inputs should close windows")
    }
}
