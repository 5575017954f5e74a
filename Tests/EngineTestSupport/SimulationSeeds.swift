import Foundation

/// The seeds a seeded simulation runs: its CI range, or what the environment asks for.
///
/// - `SLUICE_SIMULATION_SEED=S` replays seed `S` alone (every failure prints its seed);
/// - `SLUICE_SIMULATION_SEEDS=N` runs `N` seeds from the simulation's first seed (a soak), and
///   `SLUICE_SIMULATION_FIRST_SEED=F` moves the start;
/// - a simulation may also honour its own older variables (`SLUICE_PIPELINE_SIMULATION_SEEDS`,
///   …), which win over the shared ones.
package enum SimulationSeeds {
    /// The seeds of a simulation whose CI run is `ciCount` seeds from `first`.
    package static func seeds(ciCount: Int, first: UInt64 = 1, ownVariables prefix: String? = nil) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        func value(_ suffix: String) -> String? {
            if let prefix, let own = environment["SLUICE_\(prefix)_SIMULATION_\(suffix)"] { return own }
            return environment["SLUICE_SIMULATION_\(suffix)"]
        }
        if let one = value("SEED").flatMap(UInt64.init) { return [one] }
        let count = value("SEEDS").flatMap(Int.init) ?? ciCount
        let start = value("FIRST_SEED").flatMap(UInt64.init) ?? first
        return (0..<UInt64(max(0, count))).map { start + $0 }
    }

    /// Whether the run is the CI range or a soak (not a single replayed seed), so that totals
    /// (crashes per seed, zombies fenced) can be expected.
    package static func isRange(_ seeds: [UInt64]) -> Bool { seeds.count >= 20 }

    /// The text every failure ends with: how to replay it.
    package static func replay(_ seed: UInt64, filter: String) -> String {
        "replay with SLUICE_SIMULATION_SEED=\(seed) swift test --filter \(filter)"
    }
}

/// Seeds that once failed, each with what it found, rerun in CI by their simulation's
/// regression test so that a fixed bug stays fixed.
package struct RegressionSeed: Sendable, CustomStringConvertible {
    /// The simulation (and mode) it belongs to, e.g. `copy/entryLoss`, `pipeline/order-totals`.
    package let simulation: String
    package let seed: UInt64
    /// What it found, in one line.
    package let note: String

    package var description: String { "\(simulation) seed \(seed): \(note)" }

    /// The seeds of one simulation.
    package static func of(_ simulation: String) -> [RegressionSeed] { list.filter { $0.simulation == simulation } }

    /// The regression list. Add every seed that fails, with its note, when fixing what it found.
    package static let list: [RegressionSeed] = [
        RegressionSeed(simulation: "copy/entryLoss", seed: 20001,
                       note: "topic creation was never made durable: a crash lost the whole source topic (directory syncs added)"),
        RegressionSeed(simulation: "copy/entryLoss", seed: 20005,
                       note: "a lost segment creation took committed offsets back (new segments sync their directory)"),
        RegressionSeed(simulation: "copy/entryLoss", seed: 20006,
                       note: "a lost __consumer_offsets segment left a transaction open under a new epoch"),
        RegressionSeed(simulation: "copy/entryLoss", seed: 20007,
                       note: "a lost target segment reset the producer's sequence (sequence 0, expected 19)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 30009,
                       note: "bit rot in the last batch of a synced active segment was cut as a torn tail: a committed record lost (issue 10.10)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 30056,
                       note: "bit rot in the transaction log's active segment was cut as a torn tail: coordinator and markers disagree (issue 10.10)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 30101,
                       note: "bit rot in a batch length (outside the CRC) cut a whole synced active segment: 18 records lost (issue 10.10)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 30149,
                       note: "as 30009 (issue 10.10)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 31377,
                       note: "a rotted commit marker left its transaction open silently: read-committed readers stalled, the next epoch was refused as an engine bug (now reported as corruption)"),
        RegressionSeed(simulation: "copy/bitRot", seed: 31495, note: "as 31377"),
        RegressionSeed(simulation: "copy/bitRot", seed: 31532, note: "as 31377"),
        RegressionSeed(simulation: "copy/bitRot", seed: 30799,
                       note: "as 31377, seen by a read-committed consumer at the last stable offset, which never reads there: it now asks the partition"),
        RegressionSeed(simulation: "copy/bitRot", seed: 31439, note: "as 30799: 31 committed records silently invisible"),
        RegressionSeed(simulation: "copy/indexRot", seed: 40039,
                       note: "a rotted producer id in a trusted .txnindex served aborted records as committed: 2 duplicates (entries now carry a CRC-32C)"),
        RegressionSeed(simulation: "pipeline/order-totals", seed: 223,
                       note: "header-heavy dead letters overflowed a small batch limit (producers now count headers when cutting batches)"),
        RegressionSeed(simulation: "pipeline/order-totals", seed: 98,
                       note: "a read bit flip in a base offset of an interrupted compaction's .log.swap made the open delete segments past the swap, the active one included: a group's committed offsets went back to 0 (the swap's scan now checks contiguous offsets)"),
    ]
}
