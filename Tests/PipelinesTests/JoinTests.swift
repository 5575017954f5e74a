import Foundation
import Testing
import Sluice
import RecordFormat
import StreamCore

/// Joins two tables three ways into three topics.
struct TableJoins: PipelineDefinition {
    let name = "table-joins"
    let summary = "a ⋈ b"
    var body: Topology {
        let left = Table("a", value: .string, store: "a")
        let right = Table("b", value: .string, store: "b")
        left.join(right) { "\($0)|\($1)" }.sink("inner", value: .string)
        left.leftJoin(right) { "\($0)|\($1 ?? "-")" }.sink("left", value: .string)
        left.outerJoin(right) { "\($0 ?? "-")|\($1 ?? "-")" }.sink("outer", value: .string)
    }
}

/// Joins clicks with views of the same user within ten seconds (two seconds of grace).
struct ClickViewJoin: PipelineDefinition {
    let name = "click-view-join"
    let summary = "clicks ⋈ views within 10 s"
    var body: Topology {
        Source("clicks", value: .string)
            .join(Source("views", value: .string), within: .seconds(10), grace: .seconds(2), key: .string, store: "click-view") { "\($0)+\($1)" }
            .sink("click-views", value: .string)
    }
}

@Suite("table–table and stream–stream joins, in the test driver")
struct JoinTests {
    /// The last value written per key: nil for a tombstone.
    func lastValues(_ records: [RawRecord]) -> [String: String?] {
        var result: [String: String?] = [:]
        for record in records { result[String(decoding: record.key ?? [], as: UTF8.self)] = record.value.map { String(decoding: $0, as: UTF8.self) } }
        return result
    }

    @Test("each joined topic, read as a table, equals the join of the final tables (seeded)", arguments: [1, 3] as [Int], [1, 2, 3, 4] as [UInt64])
    func tableJoinsMatchTheJoinOfTheFinalTables(partitions: Int, seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let driver = PipelineTestDriver(TableJoins(), partitions: partitions)
        var a: [String: String] = [:]
        var b: [String: String] = [:]
        for step in 0..<300 {
            let key = "k\(random.next() % 15)"
            let toA = random.next() % 2 == 0
            if random.next() % 4 == 0 {
                driver.sendTombstone(to: toA ? "a" : "b", key: key)
                if toA { a[key] = nil } else { b[key] = nil }
            } else {
                let value = "v\(step)"
                driver.sendRaw(to: toA ? "a" : "b", key: key, value: value)
                if toA { a[key] = value } else { b[key] = value }
            }
        }
        #expect(driver.failures.isEmpty)
        let keys = Set(a.keys).union(b.keys)
        func live(_ topic: String) -> [String: String] { lastValues(driver.records(in: topic)).compactMapValues { $0 } }
        var inner: [String: String] = [:], left: [String: String] = [:], outer: [String: String] = [:]
        for key in keys {
            if let l = a[key], let r = b[key] { inner[key] = "\(l)|\(r)" }
            if let l = a[key] { left[key] = "\(l)|\(b[key] ?? "-")" }
            outer[key] = "\(a[key] ?? "-")|\(b[key] ?? "-")"
        }
        #expect(live("inner") == inner, "seed \(seed)")
        #expect(live("left") == left, "seed \(seed)")
        #expect(live("outer") == outer, "seed \(seed)")
    }

    @Test("a deleted key is deleted from the joined table with a tombstone")
    func deletionsPropagate() {
        let driver = PipelineTestDriver(TableJoins())
        driver.sendRaw(to: "a", key: "k", value: "1")
        driver.sendRaw(to: "b", key: "k", value: "2")
        driver.sendTombstone(to: "b", key: "k")
        #expect(driver.records(in: "inner").map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["1|2", nil])
        #expect(driver.records(in: "left").map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["1|-", "1|2", "1|-"])
    }

    /// Sends clicks and views at random times (some out of order, some late) and checks the
    /// joined pairs equal a reference: every pair of on-time records of a user at most 10 s
    /// apart, once; late records (time + 10 s + 2 s grace before the watermark) refused.
    @Test("stream–stream join emits every on-time pair within the window exactly once (seeded)", arguments: [1, 2] as [Int], [5, 6, 7, 8, 9] as [UInt64])
    func streamJoinMatchesReference(partitions: Int, seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let driver = PipelineTestDriver(ClickViewJoin(), partitions: partitions)
        var watermarks: [Int: Int64] = [:]
        var onTime: [(side: Int, user: String, name: String, time: Int64)] = []
        var late = 0
        var clock: Int64 = 1_000_000
        for index in 0..<300 {
            clock += Int64(random.next() % 1500)
            let time = clock - Int64(random.next() % 5) * (random.next() % 3 == 0 ? 4000 : 0)
            let user = "u\(random.next() % 6)"
            let side = Int(random.next() % 2)
            let name = "\(side == 0 ? "c" : "v")\(index)"
            driver.sendRaw(to: side == 0 ? "clicks" : "views", key: user, value: name, timestamp: time)
            let owner = Self.partition(of: user, partitions: partitions)
            let watermark = watermarks[owner] ?? Int64.min
            if watermark != Int64.min && time + 12_000 < watermark {
                late += 1
            } else {
                onTime.append((side, user, name, time))
                watermarks[owner] = max(watermark, time)
            }
        }
        var expected: [String] = []
        for click in onTime where click.side == 0 {
            for view in onTime where view.side == 1 && view.user == click.user && abs(view.time - click.time) <= 10_000 {
                expected.append("\(click.name)+\(view.name)")
            }
        }
        let joined = driver.records(in: "click-views").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(joined.sorted() == expected.sorted(), "seed \(seed)")
        #expect(driver.failures.count == late, "seed \(seed)")
        #expect(driver.failures.allSatisfy { $0.errorType == "LateRecord" && $0.stage == .process })
    }

    @Test("the join buffer forgets records no on-time record can reach")
    func bufferExpires() {
        let driver = PipelineTestDriver(ClickViewJoin())
        for second in 0..<100 { driver.sendRaw(to: "clicks", key: "u", value: "c\(second)", timestamp: Int64(second) * 1000) }
        // Records older than the watermark (99 s) minus 2 × 10 s minus 2 s grace are gone:
        // 77 s … 99 s stay, each with its index entry, plus the sequence and the watermark.
        #expect(driver.store("click-view").count == 23 * 2 + 2)
    }

    static func partition(of key: String, partitions: Int) -> Int {
        Int(Murmur2Partitioner.partition(forKey: Array(key.utf8), partitionCount: partitions).rawValue)
    }
}
