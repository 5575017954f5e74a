import ArgumentParser
import StreamCore
import LogStorage
import Transactions
import Logging
import Sluice
import Foundation

/// A command's failure: printed as one line (`Error: …`) with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--data-dir`, shared by every command that opens a data directory.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (created when missing).")
    var dataDirectory: String = "./sluice-data"

    @Option(name: .customLong("producer-id-expiration"),
            help: "How long a partition remembers a producer that wrote nothing to it (e.g. 7d).")
    var producerIDExpiration: String = "7d"

    @Option(name: .customLong("transactional-id-expiration"),
            help: "How long the coordinator remembers an idle transactional id (e.g. 7d).")
    var transactionalIDExpiration: String = "7d"

    func validate() throws {
        for (flag, value) in [("--producer-id-expiration", producerIDExpiration), ("--transactional-id-expiration", transactionalIDExpiration)] {
            guard let milliseconds = Units.milliseconds(value), milliseconds > 0 else {
                throw ValidationError("\(flag) '\(value)': expected a positive duration such as 7d or 12h")
            }
        }
    }

    /// The coordinator's settings from the command line.
    var coordinatorConfig: TransactionCoordinatorConfig {
        var config = TransactionCoordinatorConfig()
        config.transactionalIDExpirationMilliseconds = Units.milliseconds(transactionalIDExpiration) ?? config.transactionalIDExpirationMilliseconds
        return config
    }

    /// Opens the data directory, holding its lock until the returned manager is closed.
    /// - Parameter whenLocked: put before the error when another process holds the directory.
    func open(as command: String, whenLocked: String? = nil) throws -> LogManager {
        var options = LogOptions()
        options.ownerDescription = "pipeline \(command)"
        options.producerIDExpirationMilliseconds = Units.milliseconds(producerIDExpiration) ?? options.producerIDExpirationMilliseconds
        do {
            return try LogManager.open(directory: dataDirectory, options: options, logger: Logger(label: "sluice"))
        } catch {
            if error.code == .locked, let whenLocked { throw CLIError("\(whenLocked): \(error.description)") }
            throw CLIError(error.description)
        }
    }
}

/// Runs `body` with the log and its transaction coordinator open (which completes or aborts
/// whatever a crashed process left open) and the log's maintenance thread running (which sweeps
/// timed-out transactions and expired ids in every command, as well as cleaning the log), turning
/// errors into one-line CLI errors, and always closing the log (which waits for the maintenance
/// thread, syncs and releases the directory lock).
func withEngine<T>(
    _ options: DataDirectoryOptions, command: String, whenLocked: String? = nil, _ body: (LogManager, TransactionCoordinator) throws -> T
) throws -> T {
    let log = try options.open(as: command, whenLocked: whenLocked)
    defer { log.close() }
    do {
        let coordinator = try TransactionCoordinator(log: log, config: options.coordinatorConfig)
        log.startBackgroundMaintenance()
        return try body(log, coordinator)
    } catch let error as LogError {
        throw CLIError(error.description)
    } catch let error as TransactionError {
        throw CLIError(error.description)
    }
}

/// ``withEngine(_:command:_:)`` for commands that need only the log.
func withLog<T>(_ options: DataDirectoryOptions, command: String, _ body: (LogManager) throws -> T) throws -> T {
    try withEngine(options, command: command) { log, _ in try body(log) }
}

/// Validates a topic name given on the command line.
func topicName(_ name: String) throws -> TopicName {
    do { return try TopicName(validating: name) } catch { throw CLIError(error.description) }
}

/// Buffered standard output: records are written in large chunks, not line by line.
final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let limit = 1 << 16

    init() { buffer.reserveCapacity(limit + 4096) }

    func write(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { flush() }
    }

    func write(_ string: String) { write(string.utf8) }

    /// Writes bytes as they are, then a newline.
    func line(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= limit { flush() }
    }

    func line(_ string: String) {
        write(string.utf8)
        buffer.append(0x0A)
        if buffer.count >= limit { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// The pipeline of the catalog called `name`, or a one-line error naming the known ones.
func catalogPipeline(_ name: String) throws -> any PipelineDefinition {
    guard let pipeline = CatalogRegistry.catalog.pipeline(named: name) else {
        let known = CatalogRegistry.catalog.pipelines.map(\.name).joined(separator: ", ")
        throw CLIError("unknown pipeline '\(name)' (the catalog has: \(known.isEmpty ? "none" : known))")
    }
    return pipeline
}
