import Foundation
import Testing
import EngineTestSupport
import Logging
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import StateStores
import Simulation

/// A seeded, deterministic run of a counting worker per input partition on the simulated disk,
/// crashed and restarted many times.
///
/// Each worker reads its input partition read-committed, counts records per key in a
/// ``KeyValueStore``, and in one transaction sends the new count to the output topic, the
/// store's changelog and its consumed offset; some transactions are aborted on purpose; it
/// checkpoints every few commits. Each round arms one fault: a named crash point of the commit
/// protocol, a crash after a random number of disk operations, or a crash at an operation of a
/// checkpoint write; some rounds also damage a checkpoint on disk. After every restart each
/// store is restored and checked against a reference fold of the input below the committed
/// offset, and against the committed output.
struct StoreSimulation {
    struct Outcome {
        var crashes = 0
        var namedCrashes: Set<CrashPoint> = []
        var checkpointCrashes = 0
        var commits = 0
        var aborts = 0
        var checkpoints = 0
        var restoresFromCheckpoint = 0
        var restoresFromStart = 0
        var checks = 0
    }

    let seed: UInt64
    private var random: SeededRandom
    private let disk: SimulatedDisk
    private let clock: SimulatedClock
    private let directory = "/data"
    private let input = TopicName(rawValue: "events")!
    private let output = TopicName(rawValue: "counts")!
    private let application = "counter"
    private let storeName = "counts"
    private let group = "counter"
    private let partitions: Int
    private let recordCount: Int
    private let keyCount: UInt64
    private let transactionRecordsMax: Int
    private let checkpointEvery: Int
    /// Input records per partition, in offset order (written once, crash-free).
    private var inputKeys: [[String]] = []
    private var armedPoint: (CrashPoint, Int)?

    /// - Parameter harsherFaults: fault modes added to the classic ones, e.g. `unsyncedEntryLoss`.
    init(seed: UInt64, harsherFaults: (inout SimulatedDisk.Faults) -> Void = { _ in }) {
        self.seed = seed
        random = SeededRandom(seed: seed)
        var faults = SimulatedDisk.Faults(readBitFlipProbability: 0.001, tornWrites: true)
        if seed % 5 == 0 { faults.readBitFlipProbability = 0 }
        harsherFaults(&faults)
        disk = SimulatedDisk(seed: seed &* 131 &+ 17, faults: faults)
        clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
        partitions = Int(random.next() % 3) + 1
        recordCount = Int(random.next() % 120) + 30
        keyCount = random.next() % 10 + 2
        transactionRecordsMax = Int(random.next() % 8) + 1
        checkpointEvery = Int(random.next() % 4) + 1
    }

    /// Runs to completion; records an issue (with the seed) for every broken invariant.
    mutating func run() throws -> Outcome {
        var outcome = Outcome()
        try setUp()
        var rounds = 0
        while true {
            rounds += 1
            guard rounds < 500 else {
                Issue.record("seed \(seed): no progress after 500 rounds (replay with SLUICE_SIMULATION_SEED=\(seed))")
                return outcome
            }
            damageACheckpointMaybe()
            let armed = arm()
            let finished = try round(&outcome)
            if disk.isCrashed {
                outcome.crashes += 1
                switch armed {
                case .named(let point): outcome.namedCrashes.insert(point)
                case .checkpoint: if disk.lastCrashOperation?.path.contains("/state/") == true { outcome.checkpointCrashes += 1 }
                case .none: break
                }
                disk.restart()
                continue
            }
            if finished { break }
        }
        // The end, opened cleanly: every count is exact.
        disk.crash(afterOperations: Int.max)
        armedPoint = nil
        let log = try open()
        defer { log.close() }
        let coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
        for partition in 0..<partitions {
            let worker = try Worker(simulation: self, log: log, coordinator: coordinator, partition: partition)
            try check(worker, log: log, expectComplete: true)
            outcome.checks += 1
        }
        return outcome
    }

    private var coordinatorConfig: TransactionCoordinatorConfig { testCoordinatorConfig() }

    private func open() throws -> LogManager {
        try openSimulatedLog(disk: disk, clock: clock, crashPoints: makeCrashPoints(), internalSegmentBytesMax: 1500, directory: directory)
    }

    /// Creates the topics and the input records (crash-free, synced).
    private mutating func setUp() throws {
        let log = try open()
        var config = TopicConfig(partitionCount: partitions, segmentBytesMax: 2048 + Int(random.next() % 2048))
        config.batchBytesMax = config.segmentBytesMax
        config.indexIntervalBytes = 256
        try log.createTopic(input, config: config)
        try log.createTopic(output, config: config)
        var producerConfig = ProducerConfig()
        producerConfig.lingerMilliseconds = 0
        producerConfig.batchBytesMax = 512
        let producer = LogProducer(log: log, config: producerConfig)
        inputKeys = Array(repeating: [], count: partitions)
        for index in 0..<recordCount {
            let key = "key-\(random.next() % keyCount)"
            let partition = Int(random.next() % UInt64(partitions))
            inputKeys[partition].append(key)
            try producer.send(topic: input, key: [UInt8](key), value: [UInt8]("event-\(index)"), partition: PartitionID(partition))
        }
        try producer.close()
        log.close()
    }

    // MARK: Faults

    private enum Armed { case named(CrashPoint), checkpoint, none }

    private mutating func arm() -> Armed {
        armedPoint = nil
        switch random.next() % 10 {
        case 0...3:
            let point = CrashPoint.allCases[Int(random.next() % UInt64(CrashPoint.allCases.count))]
            armedPoint = (point, Int(random.next() % 3) + 1)
            disk.crash(afterOperations: Int.max)
            return .named(point)
        case 4...6:
            disk.crash(afterOperations: Int(random.next() % 600))
            return .none
        case 7...8:
            // A crash at one step of a checkpoint write.
            let kinds: [SimulatedDisk.Operation.Kind] = [.createFile, .truncate, .write, .sync, .rename, .createDirectory]
            let kind = kinds[Int(random.next() % UInt64(kinds.count))]
            disk.crash(afterOperations: Int.max)
            disk.crashWhen { $0.kind == kind && $0.path.contains("/state/") }
            return .checkpoint
        default:
            disk.crash(afterOperations: Int.max)
            return .none
        }
    }

    private func makeCrashPoints() -> CrashPoints {
        guard let (point, occurrence) = armedPoint else { return .disabled }
        return ArmedCrash.point(point, occurrence: occurrence).crashPoints(for: disk)
    }

    /// Sometimes flips a byte of a checkpoint (a bad sector): restore must fall back.
    private mutating func damageACheckpointMaybe() {
        guard random.next() % 12 == 0 else { return }
        let partition = PartitionID(Int(random.next() % UInt64(partitions)))
        let path = StoreCheckpoint.path(dataDirectory: directory, application: application, store: storeName, partition: partition)
        guard let bytes = disk.durableContents(path: path), !bytes.isEmpty else { return }
        disk.corruptByte(path: path, position: Int64(random.next() % UInt64(bytes.count)))
    }

    // MARK: Rounds

    /// One life of the engine: open (recovering), restore and check every worker, run a few
    /// transactions. Returns true when every input record is counted.
    private mutating func round(_ outcome: inout Outcome) throws -> Bool {
        var log: LogManager?
        defer { log?.close() }
        do {
            let opened = try open()
            log = opened
            let coordinator = try TransactionCoordinator(log: opened, config: coordinatorConfig)
            var workers: [Worker] = []
            for partition in 0..<partitions {
                let worker = try Worker(simulation: self, log: opened, coordinator: coordinator, partition: partition)
                if case .checkpoint = worker.summary.start { outcome.restoresFromCheckpoint += 1 } else { outcome.restoresFromStart += 1 }
                try check(worker, log: opened, expectComplete: false)
                outcome.checks += 1
                workers.append(worker)
            }
            let steps = Int(random.next() % 10) + 1
            for _ in 0..<steps {
                let worker = workers[Int(random.next() % UInt64(workers.count))]
                clock.advance(byMilliseconds: 5)
                let limit = Int(random.next() % UInt64(transactionRecordsMax)) + 1
                let abort = random.next() % 8 == 0
                switch try worker.step(limit: limit, abort: abort) {
                case .idle: break
                case .aborted: outcome.aborts += 1
                case .committed(let commits):
                    outcome.commits += 1
                    if commits % checkpointEvery == 0 {
                        try worker.changelog.checkpoint()
                        outcome.checkpoints += 1
                    }
                }
                if random.next() % 8 == 0 { try opened.maintain() }
            }
            if random.next() % 3 == 0 {
                for worker in workers { try check(worker, log: opened, expectComplete: false) }
                outcome.checks += 1
            }
            var done = true
            for worker in workers {
                if try worker.lag() > 0 { done = false }
            }
            return done && !disk.isCrashed
        } catch {
            if disk.isCrashed { return false }
            Issue.record("seed \(seed): \(error) (replay with SLUICE_SIMULATION_SEED=\(seed))")
            throw error
        }
    }

    // MARK: Checks

    /// Restored store == fold of the input below the committed offset; the committed output of
    /// each key is exactly 1, 2, …, count (nothing lost, nothing twice), ending at the store's count.
    private func check(_ worker: Worker, log: LogManager, expectComplete: Bool) throws {
        let inputPartition = TopicPartition(input, PartitionID(worker.partition))
        let committed = log.offsets.committed(group: group, inputPartition)?.offset ?? Offset(0)
        let keys = inputKeys[worker.partition]
        guard committed.rawValue <= Int64(keys.count) else {
            Issue.record("seed \(seed): committed offset \(committed) of \(inputPartition) beyond its \(keys.count) records (replay with SLUICE_SIMULATION_SEED=\(seed))")
            return
        }
        if expectComplete && committed.rawValue != Int64(keys.count) {
            Issue.record("seed \(seed): \(inputPartition) finished at \(committed) of \(keys.count) (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        var reference: [String: Int] = [:]
        for key in keys[..<Int(committed.rawValue)] { reference[key, default: 0] += 1 }
        let stored = Dictionary(uniqueKeysWithValues: worker.store.all().map { (text($0.key)!, Int(text($0.value)!)!) })
        if stored != reference {
            Issue.record("seed \(seed): store of partition \(worker.partition) restored (\(worker.summary.start)) as \(stored.sorted { $0.key < $1.key }), reference fold \(reference.sorted { $0.key < $1.key }) (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        var outputs: [String: [Int]] = [:]
        for record in try readCommitted(log: log, TopicPartition(output, PartitionID(worker.partition))) {
            outputs[text(record.key)!, default: []].append(Int(text(record.value)!)!)
        }
        for (key, count) in reference where outputs[key] != Array(1...count) {
            Issue.record("seed \(seed): output of \(key) in partition \(worker.partition) is \(outputs[key] ?? []), expected 1...\(count) (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
        for key in outputs.keys where reference[key] == nil {
            Issue.record("seed \(seed): output of \(key) in partition \(worker.partition) without committed input (replay with SLUICE_SIMULATION_SEED=\(seed))")
        }
    }

    private func readCommitted(log: LogManager, _ topicPartition: TopicPartition) throws -> [ConsumerRecord] {
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign([topicPartition])
        let partition = try log.partition(topicPartition)
        var records: [ConsumerRecord] = []
        while true {
            let batch = try consumer.poll(maxRecords: 10_000)
            records += batch
            let position = try consumer.position(topicPartition)
            if batch.isEmpty && position >= partition.lastStableOffset { break }
        }
        return records
    }

    // MARK: Worker

    /// One input partition's counting worker, restored on creation.
    final class Worker {
        enum StepResult { case idle, aborted, committed(Int) }

        let partition: Int
        let store: KeyValueStore
        let changelog: StoreChangelog
        let summary: RestoreSummary
        private let producer: TransactionalProducer
        private let consumer: LogConsumer
        private let inputPartition: TopicPartition
        private let output: TopicName
        private let group: String
        private var commits = 0

        init(simulation: StoreSimulation, log: LogManager, coordinator: TransactionCoordinator, partition: Int) throws {
            self.partition = partition
            output = simulation.output
            group = simulation.group
            inputPartition = TopicPartition(simulation.input, PartitionID(partition))
            producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "\(simulation.application)-\(partition)")
            try producer.initTransactions()
            store = KeyValueStore(name: simulation.storeName)
            changelog = try StoreChangelog(log: log, application: simulation.application, store: store,
                                           partition: PartitionID(partition), partitionCount: simulation.partitions)
            summary = try changelog.restore()
            var config = ConsumerConfig(groupID: simulation.group)
            config.isolation = .readCommitted
            config.autoOffsetReset = .earliest
            consumer = LogConsumer(log: log, config: config)
            try consumer.assign([inputPartition])
        }

        func lag() throws -> Int64 { try consumer.lag().values.reduce(0, +) }

        /// One transaction of up to `limit` records; aborted on purpose when `abort`.
        func step(limit: Int, abort: Bool) throws -> StepResult {
            let records = try consumer.poll(maxRecords: limit)
            if records.isEmpty { return .idle }
            try producer.beginTransaction()
            do {
                for record in records {
                    let key = record.key ?? []
                    let count = (store.get(key).flatMap { Int(text($0)!) } ?? 0) + 1
                    store.put(key, [UInt8]("\(count)"))
                    try producer.send(topic: output, key: key, value: [UInt8]("\(count)"), partition: PartitionID(partition))
                }
                try changelog.send(through: producer)
                try producer.sendOffsets([inputPartition: try consumer.position(inputPartition)], group: group)
                if abort {
                    try producer.abortTransaction()
                    changelog.transactionAborted()
                    try consumer.seek(inputPartition, to: consumer.committed(inputPartition).map { .offset($0) } ?? .earliest)
                    return .aborted
                }
                try producer.commitTransaction()
            } catch {
                // The outcome is unknown (or the disk crashed): the caller restarts the worker.
                changelog.transactionAborted()
                throw error
            }
            try changelog.transactionCommitted()
            commits += 1
            return .committed(commits)
        }
    }
}

@Suite struct StoreSimulationTests {
    /// Seeds run in CI (1…100); `SLUICE_STORE_SIMULATION_SEEDS=n` or `SLUICE_SIMULATION_SEEDS=n`
    /// runs n seeds instead, `SLUICE_SIMULATION_SEED=s` replays one. They are split into four
    /// slices that run in parallel.
    static var seedSlices: [[UInt64]] { slices(SimulationSeeds.seeds(ciCount: 100, ownVariables: "STORE")) }

    static func slices(_ seeds: [UInt64]) -> [[UInt64]] {
        let size = max(1, (seeds.count + 3) / 4)
        return stride(from: 0, to: seeds.count, by: size).map { Array(seeds[$0..<min(seeds.count, $0 + size)]) }
    }

    @Test(arguments: seedSlices)
    func restoredStoresEqualTheReferenceFoldUnderCrashes(seeds: [UInt64]) throws {
        let total = Self.run(seeds, label: "store simulation", filter: "restoredStoresEqualTheReferenceFoldUnderCrashes")
        if SimulationSeeds.isRange(seeds) {
            #expect(total.crashes > 0)
            #expect(total.checkpointCrashes > 0)
            #expect(total.restoresFromCheckpoint > 0)
        }
    }

    /// Checkpoints and changelogs when crashes lose any subset of unsynced pages (seeds
    /// 10001…10020) or directory entries that no directory sync covered (20001…20020).
    @Test(arguments: ["pageLoss", "entryLoss"])
    func restoredStoresEqualTheReferenceFoldUnderHarsherFaults(mode: String) throws {
        let seeds = SimulationSeeds.seeds(ciCount: 20, first: mode == "pageLoss" ? 10_001 : 20_001, ownVariables: "STORE")
        let total = Self.run(seeds, label: "store simulation (\(mode))", filter: "restoredStoresEqualTheReferenceFoldUnderHarsherFaults") { faults in
            if mode == "pageLoss" { faults.unsyncedPageLoss = true } else { faults.unsyncedEntryLoss = true }
        }
        if SimulationSeeds.isRange(seeds) {
            #expect(total.crashes > seeds.count)
            #expect(total.restoresFromCheckpoint > 0)
        }
    }

    static func run(_ seeds: [UInt64], label: String, filter: String,
                    harsherFaults: (inout SimulatedDisk.Faults) -> Void = { _ in }) -> StoreSimulation.Outcome {
        var total = StoreSimulation.Outcome()
        var named: Set<CrashPoint> = []
        for seed in seeds {
            var simulation = StoreSimulation(seed: seed, harsherFaults: harsherFaults)
            let outcome: StoreSimulation.Outcome
            do { outcome = try simulation.run() } catch {
                Issue.record("seed \(seed): \(error) (\(SimulationSeeds.replay(seed, filter: filter)))")
                continue
            }
            total.crashes += outcome.crashes
            total.checkpointCrashes += outcome.checkpointCrashes
            total.commits += outcome.commits
            total.aborts += outcome.aborts
            total.checkpoints += outcome.checkpoints
            total.restoresFromCheckpoint += outcome.restoresFromCheckpoint
            total.restoresFromStart += outcome.restoresFromStart
            total.checks += outcome.checks
            named.formUnion(outcome.namedCrashes)
        }
        print("\(label), seeds \(seeds.first ?? 0)…\(seeds.last ?? 0): \(total.crashes) crashes (\(named.count) named points, \(total.checkpointCrashes) during checkpoints), \(total.commits) commits, \(total.aborts) aborts, \(total.checkpoints) checkpoints, restores \(total.restoresFromCheckpoint) from a checkpoint / \(total.restoresFromStart) from the changelog start, \(total.checks) checks")
        return total
    }
}
