import Testing
import EngineTestSupport
import Simulation
import StreamCore
import LogStorage
@testable import KafkaBroker

@Suite("Consumer groups end to end on a manual clock")
struct ConsumerGroupScenarioTests {
    @Test("three consumers split six partitions; one stops heartbeating, and after its session timeout the survivors take its partitions and resume from its committed offsets")
    func survivorsTakeOverAfterSessionTimeout() throws {
        var harness = try ServiceHarness()
        var consumers = [TestConsumer("consumer-a"), TestConsumer("consumer-b"), TestConsumer("consumer-c")]
        let first = harness.rebalance(&consumers)
        #expect(first.map(\.count) == [2, 2, 2])
        #expect(first.flatMap { $0 }.sorted() == [0, 1, 2, 3, 4, 5], "every partition owned exactly once")
        #expect(harness.service.describeGroups([harness.group]).first?.groupState == "Stable")
        // Each consumer has read some records and commits where it is (next offset 100 + p).
        for (index, partitions) in first.enumerated() {
            let offsets = Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(100) + Int64($0)) })
            #expect(harness.commit(consumers[index], offsets) == [.none, .none])
        }
        let dead = 2
        let session = Int64(consumers[0].sessionTimeoutMilliseconds)
        // consumer-c is SIGKILLed: it sends nothing more. The others heartbeat every 3 s.
        var rebalancing = false
        for _ in 0..<Int(session / 3_000) + 1 {
            harness.advance(by: 3_000)
            let answers = [harness.heartbeat(consumers[0]), harness.heartbeat(consumers[1])]
            if answers.contains(.rebalanceInProgress) { rebalancing = true; break }
            #expect(answers == [.none, .none])
        }
        #expect(rebalancing, "the dead member's session expired and the group rebalanced")
        #expect(harness.engine.clock.monotonicNanoseconds() / 1_000_000 >= UInt64(session), "not before its session timeout")
        var survivors = [consumers[0], consumers[1]]
        let second = harness.rebalance(&survivors)
        #expect(second.map(\.count) == [3, 3])
        #expect(second.flatMap { $0 }.sorted() == [0, 1, 2, 3, 4, 5], "the dead member's partitions were taken over")
        #expect(survivors[0].generationID == consumers[0].generationID + 1)
        let inherited = first[dead]
        #expect(inherited.allSatisfy { partition in second.contains { $0.contains(partition) } })
        // The survivors resume where the dead member had committed: nothing lost, nothing re-read.
        #expect(harness.fetch(inherited) == inherited.map { 100 + Int64($0) })
        #expect(harness.fetch([0, 1, 2, 3, 4, 5]) == (0..<6).map { 100 + Int64($0) })
        // The dead member, were it a zombie, can no longer commit.
        #expect(harness.commit(consumers[dead], [inherited[0]: 999]) == [.unknownMemberId])
        #expect(harness.engineCommitted(inherited[0]) == 100 + Int64(inherited[0]))
        #expect(harness.effects.answeredTwice.isEmpty)
    }
}
