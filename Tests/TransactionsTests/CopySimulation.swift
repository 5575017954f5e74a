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
struct CopySimulation {
    struct Outcome {
        var crashes = 0
        var namedCrashes: Set<CrashPoint> = []
        var transactions = 0
        var zombiesFenced = 0
        var checks = 0
        /// Lives ended by a failed sync (the disk stayed up; the directory was reopened).
        var syncFailures = 0
    }

    let seed: UInt64
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

    /// - Parameter syncFailureProbability: the disk's ``SimulatedDisk/Faults/syncFailureProbability``:
    ///   a failed sync loses the file's unsynced writes, and the engine must stop writing and
    ///   recover on reopen, never trust it.
    init(seed: UInt64, syncFailureProbability: Double = 0) {
        self.seed = seed
        random = SeededRandom(seed: seed)
        self.syncFailureProbability = syncFailureProbability
        var faults = SimulatedDisk.Faults(readBitFlipProbability: 0.002, tornWrites: true)
        if seed % 7 == 0 { faults.readBitFlipProbability = 0 }
        disk = SimulatedDisk(seed: seed &* 31 &+ 7, faults: faults)
        clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
        partitions = Int(random.next() % 6) + 1
        recordCount = Int(random.next() % 250) + 40
        transactionRecordsMax = Int(random.next() % 40) + 3
        codec = [.none, .lz4, .zstd][Int(random.next() % 3)]
    }

    /// Runs to completion; records an issue (with the seed) for every broken invariant.
    mutating func run() throws -> Outcome {
        var outcome = Outcome()
        try setUp()
        disk.faults.syncFailureProbability = syncFailureProbability
        var rounds = 0
        while true {
            rounds += 1
            guard rounds < 400 else {
                Issue.record("seed \(seed): no progress after 400 rounds")
                return outcome
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
        return outcome
    }

    private var coordinatorConfig: TransactionCoordinatorConfig { testCoordinatorConfig() }

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

    private func makeCrashPoints() -> CrashPoints { armed.crashPoints(for: disk) }

    private func open(_ crashPoints: CrashPoints) throws -> LogManager {
        try openSimulatedLog(disk: disk, clock: clock, crashPoints: crashPoints, internalSegmentBytesMax: 1500, directory: directory)
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
                        if copied > 0 { Issue.record("seed \(seed): a fenced copier committed \(copied) records") }
                    } catch {
                        guard error.code == .fenced else { throw error }
                        outcome.zombiesFenced += 1
                    }
                    copier = newer
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
                Issue.record("seed \(seed): a sync failed but the data directory still takes writes")
            }
            let refused: Bool
            do {
                try log.partition(TopicPartition(target, PartitionID(0))).sync()
                refused = false
            } catch {
                refused = error.code == .syncFailed
            }
            if !refused { Issue.record("seed \(seed): a sync after a failed sync was accepted") }
            log.close()
        }
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
                Issue.record("seed \(seed): committed offset of \(partition.topicPartition) went back from \(previous) to \(committed)")
            }
            lastCommitted[partition.topicPartition] = committed
            owed += try Self.values(in: partition, from: partition.logStartOffset, to: committed)
        }
        // What the target shows to a read-committed reader.
        let visible = try visibleValues(in: target, of: log)
        let visibleSet = Set(visible)
        if visibleSet.count != visible.count {
            let duplicates = Dictionary(grouping: visible, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().prefix(5)
            Issue.record("seed \(seed): duplicated in the target: \(duplicates)")
        }
        if !visibleSet.isSubset(of: expected) {
            Issue.record("seed \(seed): records in the target that are not source records: \(visibleSet.subtracting(expected).sorted().prefix(5))")
        }
        if visibleSet != Set(owed) {
            Issue.record("seed \(seed): target and committed offsets disagree: \(Set(owed).subtracting(visibleSet).count) committed records missing, \(visibleSet.subtracting(owed).count) visible beyond the committed offsets")
        }
        if !everVisible.isSubset(of: visibleSet) {
            Issue.record("seed \(seed): \(everVisible.subtracting(visibleSet).count) records once visible have disappeared")
        }
        everVisible.formUnion(visibleSet)
        if expectComplete && visibleSet != expected {
            Issue.record("seed \(seed): the copy finished with \(expected.subtracting(visibleSet).count) records missing")
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
