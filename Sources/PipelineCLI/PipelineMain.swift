import ArgumentParser
package import Sluice
import Logging
import Foundation

/// The `pipeline` executable's entry point: the user's catalog plus one call.
package enum PipelineMain {
    /// Parses the command line and runs the command; exits non-zero with a one-line error on
    /// failure.
    package static func run(catalog: PipelineCatalog) {
        CatalogRegistry.catalog = catalog
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
        PipelineCommand.main()
    }
}

/// Where the catalog handed to ``PipelineMain/run(catalog:)`` is kept for the subcommands.
enum CatalogRegistry {
    nonisolated(unsafe) static var catalog = PipelineCatalog([])
}

/// `pipeline`: the root command.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Sluice: exactly-once stream processing over compressed, partitioned logs.",
        subcommands: [
            DemoCommand.self, TopicsCommand.self, ProduceCommand.self, ConsumeCommand.self,
            CopyCommand.self, TransactionsCommand.self, ListCommand.self, RunCommand.self, StateCommand.self, DeadLetterCommand.self,
            ReplayCommand.self, RecoverCommand.self, LogCommand.self, BenchCommand.self, ServeCommand.self, SchemasCommand.self,
            LagCommand.self,
            StatusCommand.self,
            AuditCommand.self,
        ]
    )
}

/// `pipeline list`: the pipelines in the catalog, one line each.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the pipelines in the catalog.")

    func run() throws {
        let pipelines = CatalogRegistry.catalog.pipelines
        if pipelines.isEmpty {
            print("no pipelines in the catalog yet (declare them in Pipelines/ and add them to Pipelines/Catalog.swift)")
            return
        }
        let width = pipelines.map(\.name.count).max() ?? 0
        for pipeline in pipelines {
            print(pipeline.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + pipeline.summary)
        }
    }
}
