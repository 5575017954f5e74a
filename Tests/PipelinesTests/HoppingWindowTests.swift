import Foundation
import Testing
import Sluice
import StreamCore

@Suite("hopping windows")
struct HoppingWindowTests {
    /// A brute-force model: every window a record belongs to, judged open or closed one by one.
    struct Model {
        let size: Int64
        let advance: Int64
        let grace: Int64
        var final: [WindowOut] = []
        var updates: [WindowOut] = []
        var late: [Int] = []
        private var watermark = Int64.min
        private var open: [Int64: [String: [Int]]] = [:]

        init(size: Int64, advance: Int64, grace: Int64) {
            self.size = size
            self.advance = advance
            self.grace = grace
        }

        mutating func add(_ event: TimedEvent) {
            let starts = stride(from: 0, through: max(event.time, 0), by: Int(advance)).map { Int64($0) }
                .filter { $0 <= event.time && event.time < $0 + size }
            let open = starts.filter { watermark == Int64.min || $0 + size + grace > watermark }
            guard event.time >= 0, !open.isEmpty else { late.append(event.id); return }
            for start in open {
                self.open[start, default: [:]][event.key, default: []].append(event.id)
                updates.append(WindowOut(key: event.key, start: start, end: start + size, ids: self.open[start]![event.key]!))
            }
            guard event.time > watermark else { return }
            watermark = event.time
            for start in self.open.keys.sorted() where start + size + grace <= watermark {
                for (key, ids) in self.open[start]!.sorted(by: { WindowTesting.bytewise($0.key, $1.key) }) {
                    final.append(WindowOut(key: key, start: start, end: start + size, ids: ids))
                }
                self.open[start] = nil
            }
        }
    }

    @Test("a record belongs to every window [start, start + size) holding it, none before the epoch")
    func membershipAtEdges() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: .hopping(size: .milliseconds(10), advance: .milliseconds(5)), emit: .onUpdate))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 4)
        driver.sendRaw(to: "in", key: "a", value: "1", timestamp: 9)
        driver.sendRaw(to: "in", key: "a", value: "2", timestamp: 10)
        let out = try driver.read(from: "out", as: WindowOut.self)
        #expect(out == [
            WindowOut(key: "a", start: 0, end: 10, ids: [0]),
            WindowOut(key: "a", start: 0, end: 10, ids: [0, 1]), WindowOut(key: "a", start: 5, end: 15, ids: [1]),
            WindowOut(key: "a", start: 5, end: 15, ids: [1, 2]), WindowOut(key: "a", start: 10, end: 20, ids: [2]),
        ])
        #expect(driver.failures.isEmpty)
    }

    @Test("advance == size is tumbling, window for window")
    func advanceEqualToSizeIsTumbling() throws {
        #expect(Windows.hopping(size: .seconds(60), advance: .seconds(60), grace: .seconds(10)) == .tumbling(.seconds(60), grace: .seconds(10)))
        let events = WindowTesting.events(seed: 7)
        var outputs: [[WindowOut]] = []
        for windows in [Windows.tumbling(.milliseconds(7), grace: .milliseconds(2)),
                        .hopping(size: .milliseconds(7), advance: .milliseconds(7), grace: .milliseconds(2))] {
            let driver = PipelineTestDriver(WindowIDsPipeline(windows: windows, emit: .final))
            WindowTesting.send(events, to: driver)
            outputs.append(try driver.read(from: "out", as: WindowOut.self))
        }
        #expect(!outputs[0].isEmpty)
        #expect(outputs[0] == outputs[1])
    }

    @Test("a record is added to its open windows only, and late when all have closed")
    func graceAndLateRecords() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(
            windows: .hopping(size: .milliseconds(10), advance: .milliseconds(5), grace: .milliseconds(2)), emit: .onUpdate))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 21)
        // 13 is in [5, 15) (closed: 15 + 2 <= 21) and [10, 20) (open: 20 + 2 > 21).
        driver.sendRaw(to: "in", key: "a", value: "1", timestamp: 13)
        // 9 is in [0, 10) and [5, 15), both closed.
        driver.sendRaw(to: "in", key: "a", value: "2", timestamp: 9)
        let out = try driver.read(from: "out", as: WindowOut.self)
        #expect(out.suffix(1) == [WindowOut(key: "a", start: 10, end: 20, ids: [1])])
        #expect(driver.failures.count == 1)
        #expect(driver.failures.first?.stage == .process)
        #expect(driver.failures.first?.errorType == "LateRecord")
        #expect(driver.failures.first?.source?.offset == 2)
    }

    @Test("final emits each window once, when it closes, and deletes it")
    func finalAndCleanup() throws {
        let driver = PipelineTestDriver(WindowIDsPipeline(windows: .hopping(size: .milliseconds(10), advance: .milliseconds(5)), emit: .final))
        driver.sendRaw(to: "in", key: "a", value: "0", timestamp: 7)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [])
        driver.sendRaw(to: "in", key: "a", value: "1", timestamp: 14)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [WindowOut(key: "a", start: 0, end: 10, ids: [0])])
        driver.sendRaw(to: "in", key: "b", value: "2", timestamp: 15)
        #expect(try driver.read(from: "out", as: WindowOut.self).count == 2)
        driver.sendRaw(to: "in", key: "b", value: "3", timestamp: 100)
        #expect(try driver.read(from: "out", as: WindowOut.self) == [
            WindowOut(key: "a", start: 0, end: 10, ids: [0]),
            WindowOut(key: "a", start: 5, end: 15, ids: [0, 1]),
            WindowOut(key: "a", start: 10, end: 20, ids: [1]), WindowOut(key: "b", start: 10, end: 20, ids: [2]),
            WindowOut(key: "b", start: 15, end: 25, ids: [2]),
        ])
        // Only the watermark and the two open windows of b's record at 100 remain.
        let store = driver.store("windows")
        #expect(store.count == 3)
        #expect(store[[0xFF] + Array("watermark".utf8)] != nil)
    }

    @Test("matches a brute-force model over random inputs", arguments: 0..<50)
    func randomizedAgainstModel(seed: UInt64) throws {
        var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        let size = Int64(1 + random.next() % 15)
        let advance = Int64(1 + random.next() % UInt64(size))
        let grace = Int64(random.next() % 6)
        let windows = Windows.hopping(size: .milliseconds(size), advance: .milliseconds(advance), grace: .milliseconds(grace))
        let events = WindowTesting.events(seed: seed)
        var model = Model(size: size, advance: advance, grace: grace)
        for event in events { model.add(event) }
        for emit in [WindowEmission.final, .onUpdate] {
            let driver = PipelineTestDriver(WindowIDsPipeline(windows: windows, emit: emit))
            WindowTesting.send(events, to: driver)
            let out = try driver.read(from: "out", as: WindowOut.self)
            #expect(out == (emit == .final ? model.final : model.updates), "seed \(seed), \(windows), \(emit), events \(events)")
            #expect(WindowTesting.lateIDs(driver) == model.late, "seed \(seed)")
            // In both modes the store keeps only windows still open at the final watermark.
            let entries = driver.store("windows")
            let watermarkKey: [UInt8] = [0xFF] + Array("watermark".utf8)
            let watermark = entries[watermarkKey].map { $0.reduce(Int64(0)) { $0 << 8 | Int64($1) } } ?? Int64.min
            for key in entries.keys where key != watermarkKey {
                let start = key.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
                #expect(start + size + grace > watermark, "seed \(seed), \(emit): closed window \(start) is still stored")
            }
        }
        #expect(!model.final.isEmpty, "seed \(seed): the inputs should close some window")
    }
}
