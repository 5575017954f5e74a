import LogStorage
import Logging
import SchemaRegistry
import Simulation
import StreamCore

let dataDirectory = "/data"

func makeClock() -> SimulatedClock { SimulatedClock(start: Timestamp(milliseconds: 1_700_000_000_000)) }

func openLog(_ disk: SimulatedDisk, clock: SimulatedClock) throws -> LogManager {
    var options = LogOptions()
    options.offsetsTopicPartitions = 1
    options.ownerDescription = "registry-tests"
    return try LogManager.open(directory: dataDirectory, storage: disk, clock: clock, options: options, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// A registry over a fresh simulated disk, with the disk and log kept for reopening.
final class RegistryFixture {
    let disk: SimulatedDisk
    let clock = makeClock()
    private(set) var log: LogManager
    private(set) var registry: SchemaRegistry

    init(seed: UInt64 = 1) throws {
        disk = SimulatedDisk(seed: seed)
        log = try openLog(disk, clock: clock)
        registry = try SchemaRegistry(log: log, rules: .avro)
    }

    /// Closes the log and opens it and the registry again (a clean restart).
    func reopen() throws {
        log.close()
        log = try openLog(disk, clock: clock)
        registry = try SchemaRegistry(log: log, rules: .avro)
    }

    deinit { log.close() }
}

/// The seed's OrderCreated schema (Pipelines/schemas/order-created-v1.avsc).
let orderV1 = #"{"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}]}"#
/// v2: adds `amount`, a decimal with a default (BACKWARD compatible).
let orderV2 = #"{"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\u0000"}]}"#
/// Adds a field without a default and changes a type: refused by BACKWARD.
let orderIncompatible = #"{"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "long"}, {"name": "timestamp", "type": "string"}, {"name": "currency", "type": "string"}]}"#

/// A distinct schema per `n`, each BACKWARD compatible with every other (record `Event` with a
/// field `extra<n>` that has a default).
func eventSchema(_ n: Int) -> String {
    #"{"type": "record", "name": "Event", "fields": [{"name": "id", "type": "string"}, {"name": "extra\#(n)", "type": "string", "default": ""}]}"#
}
