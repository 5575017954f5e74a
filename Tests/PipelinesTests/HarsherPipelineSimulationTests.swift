import Foundation
import Testing
import EngineTestSupport
import Sluice
import StreamCore
import LogStorage
import PipelineRuntime
import Simulation
@testable import pipeline

/// The pipeline simulation under the harsher simulator: the new disk fault modes, at-least-once
/// workers, retries in backoff, and workers interleaved in a seeded order or on real threads.
/// Each runs its own CI range of seeds (`SLUICE_SIMULATION_SEEDS=N` runs `N` from the same
/// start, `SLUICE_SIMULATION_SEED=S` replays one) and prints its totals.
@Suite("pipelines under the harsher simulator")
struct HarsherPipelineSimulationTests {
    /// order-totals, exactly-once, with any subset of unsynced pages lost (seeds 10001…10030)
    /// or unsynced directory entries lost (20001…20030).
    @Test("order-totals stays exactly-once when crashes lose unsynced pages or directory entries",
          arguments: ["pageLoss", "entryLoss"])
    func orderTotalsUnderHarsherFaults(mode: String) throws {
        let seeds = PipelineSimulationSeeds.seeds(ciCount: 30, first: mode == "pageLoss" ? 10_001 : 20_001)
        let totals = try Self.run(seeds, filter: "orderTotalsUnderHarsherFaults", label: "order-totals/\(mode)") { seed in
            PipelineSimulation(seed: seed, model: OrderTotalsModel()) { faults in
                if mode == "pageLoss" { faults.unsyncedPageLoss = true } else { faults.unsyncedEntryLoss = true }
            }
        }
        if SimulationSeeds.isRange(seeds) { #expect(totals.crashes > seeds.count) }
    }

    /// order-totals at-least-once under crashes (seeds 50001…50030): nothing is lost, every
    /// total is at least the fold of the committed input, duplicates are counted.
    @Test("at-least-once order-totals loses nothing under crashes and counts its duplicates")
    func atLeastOnceLosesNothing() throws {
        let seeds = PipelineSimulationSeeds.seeds(ciCount: 30, first: 50_001)
        var duplicates = (applied: 0, outputs: 0)
        let totals = try Self.run(seeds, filter: "atLeastOnceLosesNothing", label: "order-totals/at-least-once") { seed in
            PipelineSimulation(seed: seed, model: AtLeastOnceOrderTotalsModel(),
                               crashDraw: .init(operationsMax: 150, pointShare: 0.1, operationsShare: 0.8))
        } finished: { simulation in
            let model = simulation.model as! AtLeastOnceOrderTotalsModel
            duplicates.applied += model.duplicateApplications
            duplicates.outputs += model.duplicateOutputs
        }
        print("order-totals/at-least-once: \(duplicates.applied) orders applied twice or more, \(duplicates.outputs) duplicate output records")
        if SimulationSeeds.isRange(seeds) {
            #expect(totals.crashes > seeds.count)
            #expect(duplicates.applied > 0, "crashes between the changelog and the offsets commit should repeat records")
        }
    }

    /// A flaky operator retried with backoff on the simulated clock, crashed while records are in
    /// backoff (seeds 60001…60030): each record's output is committed exactly once.
    @Test("a record in backoff when the crash hits is neither lost nor applied twice")
    func retriesInBackoffSurviveCrashes() throws {
        let seeds = PipelineSimulationSeeds.seeds(ciCount: 30, first: 60_001)
        let totals = try Self.run(seeds, filter: "retriesInBackoffSurviveCrashes", label: "retries") { seed in
            PipelineSimulation(seed: seed, model: RetryingModel())
        }
        print("retries: \(totals.crashesInBackoff) crashes while a record was in backoff")
        if SimulationSeeds.isRange(seeds) {
            #expect(totals.crashes > seeds.count)
            #expect(totals.crashesInBackoff > 0, "some crashes must land while a record waits for its retry")
        }
    }

    /// order-buckets (every record crosses a repartition topic between workers) with the
    /// workers stepped one at a time in a seeded order (seeds 70001…70030), or each on its own
    /// thread with seeded pauses (80001…80020), against the one shared coordinator.
    @Test("workers interleaved in a seeded order or on threads stay exactly-once",
          arguments: [PipelineSimulation.Interleaving.seeded, .threads])
    func interleavedWorkersStayExactlyOnce(interleaving: PipelineSimulation.Interleaving) throws {
        let seeds = interleaving == .seeded
            ? PipelineSimulationSeeds.seeds(ciCount: 30, first: 70_001)
            : PipelineSimulationSeeds.seeds(ciCount: 20, first: 80_001)
        let totals = try Self.run(seeds, filter: "interleavedWorkersStayExactlyOnce", label: "order-buckets/\(interleaving)") { seed in
            PipelineSimulation(seed: seed, model: OrderBucketCountsModel(), interleaving: interleaving)
        }
        if interleaving == .threads { print("order-buckets/threads: \(totals.crashesWithWorkersInFlight) crashes hit two or more workers mid-step") }
        if SimulationSeeds.isRange(seeds) {
            #expect(totals.crashes > seeds.count / 2)
            if interleaving == .threads { #expect(totals.crashesWithWorkersInFlight > 0) }
        }
    }

    /// Runs `make(seed)` for every seed, records an issue with the replay line for every
    /// unexpected error, prints the totals.
    static func run(
        _ seeds: [UInt64], filter: String, label: String, _ make: (UInt64) -> PipelineSimulation,
        finished: (PipelineSimulation) -> Void = { _ in }
    ) throws -> PipelineSimulation.Outcome {
        var totals = PipelineSimulation.Outcome()
        for seed in seeds {
            var simulation = make(seed)
            do {
                let outcome = try simulation.run()
                totals.crashes += outcome.crashes
                totals.steps += outcome.steps
                totals.crashesInBackoff += outcome.crashesInBackoff
                totals.crashesWithWorkersInFlight += outcome.crashesWithWorkersInFlight
                finished(simulation)
            } catch {
                Issue.record("\(label) seed \(seed): unexpected error \(error) (\(SimulationSeeds.replay(seed, filter: filter)))")
            }
        }
        print("\(label) simulation: \(seeds.count) seeds, \(totals.crashes) crashes, \(totals.steps) steps")
        return totals
    }
}

/// The order-totals pipeline at a different guarantee.
struct OrderTotalsAtGuarantee: PipelineDefinition {
    let guarantee: PipelineConfiguration.Guarantee
    var name: String { OrderTotals().name }
    var summary: String { OrderTotals().summary }
    var configuration: PipelineConfiguration { PipelineConfiguration(guarantee: guarantee) }
    var body: Topology { OrderTotals().body }
}

/// `order-totals` at-least-once: every good order of the committed input is in the stores and
/// the last committed outputs at least once (never below the exact fold, and equal to it
/// wherever the count is exact); every poison record is dead-lettered at least once. The final
/// check counts what was applied or emitted more than once.
final class AtLeastOnceOrderTotalsModel: SimulationModel {
    var pipeline: any PipelineDefinition { OrderTotalsAtGuarantee(guarantee: .atLeastOnce) }
    /// From the latest check (the final one, when the run is complete).
    private(set) var duplicateApplications = 0
    private(set) var duplicateOutputs = 0

    func order(index: Int, customer: String, random: inout SeededRandom) -> String {
        OrderTotalsModel().order(index: index, customer: customer, random: &random)
    }

    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String] {
        var problems: [String] = []
        var truth: [String: CustomerTotal] = [:]
        var poison: Set<String> = []
        var goodOrders = 0
        for (topicPartition, records) in committedInput {
            for record in records {
                if let order = try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value)), let cents = try? order.amountInCents() {
                    var total = truth[order.customerID] ?? CustomerTotal(customerID: order.customerID, orders: 0, totalCents: 0)
                    total.orders += 1
                    total.totalCents += cents
                    truth[order.customerID] = total
                    goodOrders += 1
                } else {
                    poison.insert("\(topicPartition.partition):\(record.offset)")
                }
            }
        }
        var outputs = 0
        var lastOutput: [String: CustomerTotal] = [:]
        for record in try readCommitted("customer-totals") {
            lastOutput[String(decoding: record.key ?? [], as: UTF8.self)] = try JSONDecoder().decode(CustomerTotal.self, from: Data(record.value ?? []))
            outputs += 1
        }
        var stored: [String: CustomerTotal] = [:]
        for entry in runner.committedEntries(of: "customer-totals") {
            stored[String(decoding: entry.key, as: UTF8.self)] = try JSONDecoder().decode(CustomerTotal.self, from: Data(entry.value))
        }
        var excess = 0
        for (customer, exact) in truth {
            for (what, seen) in [("store", stored[customer]), ("last output", lastOutput[customer])] {
                let seen = seen ?? CustomerTotal(customerID: customer, orders: 0, totalCents: 0)
                if seen.orders < exact.orders || seen.totalCents < exact.totalCents {
                    problems.append("\(customer)'s \(what) \(seen) is below the fold of the committed input \(exact): an order was lost")
                } else if seen.orders == exact.orders && seen.totalCents != exact.totalCents {
                    problems.append("\(customer)'s \(what) \(seen) counts the committed orders exactly but its total differs from \(exact)")
                }
            }
            excess += Int((stored[customer]?.orders ?? 0) - exact.orders)
        }
        duplicateApplications = max(0, excess)
        duplicateOutputs = max(0, outputs - goodOrders)
        let letters = try readCommitted("order-totals.dlq").map { "\(header("dlq.source.partition", of: $0)):\(header("dlq.source.offset", of: $0))" }
        if !poison.isSubset(of: Set(letters)) {
            problems.append("poison records \(poison.subtracting(letters).sorted()) below the committed offsets are not dead-lettered")
        }
        return problems
    }
}

/// A downstream service that fails `flaky-N-…` values N times (retryable) before it passes; it
/// outlives crashes of the engine, as a real service would.
final class FlakyDownstream: @unchecked Sendable {
    struct Unavailable: ClassifiedError {
        var isRetryable: Bool { true }
    }

    private let lock = NSLock()
    private var failuresLeft: [String: Int] = [:]
    private var failing: Set<String> = []

    func call(_ value: String) throws {
        try lock.withLock {
            let left = failuresLeft[value] ?? (value.hasPrefix("flaky-") ? Int(value.dropFirst(6).prefix { $0.isNumber }) ?? 0 : 0)
            if left > 0 {
                failuresLeft[value] = left - 1
                failing.insert(value)
                throw Unavailable()
            }
            failing.remove(value)
        }
    }

    /// Whether some value failed and has not passed since: a record waits in backoff.
    var hasRecordInBackoff: Bool { lock.withLock { !failing.isEmpty } }
}

/// `orders` → the flaky service → upper-cased → `retried`; up to 6 attempts with 40 ms, 80 ms, …
/// backoff and no jitter.
struct RetryingPipeline: PipelineDefinition {
    let service: FlakyDownstream
    let name = "retrying"
    let summary = "calls a flaky service, retrying with backoff"
    var configuration: PipelineConfiguration {
        PipelineConfiguration(retry: RetryPolicy(process: .retry(maxAttempts: 6),
                                                 backoff: Backoff(base: .milliseconds(40), multiplier: 2, cap: .milliseconds(400), jitter: 0)))
    }

    var body: Topology {
        let service = self.service
        return Source("orders", value: .string)
            .mapValues { value in
                try service.call(value)
                return value.uppercased()
            }
            .sink("retried", value: .string)
    }
}

/// The retrying pipeline's invariants: the committed output is exactly the committed input,
/// upper-cased, each record once, and nothing is dead-lettered (every failure passes within its
/// attempts).
final class RetryingModel: SimulationModel {
    let service = FlakyDownstream()
    var pipeline: any PipelineDefinition { RetryingPipeline(service: service) }
    var isMidRetry: Bool { service.hasRecordInBackoff }

    func order(index: Int, customer: String, random: inout SeededRandom) -> String {
        random.next() % 3 == 0 ? "flaky-\(random.next() % 3 + 1)-\(index)" : "ok-\(index)"
    }

    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String] {
        var problems: [String] = []
        let expected = committedInput.values.flatMap { $0.map { String(decoding: $0.value, as: UTF8.self).uppercased() } }.sorted()
        let output = try readCommitted("retried").map { String(decoding: $0.value ?? [], as: UTF8.self) }.sorted()
        if output != expected {
            let missing = Set(expected).subtracting(output).sorted().prefix(5)
            let duplicated = Dictionary(grouping: output, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().prefix(5)
            problems.append("committed output (\(output.count)) is not the committed input (\(expected.count)) once each: missing \(Array(missing)), duplicated \(Array(duplicated))")
        }
        let letters = try readCommitted("retrying.dlq")
        if !letters.isEmpty { problems.append("\(letters.count) records were dead-lettered although every failure passes within its attempts") }
        return problems
    }
}
