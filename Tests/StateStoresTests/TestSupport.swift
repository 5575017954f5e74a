import Foundation
import Logging
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import StateStores
import Simulation

/// A data directory on a simulated disk with a coordinator, reopened after crashes.
final class StoreTestEngine {
    let disk: SimulatedDisk
    let clock = SimulatedClock(start: Timestamp(milliseconds: 1_750_000_000_000))
    private(set) var log: LogManager!
    private(set) var coordinator: TransactionCoordinator!

    init(seed: UInt64 = 1) throws {
        disk = SimulatedDisk(seed: seed)
        try open()
    }

    func open() throws {
        var options = LogOptions()
        options.offsetsTopicPartitions = 2
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        log = try LogManager.open(directory: "/data", storage: disk, clock: clock, options: options, logger: logger)
        var config = TransactionCoordinatorConfig()
        config.transactionLogPartitions = 2
        coordinator = try TransactionCoordinator(log: log, config: config)
    }

    /// Power loss, then a fresh open (recovery included).
    func crashAndReopen() throws {
        if !disk.isCrashed { disk.crash() }
        disk.restart()
        try open()
    }

    func producer(_ id: String = "store-test", batchBytesMax: Int = 256 << 10) throws -> TransactionalProducer {
        let producer = TransactionalProducer(log: log, coordinator: coordinator, transactionalID: id, batchBytesMax: batchBytesMax)
        try producer.initTransactions()
        return producer
    }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

/// A committed key-value map as strings, for readable expectations.
func contents(_ store: KeyValueStore) -> [String: String] {
    var result: [String: String] = [:]
    for entry in store.all() { result[text(entry.key)!] = text(entry.value)! }
    return result
}
