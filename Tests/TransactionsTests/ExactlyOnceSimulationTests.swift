import Foundation
import Testing
import EngineTestSupport
import StreamCore

@Suite("Exactly-once under simulated crashes")
struct ExactlyOnceSimulationTests {
    /// The classic faults: seeds 1…200 in CI.
    @Test("the copy loop stays exactly-once through crashes at every protocol step and disk faults")
    func copyLoopIsExactlyOnce() throws {
        try Self.run(.classic, seeds: SimulationSeeds.seeds(ciCount: 200), filter: "copyLoopIsExactlyOnce")
    }

    /// The harsher modes, each on its own CI range: lost unsynced pages in any subset (seeds
    /// 10001…10060), lost unsynced directory entries (20001…20060), persistent bit rot of synced
    /// `.log` bytes (30001…30060).
    @Test("the copy loop stays exactly-once under the harsher disk faults",
          arguments: [CopySimulation.Mode.pageLoss, .entryLoss, .bitRot])
    func copyLoopIsExactlyOnceUnderHarsherFaults(mode: CopySimulation.Mode) throws {
        let first: UInt64 = switch mode {
        case .classic: 1
        case .pageLoss: 10_001
        case .entryLoss: 20_001
        case .bitRot: 30_001
        }
        try Self.run(mode, seeds: SimulationSeeds.seeds(ciCount: 60, first: first), filter: "copyLoopIsExactlyOnceUnderHarsherFaults")
    }

    /// Every seed of the regression list, in its mode.
    @Test("the copy loop's regression seeds", arguments: CopySimulation.Mode.allCases)
    func copyLoopRegressionSeeds(mode: CopySimulation.Mode) throws {
        let seeds = RegressionSeed.of("copy/\(mode)").map(\.seed)
        if !seeds.isEmpty { try Self.run(mode, seeds: seeds, filter: "copyLoopRegressionSeeds") }
    }

    static func run(_ mode: CopySimulation.Mode, seeds: [UInt64], filter: String) throws {
        var crashes = 0
        var named = Set<CrashPoint>()
        var zombies = 0
        var transactions = 0
        var bitRot = 0
        var corruptionsReported = 0
        for seed in seeds {
            var simulation = CopySimulation(seed: seed, mode: mode)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("copy/\(mode) seed \(seed): unexpected error \(error) (\(SimulationSeeds.replay(seed, filter: filter)))")
                continue
            }
            crashes += outcome.crashes
            named.formUnion(outcome.namedCrashes)
            zombies += outcome.zombiesFenced
            transactions += outcome.transactions
            bitRot += outcome.bitRot
            if outcome.corruptionReported != nil { corruptionsReported += 1 }
        }
        let rot = mode == .bitRot ? ", \(bitRot) bits rotted, \(corruptionsReported) runs ended on a reported corruption" : ""
        print("copy simulation (\(mode)): \(seeds.count) seeds, \(crashes) crashes, \(transactions) transactions, \(zombies) zombies fenced\(rot), crash points hit: \(named.map(\.rawValue).sorted())")
        if SimulationSeeds.isRange(seeds) {
            #expect(crashes > seeds.count, "the simulation should crash more than once per seed on average")
            #expect(zombies > 0)
            if mode == .bitRot { #expect(bitRot > 0) }
        }
    }
}
