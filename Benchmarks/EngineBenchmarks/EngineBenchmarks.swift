import Benchmark
import Foundation
import StreamCore
import LogStorage
import Transactions
import StateStores

/// Micro-benchmarks of the layers above the log: state store reads and writes (in memory and
/// RocksDB) and the transaction commit. Run with
/// `swift package --disable-sandbox benchmark --target EngineBenchmarks` (release build).
///
/// Store benchmarks count one scaled iteration per key (1,000 keys a sample, "Throughput (K)"
/// reads as thousands of operations per second); the commit benchmark counts one iteration per
/// transaction of 100 records on the real disk (two syncs of the transaction log and one of the
/// partition per commit).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50_000,
        thresholds: [.throughput: .init(relative: [.p50: 25])]
    )

    let keys = (0..<1000).map { Array("CUST-\(10_000 + $0)".utf8) }
    let value = Array(#"{"customer_id":"CUST-10000","orders":3,"total_cents":3750}"#.utf8)

    let memory = KeyValueStore(name: "bench")
    Benchmark(thresholdName("in-memory store put + commit")) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 1000) {
            for key in keys { memory.put(key, value) }
            memory.commit()
        }
    }
    Benchmark(thresholdName("in-memory store get")) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 1000) {
            for key in keys { blackHole(memory.get(key)) }
        }
    }

    let rocks = RocksHolder()
    Benchmark(thresholdName("RocksDB store put + commit"), configuration: .init(setup: { try rocks.open() }, teardown: { rocks.remove() })) { benchmark in
        var offset: Int64 = 0
        for _ in 0..<(benchmark.scaledIterations.count / 1000) {
            for key in keys { rocks.store.put(key, value) }
            offset += 1
            try rocks.store.commit(reflecting: Offset(offset))
        }
    }
    Benchmark(thresholdName("RocksDB store get"), configuration: .init(setup: {
        try rocks.open()
        for key in keys { rocks.store.put(key, value) }
        try rocks.store.commit(reflecting: Offset(1))
    }, teardown: { rocks.remove() })) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 1000) {
            for key in keys { blackHole(rocks.store.get(key)) }
        }
    }

    let engine = EngineHolder()
    let records = (0..<100).map { (key: keys[$0], value: value) }
    Benchmark(thresholdName("transaction commit (100 records, real disk)"), configuration: .init(
        scalingFactor: .one, setup: { try engine.open() }, teardown: { engine.remove() })) { benchmark in
        for _ in benchmark.scaledIterations {
            try engine.producer.beginTransaction()
            for record in records { try engine.producer.send(topic: engine.topic, key: record.key, value: record.value) }
            try engine.producer.commitTransaction()
        }
    }
}

/// A RocksDB store in a temporary directory, between a benchmark's setup and teardown.
final class RocksHolder: @unchecked Sendable {
    private var directory: String?
    private var opened: RocksDBStore?

    var store: RocksDBStore { opened! }

    func open() throws {
        let directory = NSTemporaryDirectory() + "sluice-bench-rocksdb-\(UUID().uuidString)"
        self.directory = directory
        opened = try RocksDBStore(name: "bench", path: directory + "/0.rocksdb")
    }

    func remove() {
        opened?.close()
        opened = nil
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// A data directory with a coordinator, a one-partition topic and an initialised transactional
/// producer, between a benchmark's setup and teardown.
final class EngineHolder: @unchecked Sendable {
    private var directory: String?
    private var log: LogManager?
    private var coordinator: TransactionCoordinator?
    private(set) var producer: TransactionalProducer!
    let topic = TopicName(rawValue: "bench")!

    func open() throws {
        let directory = NSTemporaryDirectory() + "sluice-bench-txn-\(UUID().uuidString)"
        self.directory = directory
        let log = try LogManager.open(directory: directory)
        let coordinator = try TransactionCoordinator(log: log, config: TransactionCoordinatorConfig())
        try log.createTopic(topic, config: TopicConfig(partitionCount: 1))
        producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: "bench")
        try producer.initTransactions()
        self.log = log
        self.coordinator = coordinator
    }

    func remove() {
        log?.close()
        log = nil
        coordinator = nil
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// A benchmark's name with spaces as underscores: the benchmark tool writes threshold files
/// under that form but looks them up under the name as given, so only such names round-trip
/// (`swift package benchmark thresholds update` / `check`).
func thresholdName(_ name: String) -> String { name.replacingOccurrences(of: " ", with: "_") }
