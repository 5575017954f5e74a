import Foundation
import Testing
import StreamCore

/// Seeds run in CI; `SLUICE_SIMULATION_SEEDS=N` runs N instead (e.g. 5000 for a long soak),
/// `SLUICE_SIMULATION_SEED=S` replays one failing seed.
enum SimulationSeeds {
    static var all: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["SLUICE_SIMULATION_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["SLUICE_SIMULATION_SEEDS"].flatMap(Int.init) ?? 200
        let first = environment["SLUICE_SIMULATION_FIRST_SEED"].flatMap(UInt64.init) ?? 1
        return (0..<UInt64(count)).map { first + $0 }
    }

    /// The seeds of the runs with sync failures: their own range, `SLUICE_SYNC_FAILURE_SEEDS=N`
    /// for a longer soak (100 in CI), `SLUICE_SIMULATION_SEED=S` to replay one.
    static var syncFailures: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["SLUICE_SIMULATION_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["SLUICE_SYNC_FAILURE_SEEDS"].flatMap(Int.init) ?? 100
        return (0..<UInt64(count)).map { 1_000_001 + $0 }
    }
}

@Suite("Exactly-once under simulated crashes")
struct ExactlyOnceSimulationTests {
    @Test("the copy loop stays exactly-once through crashes at every protocol step and disk faults")
    func copyLoopIsExactlyOnce() throws {
        var crashes = 0
        var named = Set<CrashPoint>()
        var zombies = 0
        var transactions = 0
        for seed in SimulationSeeds.all {
            var simulation = CopySimulation(seed: seed)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (replay with SLUICE_SIMULATION_SEED=\(seed))")
                continue
            }
            crashes += outcome.crashes
            named.formUnion(outcome.namedCrashes)
            zombies += outcome.zombiesFenced
            transactions += outcome.transactions
        }
        print("simulation: \(SimulationSeeds.all.count) seeds, \(crashes) crashes, \(transactions) transactions, \(zombies) zombies fenced, crash points hit: \(named.map(\.rawValue).sorted())")
        if SimulationSeeds.all.count >= 50 {
            #expect(crashes > SimulationSeeds.all.count, "the simulation should crash more than once per seed on average")
            #expect(zombies > 0)
        }
    }

    /// Issue 10's fsync failures: each sync fails with a small probability, losing the file's
    /// unsynced writes; the engine must refuse every later write, and after a reopen the copy
    /// stays exactly-once (the same checker, after every recovery and at the end).
    @Test("the copy loop stays exactly-once through failed syncs, which stop the engine until a reopen")
    func copyLoopIsExactlyOnceThroughSyncFailures() throws {
        var syncFailures = 0
        var crashes = 0
        var transactions = 0
        for seed in SimulationSeeds.syncFailures {
            var simulation = CopySimulation(seed: seed, syncFailureProbability: 0.01)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (replay with SLUICE_SIMULATION_SEED=\(seed) in this test)")
                continue
            }
            syncFailures += outcome.syncFailures
            crashes += outcome.crashes
            transactions += outcome.transactions
        }
        print("sync-failure simulation: \(SimulationSeeds.syncFailures.count) seeds, \(syncFailures) lives ended by a failed sync, \(crashes) crashes, \(transactions) transactions")
        if SimulationSeeds.syncFailures.count >= 50 {
            #expect(syncFailures > SimulationSeeds.syncFailures.count / 2, "failed syncs should end many lives")
        }
    }
}
