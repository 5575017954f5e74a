import StreamCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `pipeline` child process of the demo: this same executable with other arguments, its
/// standard output collected and its standard error handed line by line to `onLine` (on a
/// reader thread) as it arrives.
///
/// Thread-safety: `onLine` runs on the reader thread; everything else from the demo's thread.
final class DemoChild: @unchecked Sendable {
    private let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private let output = Lock()
    private var collected = Data()
    private var errorLines: [String] = []
    private let stderrDone = DispatchSemaphore(value: 0)
    private let stdoutDone = DispatchSemaphore(value: 0)

    /// Starts `pipeline ARGUMENTS…`.
    init(_ arguments: [String], onLine: @escaping @Sendable (String) -> Void = { _ in }) throws {
        process.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw CLIError("cannot start `pipeline \(arguments.joined(separator: " "))`: \(error.localizedDescription)")
        }
        let errorHandle = stderr.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while case let chunk = errorHandle.availableData, !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    output.lock(); errorLines.append(line); output.unlock()
                    onLine(line)
                }
            }
            stderrDone.signal()
        }
        let outputHandle = stdout.fileHandleForReading
        Thread.detachNewThread { [self] in
            while case let chunk = outputHandle.availableData, !chunk.isEmpty {
                output.lock(); collected.append(chunk); output.unlock()
            }
            stdoutDone.signal()
        }
    }

    var isRunning: Bool { process.isRunning }

    /// SIGKILL: the process dies at once, in whatever step it is.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to exit and its output to be read.
    /// - Returns: its standard output, its standard error lines, and whether it exited with 0.
    func wait() -> (stdout: String, stderr: [String], succeeded: Bool, killed: Bool) {
        process.waitUntilExit()
        stdoutDone.wait()
        stderrDone.wait()
        let succeeded = process.terminationReason == .exit && process.terminationStatus == 0
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        output.lock(); defer { output.unlock() }
        return (String(decoding: collected, as: UTF8.self), errorLines, succeeded, killed)
    }
}
