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

    @Test("the copy loop stays exactly-once through wall-clock jumps mid-commit, swept timeouts and expiry")
    func copyLoopSurvivesClockJumpsAndExpiry() throws {
        var total = CopySimulation.Outcome()
        for seed in SimulationSeeds.all {
            var simulation = CopySimulation(seed: seed, variant: .clockJumpsAndExpiry)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (replay with SLUICE_SIMULATION_SEED=\(seed))")
                continue
            }
            total.crashes += outcome.crashes
            total.transactions += outcome.transactions
            total.wallJumpsForward += outcome.wallJumpsForward
            total.wallJumpsBack += outcome.wallJumpsBack
            total.abandonedAborted += outcome.abandonedAborted
            total.transactionalIDsExpired += outcome.transactionalIDsExpired
            total.producersExpired += outcome.producersExpired
            total.expiredZombiesRefused += outcome.expiredZombiesRefused
        }
        print("simulation with time faults: \(SimulationSeeds.all.count) seeds, \(total.crashes) crashes, \(total.transactions) transactions, wall jumps mid-commit \(total.wallJumpsForward) forward / \(total.wallJumpsBack) back, \(total.abandonedAborted) abandoned transactions swept, \(total.transactionalIDsExpired) transactional ids and \(total.producersExpired) producer entries expired, \(total.expiredZombiesRefused) zombies of expired ids refused")
        if SimulationSeeds.all.count >= 50 {
            #expect(total.crashes > SimulationSeeds.all.count, "the simulation should crash more than once per seed on average")
            #expect(total.wallJumpsForward > 0 && total.wallJumpsBack > 0, "jumps must land inside commits")
            #expect(total.abandonedAborted > 0)
            #expect(total.transactionalIDsExpired > 0 && total.producersExpired > 0)
            #expect(total.expiredZombiesRefused > 0)
        }
    }
}
