import LogStorage
import MetricsExport
import Logging
import Foundation

/// `--metrics HOST:PORT` of `run` and `serve`: makes the process's swift-metrics backend a
/// Prometheus export over the data directory (consumer lag of every group on each scrape) and
/// serves it as `GET /metrics` on `address`; prints `metrics listening on HOST:PORT` once it
/// accepts connections. Call before the pipelines start, so their metrics record into it.
/// With `servesPartitions` (`serve`) every partition's log end and last stable offsets are exported too.
func startMetricsListener(_ address: HostPort, log: LogManager, servesPartitions: Bool = false, logger: Logger) throws -> MetricsServer {
    let export = PrometheusExport(log: log, servesPartitions: servesPartitions)
    export.bootstrap()
    let server = MetricsServer(host: address.host, port: address.port, routes: MetricsRoutes(export.routes), logger: logger)
    do {
        try runBlocking { try await server.start() }
    } catch {
        throw CLIError("cannot listen on \(address.host):\(address.port) (--metrics): \(error)")
    }
    FileHandle.standardOutput.write(Data("metrics listening on \(address.host):\(server.port ?? address.port)\n".utf8))
    return server
}
