import Foundation
import Logging
import Testing
import EngineTestSupport
import Sluice
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import PipelineRuntime
import Simulation
@testable import pipeline

/// Seeds run in CI (1…150); `SLUICE_PIPELINE_SIMULATION_SEEDS=N` or `SLUICE_SIMULATION_SEEDS=N`
/// runs more, `SLUICE_PIPELINE_SIMULATION_SEED=S` or `SLUICE_SIMULATION_SEED=S` replays one.
enum PipelineSimulationSeeds {
    static var all: [UInt64] { seeds(ciCount: 150) }

    /// A CI range of `ciCount` seeds from `first`, or what the environment asks for.
    static func seeds(ciCount: Int, first: UInt64 = 1) -> [UInt64] {
        SimulationSeeds.seeds(ciCount: ciCount, first: first, ownVariables: "PIPELINE")
    }
}

@Suite("pipelines under simulated crashes")
struct PipelineSimulationTests {
    @Test("outputs, stores, offsets and dead letters stay exactly-once through crashes and disk faults",
          arguments: ["order-totals", "orders-per-minute", "order-buckets"])
    func exactlyOnce(pipeline: String) throws {
        var crashes = 0
        var transactions = 0
        for seed in PipelineSimulationSeeds.all {
            let model: any SimulationModel = switch pipeline {
            case "order-totals": OrderTotalsModel()
            case "orders-per-minute": OrdersPerMinuteModel()
            default: OrderBucketCountsModel()
            }
            var simulation = PipelineSimulation(seed: seed, model: model)
            do {
                let outcome = try simulation.run()
                crashes += outcome.crashes
                transactions += outcome.steps
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (replay with SLUICE_PIPELINE_SIMULATION_SEED=\(seed))")
            }
        }
        print("\(pipeline) simulation: \(PipelineSimulationSeeds.all.count) seeds, \(crashes) crashes, \(transactions) steps")
        if PipelineSimulationSeeds.all.count >= 50 { #expect(crashes > PipelineSimulationSeeds.all.count) }
    }

    @Test("the pipelines' regression seeds", arguments: ["order-totals", "orders-per-minute", "order-buckets"])
    func regressionSeeds(pipeline: String) throws {
        for entry in RegressionSeed.of("pipeline/\(pipeline)") {
            let model: any SimulationModel = switch pipeline {
            case "order-totals": OrderTotalsModel()
            case "orders-per-minute": OrdersPerMinuteModel()
            default: OrderBucketCountsModel()
            }
            var simulation = PipelineSimulation(seed: entry.seed, model: model)
            do { _ = try simulation.run() } catch {
                Issue.record("\(entry): unexpected error \(error) (replay with SLUICE_PIPELINE_SIMULATION_SEED=\(entry.seed))")
            }
        }
    }
}

/// What a simulated pipeline is checked against: the pipeline, its input, and an exact
/// reference of what its committed output, dead letters and stores must be.
protocol SimulationModel {
    var pipeline: any PipelineDefinition { get }
    /// The value of input order `index` (poison now and then), keyed by `customer`.
    func order(index: Int, customer: String, random: inout SeededRandom) -> String
    /// The invariants, given the input of each partition below its committed offset, in offset
    /// order. Returns a description of every violation.
    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String]
    /// Whether a record is between a failed attempt and its retry (models with retries).
    var isMidRetry: Bool { get }
}

extension SimulationModel {
    var isMidRetry: Bool { false }
}

/// One seeded run of a pipeline on the simulated disk, crashed and restarted many times.
struct PipelineSimulation {
    struct Outcome {
        var crashes = 0
        var steps = 0
        /// Lives that ended in a crash while ``SimulationModel/isMidRetry`` said a record was in
        /// backoff.
        var crashesInBackoff = 0
        /// Threaded lives whose crash hit while two or more workers were inside a step.
        var crashesWithWorkersInFlight = 0
    }

    /// How a life steps the workers.
    enum Interleaving: Equatable {
        /// All workers once per step, in partition order (``PipelineRunner/step()``).
        case inOrder
        /// One worker per step, drawn from the seed: workers of one process in any interleaving
        /// against the shared coordinator, replayable from the seed.
        case seeded
        /// Each worker on its own thread, with seeded pauses between steps: real concurrency
        /// (not replayable step for step; the seed still fixes the input, faults and pauses).
        case threads
    }

    let seed: UInt64
    let model: any SimulationModel
    private var random: SeededRandom
    private let disk: SimulatedDisk
    private let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
    private let partitions: Int
    private let orderCount: Int
    private let pollRecordsMax: Int
    private var inputs: [TopicPartition: [(offset: Offset, value: [UInt8])]] = [:]
    private var armed = ArmedCrash.none
    private var lastCommitted: [TopicPartition: Offset] = [:]

    let interleaving: Interleaving

    /// How each life's fault is drawn (see ``ArmedCrash/draw(_:operationsMax:pointShare:operationsShare:)``).
    struct CrashDraw {
        var operationsMax = 500
        var pointShare = 0.5
        var operationsShare = 0.4
    }

    let crashDraw: CrashDraw

    /// - Parameters:
    ///   - crashDraw: for pipelines that reach few named crash points (at-least-once reaches
    ///     none of the transaction's), more and earlier operation-count crashes.
    ///   - harsherFaults: fault modes added to the classic ones (lost unsynced writes, torn
    ///     writes, transient bit flips), e.g. `unsyncedPageLoss`.
    init(seed: UInt64, model: any SimulationModel, interleaving: Interleaving = .inOrder, crashDraw: CrashDraw = CrashDraw(),
         harsherFaults: (inout SimulatedDisk.Faults) -> Void = { _ in }) {
        self.seed = seed
        self.model = model
        self.interleaving = interleaving
        self.crashDraw = crashDraw
        random = SeededRandom(seed: seed)
        var faults = SimulatedDisk.Faults(readBitFlipProbability: seed % 5 == 0 ? 0 : 0.001, tornWrites: true)
        harsherFaults(&faults)
        disk = SimulatedDisk(seed: seed &* 7919, faults: faults)
        partitions = Int(random.next() % 4) + 1
        orderCount = Int(random.next() % 200) + 30
        pollRecordsMax = Int(random.next() % 15) + 2
    }

    mutating func run() throws -> Outcome {
        var outcome = Outcome()
        try setUp()
        for round in 0..<300 {
            arm()
            switch try life(&outcome) {
            case .crashed:
                outcome.crashes += 1
                if model.isMidRetry { outcome.crashesInBackoff += 1 }
                disk.restart()
            case .finished:
                armed = .none
                armed.arm(disk)
                let log = try open()
                defer { log.close() }
                let coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
                let runner = try PipelineRunner(pipeline: model.pipeline, log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax)
                try check(log: log, runner: runner, complete: true)
                return outcome
            case .continuing:
                if round == 299 { Issue.record("seed \(seed): no progress after 300 lives") }
            }
        }
        return outcome
    }

    private var coordinatorConfig: TransactionCoordinatorConfig { testCoordinatorConfig() }

    private func open() throws -> LogManager {
        try openSimulatedLog(disk: disk, clock: clock, crashPoints: armed.crashPoints(for: disk), internalSegmentBytesMax: 2048)
    }

    private mutating func arm() {
        armed = ArmedCrash.draw(&random, operationsMax: crashDraw.operationsMax, pointShare: crashDraw.pointShare,
                                operationsShare: crashDraw.operationsShare)
        armed.arm(disk)
    }

    /// The orders (about 5% poison), produced crash-free and synced; the reference reads them back.
    private mutating func setUp() throws {
        let log = try open()
        var config = TopicConfig(partitionCount: partitions, compression: [.none, .lz4, .zstd][Int(random.next() % 3)], segmentBytesMax: 4096)
        config.batchBytesMax = 4096
        try log.createTopic(TopicName(rawValue: "orders")!, config: config)
        var producerConfig = ProducerConfig()
        producerConfig.lingerMilliseconds = 0
        let producer = LogProducer(log: log, config: producerConfig)
        for index in 0..<orderCount {
            let customer = "CUST-\(random.next() % 9)"
            let value = model.order(index: index, customer: customer, random: &random)
            try producer.send(topic: TopicName(rawValue: "orders")!, key: Array(customer.utf8), value: Array(value.utf8),
                              timestamp: clock.now())
        }
        try producer.close()
        for partition in try log.topic(TopicName(rawValue: "orders")!).partitions {
            var offset = partition.logStartOffset
            while offset < partition.logEndOffset {
                let fetched = try partition.read(from: offset, maxBytes: 1 << 20)
                for batch in fetched.batches {
                    for record in try batch.records() {
                        inputs[partition.topicPartition, default: []].append((record.offset, record.value ?? []))
                    }
                    offset = batch.header.lastOffset + 1
                }
            }
        }
        log.close()
    }

    enum Life { case crashed, continuing, finished }

    private mutating func life(_ outcome: inout Outcome) throws -> Life {
        do {
            let log = try open()
            let coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
            let runner = try PipelineRunner(pipeline: model.pipeline, log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax)
            // A life ends as a process would: nothing of it (an at-least-once producer's linger
            // thread) runs on into the next one. (The 2,000-seed soak leaked ~12,000 threads.)
            defer { runner.abandon() }
            try check(log: log, runner: runner, complete: false)
            if interleaving == .threads { return try threadedLife(log: log, runner: runner, &outcome) }
            for _ in 0..<(Int(random.next() % 15) + 1) {
                clock.advance(byMilliseconds: Int64(random.next() % 150))
                if interleaving == .seeded {
                    for _ in 0..<runner.workerCount { try runner.step(worker: Int(random.next() % UInt64(runner.workerCount))) }
                } else {
                    try runner.step()
                }
                outcome.steps += 1
                if random.next() % 5 == 0 { try check(log: log, runner: runner, complete: false) }
                if random.next() % 8 == 0 { try log.maintain() }
                if runner.isIdle {
                    log.close()
                    return disk.isCrashed ? .crashed : .finished
                }
            }
            log.close()
            return disk.isCrashed ? .crashed : .continuing
        } catch {
            if disk.isCrashed { return .crashed }
            throw error
        }
    }

    /// A life with every worker on its own thread: each steps its worker a seeded number of
    /// times with seeded pauses (and advances the shared clock), until the armed crash stops them
    /// all; then the life is checked on the stopped workers like any other.
    private mutating func threadedLife(log: LogManager, runner: PipelineRunner, _ outcome: inout Outcome) throws -> Life {
        let shared = ThreadedLife(runner: runner)
        let workerSeeds = (0..<runner.workerCount).map { _ in random.next() }
        let clock = self.clock
        let disk = self.disk
        let group = DispatchGroup()
        for (index, workerSeed) in workerSeeds.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var random = SeededRandom(seed: workerSeed)
                for _ in 0..<(Int(random.next() % 30) + 1) where !disk.isCrashed {
                    if random.chance(0.5) { usleep(UInt32(random.next() % 300)) }
                    clock.advance(byMilliseconds: Int64(random.next() % 40))
                    guard shared.step(worker: index, disk: disk) else { return }
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        outcome.steps += shared.steps
        if disk.isCrashed {
            if shared.inFlightAtCrash >= 2 { outcome.crashesWithWorkersInFlight += 1 }
            return .crashed
        }
        if let failure = shared.failure { throw failure }
        try check(log: log, runner: runner, complete: false)
        if random.next() % 8 == 0 { try log.maintain() }
        let idle = runner.isIdle
        log.close()
        return disk.isCrashed ? .crashed : (idle ? .finished : .continuing)
    }

    /// Committed offsets never go back, and reach the end when the run is complete; then the
    /// model checks outputs, stores and dead letters against its reference.
    private mutating func check(log: LogManager, runner: PipelineRunner, complete: Bool) throws {
        var committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]] = [:]
        for (topicPartition, records) in inputs {
            let committed = log.offsets.committed(group: model.pipeline.configuration.consumerGroup ?? model.pipeline.name, topicPartition)?.offset ?? Offset(0)
            if let previous = lastCommitted[topicPartition], committed < previous {
                Issue.record("seed \(seed): committed offset of \(topicPartition) went back from \(previous) to \(committed)")
            }
            lastCommitted[topicPartition] = committed
            if complete && committed != (records.last?.offset ?? Offset(-1)) + 1 {
                Issue.record("seed \(seed): \(topicPartition) finished at offset \(committed)")
            }
            committedInput[topicPartition] = records.filter { $0.offset < committed }
        }
        for violation in try model.violations(committedInput: committedInput, log: log, runner: runner,
                                                readCommitted: { try readCommitted(log, $0) }) {
            Issue.record("seed \(seed) (\(model.pipeline.name)): \(violation) (replay with SLUICE_PIPELINE_SIMULATION_SEED=\(seed))")
        }
    }

    private func readCommitted(_ log: LogManager, _ topic: String) throws -> [ConsumerRecord] {
        guard log.hasTopic(TopicName(rawValue: topic)!) else { return [] }
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        let consumer = LogConsumer(log: log, config: config)
        try consumer.assign(try log.topic(named: topic).partitions.map(\.topicPartition))
        var records: [ConsumerRecord] = []
        while true {
            let batch = try consumer.poll(maxRecords: 10_000)
            if batch.isEmpty { return records }
            records += batch
        }
    }
}


/// The value of a dead letter's header, as text.
func header(_ name: String, of record: ConsumerRecord) -> String {
    record.headers.first { $0.key == name }.flatMap(\.value).map { String(decoding: $0, as: UTF8.self) } ?? "?"
}

/// `order-totals`: each customer's committed updates count exactly 1, 2, …, n, the last equal
/// to an exact fold of the committed input; the stores equal the committed output; the DLQ
/// holds exactly the poison records below the committed offsets.
struct OrderTotalsModel: SimulationModel {
    var pipeline: any PipelineDefinition { OrderTotals() }

    func order(index: Int, customer: String, random: inout SeededRandom) -> String {
        let cents = Int64(random.next() % 200_000)
        let value = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":\#(cents / 100).\#(cents % 100 < 10 ? "0" : "")\#(cents % 100),"timestamp":"2025-06-11T12:00:00Z"}"#
        switch random.next() % 40 {
        case 0: return "{not json \(index)"
        case 1: return value.replacingOccurrences(of: "\"amount\":", with: "\"amount\":-")
        default: return value
        }
    }

    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String] {
        var problems: [String] = []
        var totals: [String: CustomerTotal] = [:]
        var poison: Set<String> = []
        for (topicPartition, records) in committedInput {
            for record in records {
                if let order = try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value)), let cents = try? order.amountInCents() {
                    var total = totals[order.customerID] ?? CustomerTotal(customerID: order.customerID, orders: 0, totalCents: 0)
                    total.orders += 1
                    total.totalCents += cents
                    totals[order.customerID] = total
                } else {
                    poison.insert("\(topicPartition.partition):\(record.offset)")
                }
            }
        }
        var updates: [String: [CustomerTotal]] = [:]
        for record in try readCommitted("customer-totals") {
            let total = try JSONDecoder().decode(CustomerTotal.self, from: Data(record.value ?? []))
            updates[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(total)
        }
        for (customer, sequence) in updates where sequence.map(\.orders) != Array(1...Int64(sequence.count)) {
            problems.append("\(customer)'s committed updates count \(sequence.map(\.orders)), not 1…\(sequence.count)")
        }
        let last = updates.compactMapValues(\.last)
        if last != totals { problems.append("committed totals \(last) differ from the fold of the committed input \(totals)") }
        var stored: [String: CustomerTotal] = [:]
        for entry in runner.committedEntries(of: "customer-totals") {
            stored[String(decoding: entry.key, as: UTF8.self)] = try JSONDecoder().decode(CustomerTotal.self, from: Data(entry.value))
        }
        if stored != last { problems.append("stores \(stored) differ from the committed output \(last)") }
        let letters = try readCommitted("order-totals.dlq").map { "\(header("dlq.source.partition", of: $0)):\(header("dlq.source.offset", of: $0))" }
        if letters.count != Set(letters).count || Set(letters) != poison {
            problems.append("dead letters \(letters.sorted()) are not exactly the poison records \(poison.sorted())")
        }
        return problems
    }
}

/// `orders-per-minute`: replays the committed input of each partition in offset order through
/// an independent model of tumbling windows with grace and a watermark, and checks that the
/// committed output is exactly the windows the model closed (each once, in order per
/// customer), the DLQ exactly the poison and late records, and the stores exactly the open
/// windows and watermarks.
struct OrdersPerMinuteModel: SimulationModel {
    var pipeline: any PipelineDefinition { OrdersPerMinute() }
    static let base: Int64 = 1_749_643_200_000

    func order(index: Int, customer: String, random: inout SeededRandom) -> String {
        // Mostly forward in time, some a little out of order, a few far behind (late).
        var time = OrdersPerMinuteModel.base + Int64(index) * 3_000 - Int64(random.next() % 20_000)
        if random.next() % 25 == 0 { time -= 150_000 }
        let stamp = EventTime.iso8601(milliseconds: time)
        let value = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":1.00,"timestamp":"\#(stamp)"}"#
        switch random.next() % 40 {
        case 0: return "{not json \(index)"
        case 1: return value.replacingOccurrences(of: stamp, with: "yesterday")
        default: return value
        }
    }

    func violations(committedInput: [TopicPartition: [(offset: Offset, value: [UInt8])]], log: LogManager,
                    runner: PipelineRunner, readCommitted: (String) throws -> [ConsumerRecord]) throws -> [String] {
        let size: Int64 = 60_000
        let grace: Int64 = 10_000
        var problems: [String] = []
        var expectedOutput: [String: [CustomerMinute]] = [:]
        var expectedLetters: Set<String> = []
        var expectedOpen: [String: Int64] = [:]
        var expectedWatermarks: [Int64] = []
        for (topicPartition, records) in committedInput {
            var watermark = Int64.min
            var open: [Int64: [String: Int64]] = [:]
            for record in records {
                guard let order = try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value)), !order.customerID.isEmpty,
                      let time = EventTime.milliseconds(iso8601: order.timestamp) else {
                    expectedLetters.insert("\(topicPartition.partition):\(record.offset)")
                    continue
                }
                let start = time - time % size
                if watermark != Int64.min && start + size + grace <= watermark {
                    expectedLetters.insert("\(topicPartition.partition):\(record.offset)")
                    continue
                }
                open[start, default: [:]][order.customerID, default: 0] += 1
                if time > watermark {
                    watermark = time
                    for closing in open.keys.sorted() where closing + size + grace <= watermark {
                        for (customer, count) in open[closing]!.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
                            expectedOutput[customer, default: []].append(CustomerMinute(
                                customerID: customer, windowStart: EventTime.iso8601(milliseconds: closing),
                                windowEnd: EventTime.iso8601(milliseconds: closing + size), orders: count))
                        }
                        open[closing] = nil
                    }
                }
            }
            if watermark != Int64.min { expectedWatermarks.append(watermark) }
            for (start, counts) in open { for (customer, count) in counts { expectedOpen["\(start)/\(customer)"] = count } }
        }
        var output: [String: [CustomerMinute]] = [:]
        for record in try readCommitted("orders-per-minute") {
            output[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(
                try JSONDecoder().decode(CustomerMinute.self, from: Data(record.value ?? [])))
        }
        if output != expectedOutput { problems.append("committed windows \(output) differ from the model's \(expectedOutput)") }
        let letters = try readCommitted("orders-per-minute.dlq").map { "\(header("dlq.source.partition", of: $0)):\(header("dlq.source.offset", of: $0))" }
        if letters.count != Set(letters).count || Set(letters) != expectedLetters {
            problems.append("dead letters \(letters.sorted()) are not exactly the poison and late records \(expectedLetters.sorted())")
        }
        var stored: [String: Int64] = [:]
        var watermarks: [Int64] = []
        for entry in runner.committedEntries(of: "orders-per-minute") {
            let value = entry.value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
            if entry.key.first == 0xFF {
                watermarks.append(value)
            } else {
                let start = entry.key.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
                stored["\(start)/\(String(decoding: entry.key.dropFirst(8), as: UTF8.self))"] = value
            }
        }
        if stored != expectedOpen { problems.append("stored windows \(stored) differ from the model's open windows \(expectedOpen)") }
        if watermarks.sorted() != expectedWatermarks.sorted() { problems.append("stored watermarks \(watermarks.sorted()) differ from \(expectedWatermarks.sorted())") }
        return problems
    }
}

/// What the threads of one ``PipelineSimulation/Interleaving/threads`` life share: the runner
/// (each thread steps only its own worker), the first error, and how many workers were inside a
/// step when the crash hit.
private final class ThreadedLife: @unchecked Sendable {
    private let runner: PipelineRunner
    private let lock = NSLock()
    private var inFlight = 0
    private(set) var inFlightAtCrash = 0
    private(set) var steps = 0
    private(set) var failure: (any Error)?

    init(runner: PipelineRunner) { self.runner = runner }

    /// Steps `worker`; false when it threw (the thread stops).
    func step(worker: Int, disk: SimulatedDisk) -> Bool {
        lock.withLock { inFlight += 1 }
        do {
            try runner.step(worker: worker)
            lock.withLock {
                inFlight -= 1
                steps += 1
            }
            return true
        } catch {
            lock.withLock {
                if disk.isCrashed { inFlightAtCrash = max(inFlightAtCrash, inFlight) }
                inFlight -= 1
                if failure == nil && !disk.isCrashed { failure = error }
            }
            return false
        }
    }
}
