import ArgumentParser
import StreamCore
import LogStorage
import Transactions
import Foundation
import Synchronization

extension CopyTransform: ExpressibleByArgument {}
extension ProcessingGuarantee: ExpressibleByArgument {}

/// `pipeline copy SOURCE TARGET --group G [--transactional-id ID] [--commit-interval 100ms]
/// [--transform uppercase|identity] [--until-idle]`: the exactly-once consume-transform-produce
/// loop. Killed at any instant and restarted with the same arguments, it resumes where it
/// committed; the read-committed TARGET ends with every SOURCE record exactly once.
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every record of SOURCE into TARGET exactly once (output and offsets commit together).")

    @Argument var source: String
    @Argument var target: String
    @Option(help: "The consumer group whose committed offsets track the copy.") var group: String
    @Option(name: .customLong("transactional-id"), help: "Defaults to copy-<group>-<source>-<target>; a newer copy with the same id fences the older.")
    var transactionalID: String?
    @Option(name: .customLong("commit-interval"), help: "How long one transaction collects records (e.g. 10ms, 100ms, 1s).")
    var commitInterval: String = "100ms"
    @Option(help: "identity or uppercase (ASCII letters of the value).") var transform: CopyTransform = .identity
    @Option(help: "exactly-once (default) or at-least-once (no transactions; for comparison).") var guarantee: ProcessingGuarantee = .exactlyOnce
    @Flag(name: .customLong("until-idle"), help: "Exit once everything committed in SOURCE is copied; otherwise follow it.")
    var untilIdle = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        // Before the slow start (open, recovery), so a Ctrl-C then still ends cleanly.
        let stop = InterruptFlag()
        guard let interval = Units.milliseconds(commitInterval), interval > 0, interval <= 3_600_000 else {
            throw CLIError("invalid commit interval '\(commitInterval)' (between 1ms and 1h, e.g. 100ms)")
        }
        let sourceName = try topicName(source)
        let targetName = try topicName(target)
        guard sourceName != targetName else { throw CLIError("SOURCE and TARGET must differ") }
        try withEngine(data, command: "copy \(source) \(target)") { log, coordinator in
            let sourceTopic = try log.topic(sourceName)
            if !log.hasTopic(targetName) {
                try log.createTopic(targetName, config: sourceTopic.config)
                FileHandle.standardError.write(Data("created topic \(targetName) like \(sourceName) (\(sourceTopic.partitionCount) partition\(sourceTopic.partitionCount == 1 ? "" : "s"))\n".utf8))
            }
            var options = CopyOptions(source: sourceName, target: targetName, group: group, transactionalID: transactionalID)
            options.commitIntervalMilliseconds = Int(interval)
            options.transform = transform
            options.guarantee = guarantee
            log.startBackgroundMaintenance()
            let copier = try TransactionalCopier(log: log, coordinator: coordinator, options: options)
            let reporter = ProgressReporter()
            let started = Date()
            try copier.run(untilIdle: untilIdle, shouldStop: { stop.isSet }) { progress in
                reporter.report("copied \(progress.recordsCopied) records in \(progress.transactions) transactions, lag \(progress.lag)")
            }
            reporter.finish()
            let seconds = max(Date().timeIntervalSince(started), 0.001)
            let rate = Int(Double(copier.progress.recordsCopied) / seconds)
            print("copied \(copier.progress.recordsCopied) records from \(sourceName) to \(targetName) in \(copier.progress.transactions) transactions (\(String(format: "%.2f", seconds)) s, \(rate) records/s)")
            if let p50 = copier.progress.commitLatency(percentile: 50), let p99 = copier.progress.commitLatency(percentile: 99) {
                print("commit latency: p50 \(String(format: "%.2f", Double(p50) / 1000)) ms, p99 \(String(format: "%.2f", Double(p99) / 1000)) ms")
            }
        }
    }
}

/// Raised by the process's SIGINT/SIGTERM handler (an atomic store is async-signal-safe).
private let interruptRaised = Atomic<Bool>(false)

/// Set by SIGINT/SIGTERM so a loop can finish its transaction and exit cleanly.
///
/// The handler is installed in one `signal` call, so a signal can never fall between the old
/// disposition and the new one: ignoring the signal first and watching it with a dispatch source
/// (which registers asynchronously) lost a Ctrl-C that came in that window, during start-up.
/// The signals are also unblocked on the calling thread, since a parent may start the process
/// with them blocked (a thread pool's threads block them, and a child inherits the mask).
final class InterruptFlag: Sendable {
    init() {
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signalNumber in [SIGINT, SIGTERM] {
            _ = signal(signalNumber) { _ in interruptRaised.store(true, ordering: .relaxed) }
            sigaddset(&unblocked, signalNumber)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }

    var isSet: Bool { interruptRaised.load(ordering: .relaxed) }
}

/// Progress on standard error: a line rewritten in place on a terminal, a plain line about once
/// a second otherwise (or every `interval`, when given).
final class ProgressReporter {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let interval: TimeInterval
    private var lastReport = Date.distantPast
    private var shown = false

    init(interval: TimeInterval? = nil) {
        self.interval = interval ?? (isTerminal ? 0.2 : 1.0)
    }

    func report(_ line: String) {
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= interval else { return }
        lastReport = now
        shown = true
        let text = isTerminal ? "\r\u{1B}[K" + line : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        if isTerminal && shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
