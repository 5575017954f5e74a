import LogStorage
import MetricsExport
import PipelineRuntime
import Logging
import Foundation

/// `--metrics HOST:PORT` of `run` and `serve`: makes the process's swift-metrics backend a
/// Prometheus export over the data directory (consumer lag of every group on each scrape) and
/// serves it as `GET /metrics` on `address`; prints `metrics listening on HOST:PORT` once it
/// accepts connections. Call before the pipelines start, so their metrics record into it.
/// With `servesPartitions` (`serve`) every partition's log end and last stable offsets are exported too.
/// `GET /status` answers `status`'s pipelines as JSON (``StatusDocument``), registered as they start.
func startMetricsListener(_ address: HostPort, log: LogManager, servesPartitions: Bool = false, status: PipelineStatusBoard,
                          logger: Logger) throws -> MetricsServer {
    let export = PrometheusExport(log: log, servesPartitions: servesPartitions)
    export.bootstrap()
    var routes = export.routes
    routes["/status"] = {
        do {
            return MetricsResponse(contentType: "application/json", body: try status.document(log: log).json())
        } catch {
            return MetricsResponse(status: 500, contentType: "text/plain; charset=utf-8", body: "cannot compute the status: \(error)\n")
        }
    }
    let server = MetricsServer(host: address.host, port: address.port, routes: MetricsRoutes(routes), logger: logger)
    do {
        try runBlocking { try await server.start() }
    } catch {
        throw CLIError("cannot listen on \(address.host):\(address.port) (--metrics): \(error)")
    }
    FileHandle.standardOutput.write(Data("metrics listening on \(address.host):\(server.port ?? address.port)\n".utf8))
    return server
}
