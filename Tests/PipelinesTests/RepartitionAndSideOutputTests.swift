import Foundation
import Testing
import Sluice
import StreamCore

/// A page view keyed by user, re-keyed by page for counting.
struct PageView: Codable, Sendable, Equatable {
    var user: String
    var page: String
}

/// Counts views per page from a topic keyed by user: the count must repartition by page.
struct PageViewCounts: PipelineDefinition {
    let name = "page-view-counts"
    let summary = "views per page"
    var body: Topology {
        Source("views", value: .json(PageView.self))
            .sideOutput(to: "bot-views", value: .json(PageView.self)) { _, view in view.user.hasPrefix("bot") }
            .key(by: \.page)
            .groupByKey()
            .count(store: "views-per-page")
            .mapValues { String($0) }
            .sink("page-counts", value: .string)
    }
}

@Suite("repartitioning and side outputs, in the test driver")
struct RepartitionAndSideOutputTests {
    @Test("re-keying before a count goes through one repartition topic named after the pipeline")
    func repartitionTopic() {
        let topology = PageViewCounts().topology
        #expect(topology.internalTopics.count == 1)
        let topic = topology.internalTopics.first ?? ""
        #expect(topic.hasPrefix("page-view-counts-") && topic.hasSuffix("-repartition"), "\(topic)")
        #expect(topology.sourceTopics == ["views", topic])
        #expect(topology.sinkTopics.sorted() == ["bot-views", "page-counts", topic].sorted())
    }

    @Test("counts per page are exact and each page is owned by one partition (seeded)", arguments: [1, 4] as [Int], [1, 2, 3] as [UInt64])
    func countsAfterRepartition(partitions: Int, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let driver = PipelineTestDriver(PageViewCounts(), partitions: partitions)
        var expected: [String: Int] = [:]
        var bots = 0
        for _ in 0..<400 {
            let user = random.next() % 10 == 0 ? "bot-\(random.next() % 3)" : "user-\(random.next() % 50)"
            let page = "/page/\(random.next() % 12)"
            try driver.send(to: "views", key: user, value: PageView(user: user, page: page))
            if user.hasPrefix("bot") { bots += 1 } else { expected[page, default: 0] += 1 }
        }
        #expect(driver.failures.isEmpty)
        var updates: [String: [Int]] = [:]
        for record in driver.records(in: "page-counts") {
            updates[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(Int(String(decoding: record.value ?? [], as: UTF8.self)) ?? -1)
        }
        for (page, count) in expected {
            #expect(updates[page] == Array(1...count), "page \(page), seed \(seed): one running count per page, from one owner")
        }
        #expect(updates.count == expected.count)
        #expect(driver.records(in: "bot-views").count == bots, "bot views go to the side output only")
        let repartition = PageViewCounts().topology.internalTopics[0]
        for record in driver.records(in: repartition) {
            #expect(record.key.map { String(decoding: $0, as: UTF8.self).hasPrefix("/page/") } == true, "repartitioned by page")
        }
        #expect(driver.records(in: repartition).count == 400 - bots)
    }
}
