import ArgumentParser
import Foundation
import MetricsExport
import PipelineRuntime

/// `pipeline status [PIPELINE] [--url http://HOST:PORT] [--format text|json]`: what a pipeline
/// is doing. With `--url`, asks a running `run`/`serve` for its `GET /status` (every pipeline it
/// runs, or only PIPELINE); without, reads PIPELINE's status from a data directory no process
/// holds (not running: the last commit from its audit trail, a rate of 0). The same document
/// either way (``PipelineStatus``).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a pipeline's workers, committed offsets, lag, last commit, rate and dead letters.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Argument(help: "The pipeline (required without --url; with it, only this one of the process's pipelines).")
    var pipeline: String?
    @Option(help: ArgumentHelp("A running process's metrics listener, e.g. http://127.0.0.1:9464 (its --metrics address).",
                               valueName: "url"))
    var url: String?
    @Option(help: "text (default) or json (the /status document).") var format: Format = .text
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if url == nil && pipeline == nil {
            throw ValidationError("name a PIPELINE (read from the data directory) or give --url of a running process")
        }
        if let url { _ = try StatusURL(url) }
    }

    func run() throws {
        var document: StatusDocument
        if let url {
            document = try Self.fetch(try StatusURL(url))
            if let pipeline {
                document.pipelines = document.pipelines.filter { $0.pipeline == pipeline }
                if document.pipelines.isEmpty { throw CLIError("the process at \(url) runs no pipeline '\(pipeline)'") }
            }
        } else {
            let definition = try catalogPipeline(pipeline ?? "")
            let status = try withLog(data, command: "status") { log in
                try oneLineErrors { try PipelineStatus.make(pipeline: definition, log: log, activity: nil) }
            }
            document = StatusDocument(pipelines: [status])
        }
        switch format {
        case .json: print(try document.json(), terminator: "")
        case .text: print(Self.text(document), terminator: "")
        }
    }

    /// GET `/status` of a running process.
    static func fetch(_ target: StatusURL) throws -> StatusDocument {
        let answer: (status: Int, body: [UInt8])
        do {
            answer = try MetricsClient.get(host: target.host, port: target.port, path: target.path)
        } catch {
            throw CLIError("\(error)")
        }
        guard answer.status == 200 else {
            throw CLIError("GET \(target) answered \(answer.status): \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
        }
        do {
            return try JSONDecoder().decode(StatusDocument.self, from: Data(answer.body))
        } catch {
            throw CLIError("GET \(target) did not answer a status document: \(error)")
        }
    }

    /// A block per pipeline: a headline, the last commit and rate, the inputs as a table, the
    /// dead letters by type.
    static func text(_ document: StatusDocument) -> String {
        guard !document.pipelines.isEmpty else { return "no pipelines run in this process\n" }
        return document.pipelines.map(text).joined(separator: "\n")
    }

    private static func text(_ status: PipelineStatus) -> String {
        var lines: [String] = []
        lines.append("\(status.pipeline): \(status.running ? "running" : "not running"), \(status.guarantee), group \(status.group), "
                     + "\(status.workers.count) worker\(status.workers.count == 1 ? "" : "s")")
        if let last = status.lastCommit, let age = status.lastCommitAgeSeconds {
            lines.append("  last commit    \(last) (\(String(format: "%.1f", age)) s ago)")
        } else {
            lines.append("  last commit    none")
        }
        var rate = "  records/s      \(String(format: "%.1f", status.recordsPerSecond)) (last 10 s)"
        if let commits = status.commits { rate += ", \(commits) commits by this process" }
        lines.append(rate)
        lines.append("  lag            \(status.lag)")
        let rows = [["INPUT", "PARTITION", "COMMITTED", "END", "LAG"]] + status.inputs.map {
            [$0.topic, String($0.partition), $0.committedOffset.map(String.init) ?? "-", String($0.endOffset), String($0.lag)]
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append("  " + row.enumerated().map { column, cell in
                column == 4 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
        if status.deadLetters.isEmpty {
            lines.append("  dead letters   0")
        } else {
            lines.append("  dead letters   \(status.deadLettersTotal): "
                         + status.deadLetters.map { "\($0.errorType) at \($0.stage) \($0.count)" }.joined(separator: ", "))
        }
        for (store, seconds) in status.stateRestoreSeconds.sorted(by: { $0.key < $1.key }) {
            lines.append("  restored       \(store) in \(String(format: "%.3f", seconds)) s")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `http://HOST:PORT[/PATH]` of `--url`; the path defaults to `/status`.
struct StatusURL: CustomStringConvertible {
    let host: String
    let port: Int
    let path: String

    init(_ text: String) throws {
        guard text.hasPrefix("http://") else {
            throw ValidationError("--url '\(text)': expected http://HOST:PORT (the process's --metrics address)")
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count))
        let address = try HostPort(String(authority), flag: "--url")
        guard address.port > 0 else { throw ValidationError("--url '\(text)': the port must not be 0") }
        host = address.host
        port = address.port
        self.path = path.isEmpty || path == "/" ? "/status" : path
    }

    var description: String { "http://\(host):\(port)\(path)" }
}
