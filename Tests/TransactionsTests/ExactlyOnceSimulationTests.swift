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
    /// 10001…10060), lost unsynced directory entries (20001…20060), persistent bit rot of the
    /// synced indexes and producer snapshots beside the `.log`s (40001…40060).
    @Test("the copy loop stays exactly-once under the harsher disk faults",
          arguments: [CopySimulation.Mode.pageLoss, .entryLoss, .indexRot])
    func copyLoopIsExactlyOnceUnderHarsherFaults(mode: CopySimulation.Mode) throws {
        try Self.run(mode, seeds: SimulationSeeds.seeds(ciCount: 60, first: mode.firstSeed), filter: "copyLoopIsExactlyOnceUnderHarsherFaults")
    }

    /// Persistent bit rot of synced `.log` bytes (seeds 30001…30060, and its regression seeds):
    /// a damaged batch below the durable recovery point is reported, never cut as a torn tail,
    /// so a run stops on a corruption error or goes on with every committed record.
    @Test("the copy loop reports bit rot of synced log bytes and never serves it")
    func copyLoopReportsBitRotOfSyncedLogBytes() throws {
        let seeds = SimulationSeeds.seeds(ciCount: 60, first: CopySimulation.Mode.bitRot.firstSeed)
        try Self.run(.bitRot, seeds: seeds + RegressionSeed.of("copy/bitRot").map(\.seed), filter: "copyLoopReportsBitRotOfSyncedLogBytes")
    }

    /// Every seed of the regression list, in its mode (bit rot of `.log` bytes runs above).
    @Test("the copy loop's regression seeds", arguments: CopySimulation.Mode.allCases.filter { $0 != .bitRot })
    func copyLoopRegressionSeeds(mode: CopySimulation.Mode) throws {
        let seeds = RegressionSeed.of("copy/\(mode)").map(\.seed)
        if !seeds.isEmpty { try Self.run(mode, seeds: seeds, filter: "copyLoopRegressionSeeds") }
    }


    /// Issue 10's fsync failures (seeds 1000001…1000100 in CI; `SLUICE_SYNC_FAILURE_SEEDS=N` for a
    /// soak): each sync fails with a small probability, losing the file's unsynced writes; the
    /// engine must refuse every later write, and after a reopen the copy stays exactly-once (the
    /// same checker, after every recovery and at the end).
    @Test("the copy loop stays exactly-once through failed syncs, which stop the engine until a reopen")
    func copyLoopIsExactlyOnceThroughSyncFailures() throws {
        let soak = ProcessInfo.processInfo.environment["SLUICE_SYNC_FAILURE_SEEDS"].flatMap(Int.init)
        let seeds = SimulationSeeds.seeds(ciCount: soak ?? 100, first: 1_000_001)
        var syncFailures = 0
        var crashes = 0
        var transactions = 0
        for seed in seeds {
            var simulation = CopySimulation(seed: seed, syncFailureProbability: 0.01)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("copy/syncFailure seed \(seed): unexpected error \(error) (\(SimulationSeeds.replay(seed, filter: "copyLoopIsExactlyOnceThroughSyncFailures")))")
                continue
            }
            syncFailures += outcome.syncFailures
            crashes += outcome.crashes
            transactions += outcome.transactions
        }
        print("sync-failure simulation: \(seeds.count) seeds, \(syncFailures) lives ended by a failed sync, \(crashes) crashes, \(transactions) transactions")
        if SimulationSeeds.isRange(seeds) {
            #expect(syncFailures > seeds.count / 2, "failed syncs should end many lives")
        }
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
        let rot = [.bitRot, .indexRot].contains(mode) ? ", \(bitRot) bits rotted, \(corruptionsReported) runs ended on a reported corruption" : ""
        print("copy simulation (\(mode)): \(seeds.count) seeds, \(crashes) crashes, \(transactions) transactions, \(zombies) zombies fenced\(rot), crash points hit: \(named.map(\.rawValue).sorted())")
        if SimulationSeeds.isRange(seeds) {
            #expect(crashes > seeds.count, "the simulation should crash more than once per seed on average")
            #expect(zombies > 0)
            if [.bitRot, .indexRot].contains(mode) { #expect(bitRot > 0) }
        }
    }

    @Test("the copy loop stays exactly-once through wall-clock jumps mid-commit, swept timeouts and expiry")
    func copyLoopSurvivesClockJumpsAndExpiry() throws {
        let seeds = SimulationSeeds.seeds(ciCount: 200)
        var total = CopySimulation.Outcome()
        for seed in seeds {
            var simulation = CopySimulation(seed: seed, variant: .clockJumpsAndExpiry)
            let outcome: CopySimulation.Outcome
            do {
                outcome = try simulation.run()
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (\(SimulationSeeds.replay(seed, filter: "copyLoopSurvivesClockJumpsAndExpiry")))")
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
        print("simulation with time faults: \(seeds.count) seeds, \(total.crashes) crashes, \(total.transactions) transactions, wall jumps mid-commit \(total.wallJumpsForward) forward / \(total.wallJumpsBack) back, \(total.abandonedAborted) abandoned transactions swept, \(total.transactionalIDsExpired) transactional ids and \(total.producersExpired) producer entries expired, \(total.expiredZombiesRefused) zombies of expired ids refused")
        if SimulationSeeds.isRange(seeds) {
            #expect(total.crashes > seeds.count, "the simulation should crash more than once per seed on average")
            #expect(total.wallJumpsForward > 0 && total.wallJumpsBack > 0, "jumps must land inside commits")
            #expect(total.abandonedAborted > 0)
            #expect(total.transactionalIDsExpired > 0 && total.producersExpired > 0)
            #expect(total.expiredZombiesRefused > 0)
        }
    }
}

extension CopySimulation.Mode {
    /// The first seed of the mode's CI range.
    var firstSeed: UInt64 {
        switch self {
        case .classic: 1
        case .pageLoss: 10_001
        case .entryLoss: 20_001
        case .bitRot: 30_001
        case .indexRot: 40_001
        }
    }
}
