import ArgumentParser
import StreamCore
import LogStorage
import PipelineRuntime

/// `pipeline recover PIPELINE --skip-damaged TOPIC/PARTITION@OFFSET`: moves a pipeline past a
/// damaged source batch, on the record: its raw bytes and position go to `<pipeline>.dlq` (stage
/// `read`) and the pipeline's committed offset moves past it, in one transaction (see
/// ``DamagedBatchSkip``). `pipeline run` names the exact command when it stops at damage.
struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Move a pipeline past a damaged source batch, dead-lettering its raw bytes.")

    @Argument(help: "The pipeline's name (see `pipeline list`).") var name: String
    @Option(name: .customLong("skip-damaged"), help: ArgumentHelp(
        "The damaged batch a run stopped at, as the run's error names it.", valueName: "TOPIC/PARTITION@OFFSET"))
    var skipDamaged: String
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        if Self.position(skipDamaged) == nil {
            throw ValidationError("invalid --skip-damaged '\(skipDamaged)': expected TOPIC/PARTITION@OFFSET (e.g. orders/0@2477)")
        }
    }

    /// `orders/0@2477` as topic, partition and offset.
    static func position(_ text: String) -> (topic: String, partition: Int32, offset: Int64)? {
        guard let at = text.lastIndex(of: "@"), let slash = text[..<at].lastIndex(of: "/") else { return nil }
        let topic = String(text[..<slash])
        guard !topic.isEmpty, let partition = Int32(text[text.index(after: slash)..<at]), partition >= 0,
              let offset = Int64(text[text.index(after: at)...]), offset >= 0 else { return nil }
        return (topic, partition, offset)
    }

    func run() throws {
        let pipeline = try catalogPipeline(name)
        guard let (topic, partition, offset) = Self.position(skipDamaged) else { throw CLIError("invalid --skip-damaged '\(skipDamaged)'") }
        let topicPartition = TopicPartition(try topicName(topic), PartitionID(partition))
        let locked = "cannot recover \(name) while the data directory is in use (stop the pipeline first)"
        try withEngine(data, command: "recover \(name)", whenLocked: locked) { log, coordinator in
            let outcome: DamagedBatchSkip.Outcome
            do {
                outcome = try DamagedBatchSkip.skip(pipeline: pipeline, topicPartition: topicPartition, offset: Offset(offset),
                                                    log: log, coordinator: coordinator)
            } catch let error as PipelineRunError {
                throw CLIError(error.description)
            }
            let damaged = outcome.damaged
            let range = damaged.baseOffset.map { base in " (offsets \(base)–\(damaged.lastOffset.map(\.description) ?? "?"))" } ?? ""
            print("""
                \(name): skipped the damaged batch at \(topic)/\(partition)@\(offset)\(range), \(damaged.bytes.count) bytes at file \
                position \(damaged.position) of \(damaged.path): \(damaged.reason)
                dead-lettered its raw bytes to \(outcome.deadLetterTopic) (dlq.stage read); the pipeline resumes at offset \(outcome.resumeOffset)
                """)
        }
    }
}
