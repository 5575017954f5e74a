import ArgumentParser
import StreamCore
import PipelineRuntime
import Foundation

/// `pipeline replay PIPELINE --from earliest|OFFSET|TIMESTAMP [--yes]`: rewinds the pipeline's
/// committed source offsets and resets its state stores (see ``PipelineReplay``), after showing
/// the plan and asking for confirmation on a terminal; without a terminal `--yes` is required.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rewind a pipeline's committed offsets and reset its state, so the next run processes the input again.")

    @Argument(help: "The pipeline's name (see `pipeline list`).") var name: String
    @Option(help: "earliest, an offset (42, for every partition), an ISO 8601 time (2025-06-11T12:00:00Z) or epoch milliseconds (1749643200000ms).")
    var from: String
    @Flag(help: "Do not ask for confirmation.") var yes = false
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if ReplayStart(parsing: from) == nil {
            throw ValidationError("invalid --from '\(from)': use earliest, an offset (42), an ISO 8601 time (2025-06-11T12:00:00Z) or epoch milliseconds (1749643200000ms)")
        }
    }

    func run() throws {
        let pipeline = try catalogPipeline(name)
        guard let start = ReplayStart(parsing: from) else { throw CLIError("invalid --from '\(from)'") }
        let interactive = isatty(STDIN_FILENO) != 0
        if !yes && !interactive {
            throw CLIError("replay rewinds \(name)'s committed offsets and deletes its state: confirm with --yes (standard input is not a terminal)")
        }
        let locked = "cannot replay \(name) while the data directory is in use (stop the pipeline first)"
        try withEngine(data, command: "replay \(name)", whenLocked: locked) { log, coordinator in
            let plan = try oneLineErrors { try PipelineReplay.plan(pipeline: pipeline, start: start, log: log, coordinator: coordinator) }
            print(ReplayCommand.describe(plan))
            if plan.losesState {
                let warning = "warning: the stores restart empty, but the input before the rewound offsets is not processed again: their state of that input is lost"
                FileHandle.standardError.write(Data((warning + "\n").utf8))
            }
            if !yes {
                print("Type yes to continue: ", terminator: "")
                fflush(nil)
                guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else { throw CLIError("replay cancelled; nothing changed") }
            }
            let summary = try oneLineErrors { try PipelineReplay.execute(plan, log: log, coordinator: coordinator) }
            print("replayed \(name): rewound \(summary.partitionsRewound) partition\(summary.partitionsRewound == 1 ? "" : "s") of group \(plan.group), deleted \(summary.changelogTopicsDeleted) changelog topic\(summary.changelogTopicsDeleted == 1 ? "" : "s") and \(summary.checkpointsRemoved) checkpoint\(summary.checkpointsRemoved == 1 ? "" : "s"), fenced \(summary.transactionsFenced) transactional id\(summary.transactionsFenced == 1 ? "" : "s"); `pipeline run \(name)` processes the input again")
        }
    }

    /// The plan, a line per partition and per reset.
    static func describe(_ plan: ReplayPlan) -> String {
        var lines = ["replay \(plan.pipeline) from \(plan.start) (consumer group \(plan.group)):"]
        for partition in plan.partitions {
            let unchanged = partition.isRewound ? "" : " (not rewound)"
            lines.append("  \(partition.topicPartition): committed \(partition.committed.map(\.description) ?? "none") -> \(partition.rewound)\(unchanged)")
        }
        for partition in plan.repartitions {
            lines.append("  \(partition.topicPartition): committed \(partition.committed.map(\.description) ?? "none") -> end \(partition.rewound) (repartition topic: the rerun writes it again)")
        }
        if plan.stores.isEmpty {
            lines.append("  no state stores to reset")
        } else {
            let changelogs = plan.changelogTopics.map(\.rawValue).joined(separator: ", ")
            lines.append("  reset stores to empty: \(plan.stores.joined(separator: ", ")) (checkpoints; changelog topics: \(changelogs.isEmpty ? "none yet" : changelogs))")
        }
        if !plan.workerTransactionalIDs.isEmpty {
            lines.append("  fence transactional ids: \(plan.workerTransactionalIDs.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}
