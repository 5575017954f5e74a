import Foundation
import Logging
import Testing
import Sluice
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import PipelineRuntime
import Simulation
@testable import pipeline

/// Seeds run in CI; `SLUICE_PIPELINE_SIMULATION_SEEDS=N` runs more, `SLUICE_PIPELINE_SIMULATION_SEED=S`
/// replays one.
enum PipelineSimulationSeeds {
    static var all: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["SLUICE_PIPELINE_SIMULATION_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["SLUICE_PIPELINE_SIMULATION_SEEDS"].flatMap(Int.init) ?? 150
        return (1...UInt64(count)).map { $0 }
    }
}

@Suite("order-totals under simulated crashes")
struct OrderTotalsSimulationTests {
    @Test("outputs, stores, offsets and dead letters stay exactly-once through crashes and disk faults")
    func exactlyOnce() throws {
        var crashes = 0
        var transactions = 0
        for seed in PipelineSimulationSeeds.all {
            var simulation = OrderTotalsSimulation(seed: seed)
            do {
                let outcome = try simulation.run()
                crashes += outcome.crashes
                transactions += outcome.steps
            } catch {
                Issue.record("seed \(seed): unexpected error \(error) (replay with SLUICE_PIPELINE_SIMULATION_SEED=\(seed))")
            }
        }
        print("pipeline simulation: \(PipelineSimulationSeeds.all.count) seeds, \(crashes) crashes, \(transactions) steps")
        if PipelineSimulationSeeds.all.count >= 50 { #expect(crashes > PipelineSimulationSeeds.all.count) }
    }
}

/// One seeded run of `order-totals` on the simulated disk, crashed and restarted many times.
struct OrderTotalsSimulation {
    struct Outcome {
        var crashes = 0
        var steps = 0
    }

    /// An input record as the reference sees it.
    enum Input {
        case order(customer: String, cents: Int64)
        case poison
    }

    let seed: UInt64
    private var random: SeededRandom
    private let disk: SimulatedDisk
    private let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
    private let partitions: Int
    private let orderCount: Int
    private let pollRecordsMax: Int
    private var inputs: [TopicPartition: [Offset: Input]] = [:]
    private var armed: (CrashPoint, Int)?
    private var lastCommitted: [TopicPartition: Offset] = [:]

    init(seed: UInt64) {
        self.seed = seed
        random = SeededRandom(seed: seed)
        disk = SimulatedDisk(seed: seed &* 7919, faults: .init(readBitFlipProbability: seed % 5 == 0 ? 0 : 0.001, tornWrites: true))
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
                disk.restart()
            case .finished:
                disk.crash(afterOperations: Int.max)
                armed = nil
                let log = try open()
                defer { log.close() }
                let coordinator = try TransactionCoordinator(log: log, config: coordinatorConfig)
                let runner = try PipelineRunner(pipeline: OrderTotals(), log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax)
                try check(log: log, runner: runner, complete: true)
                return outcome
            case .continuing:
                if round == 299 { Issue.record("seed \(seed): no progress after 300 lives") }
            }
        }
        return outcome
    }

    private var coordinatorConfig: TransactionCoordinatorConfig {
        var config = TransactionCoordinatorConfig()
        config.transactionLogPartitions = 2
        return config
    }

    private func open() throws -> LogManager {
        var options = LogOptions()
        options.offsetsTopicPartitions = 2
        options.internalSegmentBytesMax = 2048
        let disk = self.disk
        if let (point, occurrence) = armed {
            let counter = Counter()
            options.crashPoints = CrashPoints { reached in
                if reached == point && counter.increment() == occurrence { disk.crash() }
            }
        }
        var logger = Logger(label: "simulation")
        logger.logLevel = .critical
        return try LogManager.open(directory: "/data", storage: disk, clock: clock, options: options, logger: logger)
    }

    private mutating func arm() {
        armed = nil
        switch random.next() % 10 {
        case 0...4:
            armed = (CrashPoint.allCases[Int(random.next() % UInt64(CrashPoint.allCases.count))], Int(random.next() % 3) + 1)
            disk.crash(afterOperations: Int.max)
        case 5...8:
            disk.crash(afterOperations: Int(random.next() % 500))
        default:
            disk.crash(afterOperations: Int.max)
        }
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
            let cents = Int64(random.next() % 200_000)
            var value = #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"\#(customer)","amount":\#(cents / 100).\#(cents % 100 < 10 ? "0" : "")\#(cents % 100),"timestamp":"2025-06-11T12:00:00Z"}"#
            switch random.next() % 40 {
            case 0: value = "{not json \(index)"
            case 1: value = value.replacingOccurrences(of: "\"amount\":", with: "\"amount\":-")
            default: break
            }
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
                        let order = try? JSONDecoder().decode(OrderCreated.self, from: Data(record.value ?? []))
                        if let order, let cents = try? order.amountInCents() {
                            inputs[partition.topicPartition, default: [:]][record.offset] = .order(customer: order.customerID, cents: cents)
                        } else {
                            inputs[partition.topicPartition, default: [:]][record.offset] = .poison
                        }
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
            let runner = try PipelineRunner(pipeline: OrderTotals(), log: log, coordinator: coordinator, pollRecordsMax: pollRecordsMax)
            try check(log: log, runner: runner, complete: false)
            for _ in 0..<(Int(random.next() % 15) + 1) {
                clock.advance(byMilliseconds: Int64(random.next() % 150))
                try runner.step()
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

    /// The invariants, on what a read-committed reader sees and what the stores hold.
    private mutating func check(log: LogManager, runner: PipelineRunner, complete: Bool) throws {
        // The reference: the fold of the orders below the committed offsets.
        var totals: [String: CustomerTotal] = [:]
        var poison: Set<String> = []
        for (topicPartition, records) in inputs {
            let committed = log.offsets.committed(group: "order-totals", topicPartition)?.offset ?? Offset(0)
            if let previous = lastCommitted[topicPartition], committed < previous {
                Issue.record("seed \(seed): committed offset of \(topicPartition) went back from \(previous) to \(committed)")
            }
            lastCommitted[topicPartition] = committed
            if complete && committed != (records.keys.max() ?? Offset(-1)) + 1 {
                Issue.record("seed \(seed): \(topicPartition) finished at offset \(committed)")
            }
            for (offset, input) in records where offset < committed {
                switch input {
                case .order(let customer, let cents):
                    var total = totals[customer] ?? CustomerTotal(customerID: customer, orders: 0, totalCents: 0)
                    total.orders += 1
                    total.totalCents += cents
                    totals[customer] = total
                case .poison:
                    poison.insert("\(topicPartition.partition):\(offset)")
                }
            }
        }
        // The committed updates: per customer exactly 1, 2, …, n, the last equal to the reference.
        var updates: [String: [CustomerTotal]] = [:]
        for record in try readCommitted(log, "customer-totals") {
            let total = try JSONDecoder().decode(CustomerTotal.self, from: Data(record.value ?? []))
            updates[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(total)
        }
        for (customer, sequence) in updates where sequence.map(\.orders) != Array(1...Int64(sequence.count)) {
            Issue.record("seed \(seed): \(customer)'s committed updates count \(sequence.map(\.orders)), not 1…\(sequence.count)")
        }
        let last = updates.compactMapValues(\.last)
        if last != totals {
            Issue.record("seed \(seed): committed totals \(last) differ from the fold of the committed input \(totals)")
        }
        // The stores: restored (or kept) committed state equals the committed output.
        var stored: [String: CustomerTotal] = [:]
        for entry in runner.committedEntries(of: "customer-totals") {
            stored[String(decoding: entry.key, as: UTF8.self)] = try JSONDecoder().decode(CustomerTotal.self, from: Data(entry.value))
        }
        if stored != last { Issue.record("seed \(seed): stores \(stored) differ from the committed output \(last)") }
        // The dead letters: exactly the poison records below the committed offsets, each once.
        let letters = try readCommitted(log, "order-totals.dlq").map { record -> String in
            let header = { (name: String) in record.headers.first { $0.key == name }.flatMap { $0.value }.map { String(decoding: $0, as: UTF8.self) } ?? "?" }
            return "\(header("dlq.source.partition")):\(header("dlq.source.offset"))"
        }
        if letters.count != Set(letters).count || Set(letters) != poison {
            Issue.record("seed \(seed): dead letters \(letters.sorted()) are not exactly the poison records \(poison.sorted())")
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

/// Counts occurrences across threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value
    }
}
