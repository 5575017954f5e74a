import Foundation
import Testing
import EngineTestSupport
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import Simulation
import Logging

/// A seeded, deterministic run of the exactly-once copy loop on the simulated disk, crashed and
/// restarted many times, checked after every recovery and at the end by ``ExactlyOnceChecker``.
///
/// Each round arms one fault: a named crash point of the protocol (at its k-th occurrence), or a
/// crash after a random number of disk operations; with lost unsynced writes, torn writes and
/// transient read bit flips throughout. Some rounds also start a zombie: a second copier with the
/// same transactional id, after which the first must never commit again.
///
/// The ``Variant/clockJumpsAndExpiry`` variant adds time faults (issues 10.5 and 10.7): the wall
/// clock jumps ten transaction timeouts forward or back in the middle of commits (which must
/// neither abort nor fail them); transactions abandoned right after a backward jump must be
/// aborted by the log's maintenance once their timeout passed on the monotonic clock; and long
/// pauses past short expirations make the copier's transactional id and producer entries expire,
/// after which the old copier, a zombie of an expired id, must never commit.
struct CopySimulation {
    enum Variant {
        case crashes
        case clockJumpsAndExpiry
    }

    /// The disk faults of a run besides lost unsynced writes: the classic ones (torn writes,
    /// transient bit flips), or the classic ones plus one mode of the harsher simulator.
    enum Mode: String, CaseIterable, CustomStringConvertible {
        case classic
        /// Any subset of a file's unsynced pages may be lost.
        case pageLoss
        /// Entry changes a directory sync did not cover may be lost.
        case entryLoss
        /// A crash may flip a bit of a `.log` file's synced bytes for good; the run must then
        /// fail with a corruption error or go on with correct data, never serve wrong data.
        case bitRot
        /// The same for the files beside the `.log`s, which can all be rebuilt from them: offset,
        /// time and transaction indexes, producer-state snapshots.
        case indexRot

        var description: String { rawValue }

        func faults(seed: UInt64) -> SimulatedDisk.Faults {
            var faults = SimulatedDisk.Faults(readBitFlipProbability: 0.002, tornWrites: true)
            if seed % 7 == 0 { faults.readBitFlipProbability = 0 }
            switch self {
            case .classic: break
            case .pageLoss: faults.unsyncedPageLoss = true
            case .entryLoss: faults.unsyncedEntryLoss = true
            case .bitRot:
                faults.durableBitRotProbability = 0.3
                faults.bitRotPathSuffixes = [".log"]
            case .indexRot:
                faults.durableBitRotProbability = 0.5
                faults.bitRotPathSuffixes = [".index", ".timeindex", ".txnindex", ".snapshot"]
            }
            return faults
        }
    }

    struct Outcome {
        var crashes = 0
        var namedCrashes: Set<CrashPoint> = []
        var transactions = 0
        var zombiesFenced = 0
        var checks = 0
        /// Persistent bit flips the disk made (``Mode/bitRot``).
        var bitRot = 0
        /// Whether the run ended on a corruption error (``Mode/bitRot`` only), with its text.
        var corruptionReported: String?
        var wallJumpsForward = 0
        var wallJumpsBack = 0
        var abandonedAborted = 0
        var transactionalIDsExpired = 0
        var producersExpired = 0
        var expiredZombiesRefused = 0
        /// Lives ended by a failed sync (the disk stayed up; the directory was reopened).
        var syncFailures = 0
    }

    /// The expirations of the ``Variant/clockJumpsAndExpiry`` runs, on the simulated clock.
    static let expirationMilliseconds: Int64 = 20_000
    /// The jump of the wall clock: ten times the default transaction timeout.
    static let wallJumpMilliseconds: Int64 = 10 * 60_000

    let seed: UInt64
    let variant: Variant
    private let jumps = WallClockJumps()
    private var random: SeededRandom
    private let disk: SimulatedDisk
    private let clock: SimulatedClock
    private let directory = "/data"
    private let source = TopicName(rawValue: "source")!
    private let target = TopicName(rawValue: "target")!
    private let group = "copy-group"
    private let transactionalID = "copy-sim"
    private let partitions: Int
    private let recordCount: Int
    private let transactionRecordsMax: Int
    private let codec: CompressionCodecName
    private var checker = ExactlyOnceChecker()
    /// Turned on after the (fault-free) set-up.
    private let syncFailureProbability: Double

    let mode: Mode

    /// - Parameter syncFailureProbability: the disk's ``SimulatedDisk/Faults/syncFailureProbability``:
    ///   a failed sync loses the file's unsynced writes, and the engine must stop writing and
    ///   recover on reopen, never trust it.
    init(seed: UInt64, mode: Mode = .classic, variant: Variant = .crashes, syncFailureProbability: Double = 0) {
        self.seed = seed
        self.syncFailureProbability = syncFailureProbability
        self.mode = mode
        self.variant = variant
        random = SeededRandom(seed: seed)
        disk = SimulatedDisk(seed: (variant == .crashes ? seed : seed &+ 0x5EED_0000) &* 31 &+ 7, faults: mode.faults(seed: seed))
        clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
        partitions = Int(random.next() % 6) + 1
        recordCount = Int(random.next() % 250) + 40
        transactionRecordsMax = Int(random.next() % 40) + 3
        codec = [.none, .lz4, .zstd][Int(random.next() % 3)]
    }

    /// Runs to completion; records an issue (with the seed) for every broken invariant.
    mutating func run() throws -> Outcome {
        var outcome = Outcome()
        defer { if ProcessInfo.processInfo.environment["DEBUG_ROT"] != nil { print("ROT \(disk.bitRot)") } }
        do {
            try run(&outcome)
        } catch where [.bitRot, .indexRot].contains(mode) && !disk.bitRot.isEmpty && "\(error)".contains("corrupt") {
            // Detected and reported, not served: what bit rot may end in.
            outcome.corruptionReported = "\(error)"
        }
        outcome.bitRot = disk.bitRot.count
        return outcome
    }

    private mutating func run(_ outcome: inout Outcome) throws {
        try setUp()
        disk.faults.syncFailureProbability = syncFailureProbability
        var rounds = 0
        while true {
            rounds += 1
            guard rounds < 400 else {
                Issue.record("seed \(seed): no progress after 400 rounds (replay with SLUICE_SIMULATION_SEED=\(seed))")
                return
            }
            let armed = arm()
            let finished = try round(&outcome)
            if disk.isCrashed {
                outcome.crashes += 1
                if let armed { outcome.namedCrashes.insert(armed) }
                disk.restart()
                continue
            }
            if finished { break }
        }
        // Final state, opened cleanly.
        disk.crash(afterOperations: Int.max)
        disk.faults.syncFailureProbability = 0
        let crashPoints = CrashPoints(handler: nil)
        let log = try open(crashPoints)
        defer { log.close() }
        _ = try TransactionCoordinator(log: log, config: coordinatorConfig)
        try checker.check(log: log, source: source, target: target, group: group, expectComplete: true, seed: seed)
        outcome.checks += 1
        outcome.wallJumpsForward = jumps.fired.forward
        outcome.wallJumpsBack = jumps.fired.back
    }

    private var coordinatorConfig: TransactionCoordinatorConfig {
        var config = testCoordinatorConfig()
        if variant == .clockJumpsAndExpiry { config.transactionalIDExpirationMilliseconds = Self.expirationMilliseconds }
        return config
    }

    /// Creates the topics and the source records (crash-free, synced).
    private mutating func setUp() throws {
        let log = try open(.disabled)
        let segmentBytes = 2048 + Int(random.next() % 4096)
        var config = TopicConfig(partitionCount: partitions, compression: codec, segmentBytesMax: segmentBytes)
        config.indexIntervalBytes = 256
        config.batchBytesMax = segmentBytes
        try log.createTopic(source, config: config)
        config.partitionCount = Int(random.next() % 4) + 1
        try log.createTopic(target, config: config)
        var producerConfig = ProducerConfig()
        producerConfig.lingerMilliseconds = 0
        producerConfig.batchBytesMax = 1024
        let producer = LogProducer(log: log, config: producerConfig)
        var sent: [[UInt8]] = []
        for index in 0..<recordCount {
            let key: [UInt8]? = random.next() % 5 == 0 ? nil : Array("key-\(random.next() % 17)".utf8)
            let value = Array("record-\(index)".utf8)
            sent.append(value)
            try producer.send(topic: source, key: key, value: value, headers: [RecordHeader("n", "\(index)")],
                              partition: PartitionID(Int(random.next() % UInt64(partitions))))
        }
        try producer.close()
        log.close()
        checker.expected = Set(sent.map { String(decoding: $0, as: UTF8.self) })
    }

    /// Arms this round's fault; returns the named crash point when one was armed.
    private mutating func arm() -> CrashPoint? {
        armed = ArmedCrash.draw(&random, operationsMax: 400)
        armed.arm(disk)
        return armed.point
    }

    private var armed = ArmedCrash.none

    /// The armed crash's hook; in the time-fault variant also the hook that fires a pending
    /// wall-clock jump right after a data append, in the middle of a commit.
    private func makeCrashPoints() -> CrashPoints {
        let crash = armed.crashPoints(for: disk)
        guard variant == .clockJumpsAndExpiry else { return crash }
        let jumps = self.jumps
        let clock = self.clock
        return CrashPoints { point in
            crash.reached(point)
            if point == .afterDataAppend { jumps.fire(on: clock) }
        }
    }

    private func open(_ crashPoints: CrashPoints) throws -> LogManager {
        try openSimulatedLog(disk: disk, clock: clock, crashPoints: crashPoints, internalSegmentBytesMax: 1500, directory: directory,
                             producerIDExpirationMilliseconds: variant == .clockJumpsAndExpiry ? Self.expirationMilliseconds : nil)
    }

    /// One life of the engine: open (recovering), check, copy some transactions.
    /// - Returns: true when everything is copied.
    private mutating func round(_ outcome: inout Outcome) throws -> Bool {
        let syncFailuresBefore = disk.syncFailureCount
        var opened: LogManager?
        let log: LogManager
        let coordinator: TransactionCoordinator
        do {
            opened = try open(makeCrashPoints())
            log = opened!
            coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
        } catch {
            if disk.isCrashed { return false }
            if disk.syncFailureCount > syncFailuresBefore {
                // A sync failed while recovering: the directory is reopened, never trusted.
                try endLifeAfterSyncFailure(opened, &outcome)
                return false
            }
            throw error
        }
        do {
            try checker.check(log: log, source: source, target: target, group: group, expectComplete: false, seed: seed)
            outcome.checks += 1
            var options = CopyOptions(source: source, target: target, group: group, transactionalID: transactionalID)
            options.transactionRecordsMax = transactionRecordsMax
            options.commitIntervalMilliseconds = 1
            var copier = try TransactionalCopier(log: log, coordinator: coordinator, options: options)
            let steps = Int(random.next() % 12) + 1
            for _ in 0..<steps {
                if random.next() % 9 == 0 {
                    // A zombie: a newer copier takes over; the old one must be fenced.
                    let newer = try TransactionalCopier(log: log, coordinator: coordinator, options: options)
                    do {
                        let copied = try copier.step()
                        if copied > 0 { Issue.record("seed \(seed): a fenced copier committed \(copied) records (replay with SLUICE_SIMULATION_SEED=\(seed))") }
                    } catch {
                        guard error.code == .fenced else { throw error }
                        outcome.zombiesFenced += 1
                    }
                    copier = newer
                }
                if variant == .clockJumpsAndExpiry {
                    if random.next() % 5 == 0 { jumps.arm(random.chance(0.5) ? Self.wallJumpMilliseconds : -Self.wallJumpMilliseconds) }
                    if random.next() % 8 == 0 { try abandonAfterBackwardJump(log: log, coordinator: coordinator, &outcome) }
                    if random.next() % 10 == 0 { copier = try pausePastExpiry(log: log, coordinator: coordinator, copier: copier, options: options, &outcome) }
                }
                clock.advance(byMilliseconds: 5)
                let copied = try copier.step()
                if copied > 0 { outcome.transactions += 1 }
                if random.next() % 4 == 0 {
                    try checker.check(log: log, source: source, target: target, group: group, expectComplete: false, seed: seed)
                    outcome.checks += 1
                }
                if random.next() % 6 == 0 { try log.maintain() }
                if copied == 0 && copier.lag == 0 {
                    log.close()
                    return !disk.isCrashed
                }
            }
            log.close()
            if disk.syncFailureCount > syncFailuresBefore { try endLifeAfterSyncFailure(nil, &outcome) }
            return false
        } catch {
            if disk.isCrashed { return false }
            if disk.syncFailureCount > syncFailuresBefore {
                try endLifeAfterSyncFailure(log, &outcome)
                return false
            }
            throw error
        }
    }

    /// After a failed sync: the log must refuse every write from then on (nothing is retried and
    /// trusted); the life ends and the next one reopens the directory, whose recovery reads what
    /// the disk really holds.
    private func endLifeAfterSyncFailure(_ log: LogManager?, _ outcome: inout Outcome) throws {
        outcome.syncFailures += 1
        if let log {
            if log.syncFailure.error == nil {
                Issue.record("seed \(seed): a sync failed but the data directory still takes writes (replay with SLUICE_SIMULATION_SEED=\(seed))")
            }
            let refused: Bool
            do {
                try log.partition(TopicPartition(target, PartitionID(0))).sync()
                refused = false
            } catch {
                refused = error.code == .syncFailed
            }
            if !refused { Issue.record("seed \(seed): a sync after a failed sync was accepted (replay with SLUICE_SIMULATION_SEED=\(seed))") }
            log.close()
        }
    }

    /// A transaction left open right after the wall clock jumped back must still be aborted by
    /// the log's maintenance once its timeout passed on the monotonic clock.
    private mutating func abandonAfterBackwardJump(log: LogManager, coordinator: TransactionCoordinator, _ outcome: inout Outcome) throws {
        let id = "abandoned-\(random.next() % 1000)"
        let abandoned = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: id)
        try abandoned.initTransactions(timeoutMilliseconds: 1000)
        try abandoned.beginTransaction()
        try abandoned.sendOffsets([TopicPartition(source, PartitionID(0)): Offset(0)], group: "abandoned-group")
        clock.jumpWall(byMilliseconds: -Self.wallJumpMilliseconds)
        clock.advance(byMilliseconds: 1001)
        try log.maintain()
        guard !disk.isCrashed else { return }
        if coordinator.metadata(id)?.state == .completeAbort {
            outcome.abandonedAborted += 1
        } else {
            Issue.record("seed \(seed): transaction '\(id)' is \(coordinator.metadata(id).map { "\($0.state)" } ?? "gone") past its timeout after a backward wall-clock jump")
        }
    }

    /// Idles past the expirations: the copier's transactional id and its producer entries expire;
    /// the old copier (a zombie of the expired id) must not commit, and a new one starts fresh.
    private mutating func pausePastExpiry(
        log: LogManager, coordinator: TransactionCoordinator, copier: TransactionalCopier, options: CopyOptions, _ outcome: inout Outcome
    ) throws -> TransactionalCopier {
        guard let before = coordinator.metadata(transactionalID), before.state.isIdle else { return copier }
        var copier = copier
        // Expiry is measured on the wall clock, as the logs record it: after a backward jump the
        // pause must also make up for the jump.
        let behind = max(0, before.lastUpdateTimestamp.rawValue - clock.now().rawValue)
        clock.advance(byMilliseconds: behind + Self.expirationMilliseconds + 1)
        try log.maintain()
        guard !disk.isCrashed else { return copier }
        guard coordinator.metadata(transactionalID) == nil else {
            Issue.record("seed \(seed): idle transactional id '\(transactionalID)' did not expire")
            return copier
        }
        outcome.transactionalIDsExpired += 1
        if log.offsets.partition(forGroup: group).producerEpochAndSequence(before.producerID) == nil { outcome.producersExpired += 1 }
        let fresh = try TransactionalCopier(log: log, coordinator: coordinator, options: options)
        do {
            let copied = try copier.step()
            if copied > 0 { Issue.record("seed \(seed): a zombie of an expired transactional id committed \(copied) records") }
        } catch {
            guard error.code == .fenced || error.code == .unknownTransactionalID else { throw error }
            outcome.expiredZombiesRefused += 1
        }
        copier = fresh
        return copier
    }
}

/// A wall-clock jump armed for the next data append (so it lands inside a commit), and how many
/// fired each way. Thread-safety: safe from any thread.
final class WallClockJumps: @unchecked Sendable {
    private let lock = Lock()
    private var pending: Int64?
    private var counts = (forward: 0, back: 0)

    func arm(_ milliseconds: Int64) {
        lock.lock(); defer { lock.unlock() }
        pending = milliseconds
    }

    func fire(on clock: SimulatedClock) {
        lock.lock(); defer { lock.unlock() }
        guard let jump = pending else { return }
        pending = nil
        clock.jumpWall(byMilliseconds: jump)
        if jump > 0 { counts.forward += 1 } else { counts.back += 1 }
    }

    var fired: (forward: Int, back: Int) {
        lock.lock(); defer { lock.unlock() }
        return counts
    }
}


/// The exactly-once invariants, checked on a read-committed view of the log:
/// - every record in the target is a source record, and none appears twice;
/// - the target holds exactly the source records below the group's committed offsets (so
///   committed offsets and committed output always belong to the same transactions, and no
///   aborted or open record is visible);
/// - committed offsets never go back, and nothing once visible disappears;
/// - at the end, every source record is in the target exactly once.
struct ExactlyOnceChecker {
    var expected: Set<String> = []
    private var everVisible: Set<String> = []
    private var lastCommitted: [TopicPartition: Offset] = [:]

    mutating func check(log: LogManager, source: TopicName, target: TopicName, group: String, expectComplete: Bool, seed: UInt64) throws {
        // What the source holds below each committed offset.
        var owed: [String] = []
        for partition in try log.topic(source).partitions {
            let committed = log.offsets.committed(group: group, partition.topicPartition)?.offset ?? Offset(0)
            if let previous = lastCommitted[partition.topicPartition], committed < previous {
                Issue.record("seed \(seed): committed offset of \(partition.topicPartition) went back from \(previous) to \(committed) (replay with SLUICE_SIMULATION_SEED=\(seed))")
            }
            lastCommitted[partition.topicPartition] = committed
            owed += try Self.values(in: partition, from: partition.logStartOffset, to: committed)
        }
        // What the target shows to a read-committed reader.
        let visible = try visibleValues(in: target, of: log)
        let visibleSet = Set(visible)
        if visibleSet.count != visible.count {
            let duplicates = Dictionary(grouping: visible, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().prefix(5)
            Issue.record("seed \(seed): duplicated in the target: \(duplicates) (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        if !visibleSet.isSubset(of: expected) {
            Issue.record("seed \(seed): records in the target that are not source records: \(visibleSet.subtracting(expected).sorted().prefix(5)) (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        if visibleSet != Set(owed) {
            Issue.record("seed \(seed): target and committed offsets disagree: \(Set(owed).subtracting(visibleSet).count) committed records missing, \(visibleSet.subtracting(owed).count) visible beyond the committed offsets (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        if !everVisible.isSubset(of: visibleSet) {
            Issue.record("seed \(seed): \(everVisible.subtracting(visibleSet).count) records once visible have disappeared (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        everVisible.formUnion(visibleSet)
        if expectComplete && visibleSet != expected {
            Issue.record("seed \(seed): the copy finished with \(expected.subtracting(visibleSet).count) records missing (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
    }

    private static func values(in partition: PartitionLog, from start: Offset, to end: Offset) throws -> [String] {
        var values: [String] = []
        var offset = start
        while offset < end {
            let fetched = try partition.read(from: offset, maxBytes: 1 << 20, isolation: .readCommitted)
            guard let last = fetched.batches.last else { break }
            for batch in fetched.batches where !batch.header.isControl {
                for record in try batch.records() where record.offset >= offset && record.offset < end {
                    values.append(String(decoding: record.value ?? [], as: UTF8.self))
                }
            }
            offset = last.header.lastOffset + 1
        }
        return values
    }
}
