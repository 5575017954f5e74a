import ArgumentParser
import StreamCore
import LogStorage
import Transactions
import PipelineRuntime
import KafkaBroker
import KafkaServer
import KafkaGateway
import SchemaRegistry
import SchemaRegistryServer
import MetricsExport
import Sluice
import Logging
import Foundation

/// `pipeline serve [--listen 127.0.0.1:9092] [--advertised-listener HOST:PORT] [--data-dir DIR]
/// [--run PIPELINE]... [--auto-create-topics true|false] [--default-partitions N]
/// [--max-request-bytes N] [--max-connections N] [--registry-listen HOST:PORT]
/// [--guarantee G] [--commit-interval D] [--metrics HOST:PORT]`: one process owns
/// the data directory and serves it over the Kafka protocol, and runs each `--run` pipeline over
/// the same log, so Kafka clients produce its inputs and read its outputs (read-committed: exactly
/// what `pipeline consume` sees). With `--registry-listen` it also serves the data directory's
/// schema registry as Confluent Schema Registry's REST API, and with `--metrics` its pipelines'
/// metrics and every consumer group's lag as `GET /metrics` (printing `metrics listening on
/// HOST:PORT` once it can be scraped).
///
/// It prints `listening on HOST:PORT` once clients can connect (and `registry listening on
/// HOST:PORT` once the registry's clients can), logs connections and errors as
/// lines on standard error, and on SIGINT/SIGTERM stops accepting, answers what is in flight,
/// commits the pipelines and exits 0. A pipeline that fails stops the server (exit 1) with its
/// error, as a Kafka Streams application dies with its stream thread.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the data directory over the Kafka protocol (and run pipelines in the same process).")

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "HOST:PORT")) var listen = "127.0.0.1:9092"
    @Option(name: .customLong("advertised-listener"), help: ArgumentHelp(
        "The address clients are told to connect to (Metadata's broker address); default: --listen.", valueName: "HOST:PORT"))
    var advertisedListener: String?
    @Option(name: .customLong("run"), help: ArgumentHelp("A pipeline of the catalog to run in the server (repeatable).", valueName: "PIPELINE"))
    var pipelines: [String] = []
    @Option(name: .customLong("auto-create-topics"), help: ArgumentHelp(
        "Whether Metadata creates a topic a client asks for (as Kafka's auto.create.topics.enable).", valueName: "true|false"))
    var autoCreateTopics = "true"
    @Option(name: .customLong("default-partitions"), help: "The partition count of topics created without one.")
    var defaultPartitions = 1
    @Option(name: .customLong("max-request-bytes"), help: "The largest request frame accepted; a larger one closes its connection.")
    var maxRequestBytes = 100 * 1024 * 1024
    @Option(name: .customLong("max-connections"), help: "The most client connections open at once; more are refused.")
    var maxConnections = 1_000
    @Option(name: .customLong("registry-listen"), help: ArgumentHelp(
        "Also serve the schema registry (Confluent's REST API) on this address.", valueName: "HOST:PORT"))
    var registryListen: String?
    @Option(help: "exactly-once or at-least-once for every --run pipeline, overriding its setting.")
    var guarantee: String?
    @Option(name: .customLong("commit-interval"), help: "How long one commit of a --run pipeline collects records (e.g. 10ms, 100ms, 1s), overriding its setting.")
    var commitInterval: String?
    @Option(help: ArgumentHelp("Serve the pipelines' metrics and every consumer group's lag as GET /metrics (Prometheus text) on this address.",
                               valueName: "HOST:PORT"))
    var metrics: String?
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        _ = try HostPort(listen, flag: "--listen")
        if let metrics { _ = try HostPort(metrics, flag: "--metrics") }
        if let registryListen { _ = try HostPort(registryListen, flag: "--registry-listen") }
        if let advertisedListener { _ = try HostPort(advertisedListener, flag: "--advertised-listener") }
        guard ["true", "false"].contains(autoCreateTopics) else {
            throw ValidationError("--auto-create-topics '\(autoCreateTopics)': expected true or false")
        }
        if defaultPartitions < 1 || defaultPartitions > TopicConfig.partitionCountMax {
            throw ValidationError("--default-partitions must be between 1 and \(TopicConfig.partitionCountMax)")
        }
        if maxRequestBytes < 1024 { throw ValidationError("--max-request-bytes must be at least 1024") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
    }

    func run() throws {
        let stop = InterruptFlag()
        let listenAddress = try HostPort(listen, flag: "--listen")
        let registryAddress = try registryListen.map { try HostPort($0, flag: "--registry-listen") }
        let metricsAddress = try metrics.map { try HostPort($0, flag: "--metrics") }
        let advertised = try advertisedListener.map { try HostPort($0, flag: "--advertised-listener") } ?? listenAddress
        let definitions = try pipelines.map(catalogPipeline).map(reconfigured)
        var logger = Logger(label: "sluice.serve")
        logger.logLevel = .info
        try withEngine(data, command: "serve") { log, coordinator in
            let statusBoard = PipelineStatusBoard()
            let metricsServer = try metricsAddress.map {
                try startMetricsListener($0, log: log, servesPartitions: true, status: statusBoard, logger: logger)
            }
            // One registry for the REST API, the pipelines' Avro serdes and Produce's subject
            // checks, so each sees the others' registrations at once.
            let schemas = RegistrySchemaSource(log: log)
            var brokerConfig = KafkaBrokerConfig()
            brokerConfig.valueSubjectCheck = { value, subject in schemas.valueSubjectRefusal(value, subject: subject) }
            brokerConfig.advertisedHost = advertised.host
            brokerConfig.advertisedPort = Int32(advertised.port)
            brokerConfig.autoCreateTopics = autoCreateTopics == "true"
            brokerConfig.defaultPartitions = defaultPartitions
            let gateway = try KafkaGateway(log: log, coordinator: coordinator, brokerConfig: brokerConfig, logger: logger)
            defer { gateway.close() }
            let server = KafkaServer(
                configuration: KafkaServerConfiguration(
                    host: listenAddress.host, port: listenAddress.port, requestBytesMax: maxRequestBytes, connectionsMax: maxConnections),
                handler: gateway, logger: logger, metrics: metricsServer != nil ? KafkaServerMetrics() : nil)
            do {
                try runBlocking { try await server.start() }
            } catch {
                throw CLIError("cannot listen on \(listen): \(error)")
            }
            // Unbuffered, so a supervisor reading a pipe sees the line at once.
            FileHandle.standardOutput.write(Data("listening on \(listenAddress.host):\(server.port ?? listenAddress.port)\n".utf8))
            let registryServer = try registryAddress.map { address in
                try startRegistry(schemas: schemas, address: address, logger: logger)
            }

            if definitions.count == 1 {
                CrashSignalRecorder.install(path: CrashQuarantine.signalPath(log: log, pipeline: definitions[0].name))
            }
            let hosted = definitions.map {
                HostedPipeline(pipeline: $0, log: log, coordinator: coordinator, schemas: schemas, logger: logger, stop: stop,
                               recordsMetrics: metricsServer != nil, statusBoard: statusBoard)
            }
            for pipeline in hosted { pipeline.start() }
            while !stop.isSet && !hosted.contains(where: \.hasFailed) {
                Thread.sleep(forTimeInterval: 0.05)
            }
            logger.info("stopping: no new connections; answering what is in flight")
            // Parked requests (long-poll fetches, joins) are answered now with what there is,
            // so the drain that follows does not wait out their timeouts.
            gateway.close()
            try? runBlocking { try await server.shutdown() }
            if let registryServer { try? runBlocking { try await registryServer.shutdown() } }
            if let metricsServer { try? runBlocking { try await metricsServer.shutdown() } }
            for pipeline in hosted { pipeline.stopAndWait() }
            if let failure = hosted.compactMap(\.failure).first { throw failure }
        }
    }
}

extension ServeCommand {
    /// `pipeline` with `--guarantee` and `--commit-interval` applied (itself when neither is given).
    func reconfigured(_ pipeline: any PipelineDefinition) throws -> any PipelineDefinition {
        var configuration = pipeline.configuration
        if let guarantee { configuration.guarantee = try parseGuarantee(guarantee) }
        if let commitInterval { configuration.commitInterval = .milliseconds(try parseCommitInterval(commitInterval)) }
        return configuration == pipeline.configuration ? pipeline : ReconfiguredPipeline(pipeline, configuration: configuration)
    }

    /// Opens the data directory's schema registry and serves it on `address`; prints `registry
    /// listening on HOST:PORT` once it accepts connections.
    func startRegistry(schemas: RegistrySchemaSource, address: HostPort, logger: Logger) throws -> SchemaRegistryServer {
        let registry: SchemaRegistry
        do { registry = try schemas.registry() } catch { throw CLIError("\(error)") }
        let server = SchemaRegistryServer(
            configuration: SchemaRegistryServerConfiguration(host: address.host, port: address.port), registry: registry, logger: logger)
        do {
            try runBlocking { try await server.start() }
        } catch {
            throw CLIError("cannot listen on \(address.host):\(address.port) (--registry-listen): \(error)")
        }
        FileHandle.standardOutput.write(Data("registry listening on \(address.host):\(server.port ?? address.port)\n".utf8))
        return server
    }
}

/// `HOST:PORT` (or `[IPv6]:PORT`) from the command line.
struct HostPort: Equatable {
    let host: String
    let port: Int

    init(_ text: String, flag: String) throws {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            throw ValidationError("\(flag) '\(text)': expected HOST:PORT")
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65_535).contains(port) else {
            throw ValidationError("\(flag) '\(text)': expected HOST:PORT with a port from 0 to 65535")
        }
        host = String(hostPart)
        self.port = port
    }
}

/// One `--run` pipeline on its own thread: it waits for its source topics to exist (a client's
/// first produce may create them), then runs until the server stops, committing on the way out.
///
/// Thread-safety: `start`/`stopAndWait` from the serving thread; `hasFailed`/`failure` from any.
final class HostedPipeline: @unchecked Sendable {
    private let pipeline: any PipelineDefinition
    private let log: LogManager
    private let coordinator: TransactionCoordinator
    private let schemas: RegistrySchemaSource
    private let logger: Logger
    private let stop: InterruptFlag
    private let recordsMetrics: Bool
    private let statusBoard: PipelineStatusBoard?
    private let stopping = Lock()
    private var stopRequested = false
    private var error: CLIError?
    private let finished = DispatchSemaphore(value: 0)

    init(pipeline: any PipelineDefinition, log: LogManager, coordinator: TransactionCoordinator, schemas: RegistrySchemaSource,
         logger: Logger, stop: InterruptFlag, recordsMetrics: Bool = false, statusBoard: PipelineStatusBoard? = nil) {
        self.pipeline = pipeline
        self.recordsMetrics = recordsMetrics
        self.statusBoard = statusBoard
        self.schemas = schemas
        self.log = log
        self.coordinator = coordinator
        self.logger = logger
        self.stop = stop
    }

    private var shouldStop: Bool {
        stopping.lock(); defer { stopping.unlock() }
        return stopRequested || stop.isSet
    }

    var failure: CLIError? {
        stopping.lock(); defer { stopping.unlock() }
        return error
    }

    var hasFailed: Bool { failure != nil }

    func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            do {
                try run()
            } catch {
                let message = "pipeline '\(pipeline.name)' stopped: \(error)"
                logger.error("\(message)")
                stopping.lock()
                self.error = CLIError(message)
                stopping.unlock()
            }
        }
        thread.name = "pipeline \(pipeline.name)"
        thread.start()
    }

    func stopAndWait() {
        stopping.lock()
        stopRequested = true
        stopping.unlock()
        finished.wait()
    }

    private func run() throws {
        let internalTopics = Set(pipeline.topology.internalTopics)
        let sources = pipeline.topology.sourceTopics.filter { !internalTopics.contains($0) }
        var announced = false
        while let missing = sources.first(where: { TopicName(rawValue: $0).map { !log.hasTopic($0) } ?? true }) {
            if shouldStop { return }
            if !announced {
                logger.info("pipeline '\(pipeline.name)' waits for its source topic '\(missing)'")
                announced = true
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let runner = try PipelineRunner(pipeline: pipeline, log: log, coordinator: coordinator, quarantinesCrashes: true, schemas: schemas,
                                    recordsMetrics: recordsMetrics)
        if let activity = runner.activity { statusBoard?.register(pipeline, activity: activity) }
        logger.info("pipeline '\(pipeline.name)' running")
        let threads = pipeline.configuration.threads ?? ProcessInfo.processInfo.activeProcessorCount
        try runner.run(untilIdle: false, threads: threads, shouldStop: { self.shouldStop })
        let progress = runner.progress
        logger.info("pipeline '\(pipeline.name)' committed and stopped: \(progress.recordsProcessed) records processed, dead-lettered \(progress.deadLettered)")
    }
}

/// Runs an async operation to completion from synchronous code (a command's main thread).
func runBlocking(_ operation: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let outcome = OutcomeBox()
    Task {
        do { try await operation() } catch { outcome.set(error) }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}

private final class OutcomeBox: @unchecked Sendable {
    private let lock = Lock()
    private var stored: (any Error)?
    func set(_ error: any Error) { lock.lock(); stored = error; lock.unlock() }
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return stored }
}
