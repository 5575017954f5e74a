import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `pipeline` executable as a subprocess: in the foreground (stdin fed, stdout and
/// stderr read fully, exit awaited) or in the background (start, signal with SIGKILL or another
/// signal, wait). Reused by the crash tests, which SIGKILL the binary mid-work.

/// The `pipeline` executable built next to the test bundle.
enum PipelineBinary {
    static var url: URL { builtExecutable("pipeline") }

    /// `PipelineFixtures`: the same command line over test-only pipelines (`poison-trap`).
    static var fixturesURL: URL { builtExecutable("PipelineFixtures") }

    private static func builtExecutable(_ name: String) -> URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent(name)
    }
}

/// What a finished `pipeline` process left behind.
struct ProcessResult: CustomStringConvertible, Sendable {
    /// The exit status, or for a process ended by a signal, 128 + the signal number.
    var exitCode: Int32
    /// Whether the process was ended by a signal (`exitCode - 128` names it).
    var signaled: Bool
    var stdoutData: Data
    var stderrData: Data
    /// Whether the watchdog had to kill it.
    var timedOut: Bool

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }

    /// Non-empty stdout lines.
    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    /// stderr lines that are not swift-log lines (those start with an ISO-8601 timestamp).
    var stderrErrorLines: [String] {
        stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            .filter { !ProcessResult.isLogLine($0) && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// swift-log lines on stderr (`2025-06-11T12:00:00+0000 warning sluice : … message`).
    var stderrLogLines: [String] {
        stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init).filter(ProcessResult.isLogLine)
    }

    static func isLogLine(_ line: String) -> Bool {
        let bytes = Array(line.utf8.prefix(11))
        guard bytes.count == 11 else { return false }
        let digit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        return digit(bytes[0]) && digit(bytes[1]) && digit(bytes[2]) && digit(bytes[3]) && bytes[4] == 0x2D
            && digit(bytes[5]) && digit(bytes[6]) && bytes[7] == 0x2D && digit(bytes[8]) && digit(bytes[9])
            && bytes[10] == 0x54
    }

    var description: String {
        "exit \(exitCode)\(signaled ? " (signal)" : "")\(timedOut ? " (timed out)" : "")\n--- stdout ---\n\(stdout.prefix(4000))\n--- stderr ---\n\(stderr.prefix(4000))"
    }
}

enum PipelineProcessError: Error {
    case binaryMissing(String)
}

/// Collects one pipe's bytes on a background thread until end of file.
private final class PipeDrain: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
        thread.start()
    }

    /// Waits for end of file and returns everything read.
    func finish() -> Data {
        done.wait()
        done.signal()
        lock.lock(); defer { lock.unlock() }
        return data
    }

    /// What has been read so far.
    var snapshot: Data {
        lock.lock(); defer { lock.unlock() }
        return data
    }
}

/// A started `pipeline` process whose output is being collected.
final class PipelineProcess: @unchecked Sendable {
    let process: Process
    private let stdoutDrain: PipeDrain
    private let stderrDrain: PipeDrain
    private let stdinHandle: FileHandle
    private let lock = NSLock()
    private var watchdogFired = false
    private var cachedResult: ProcessResult?

    /// Starts `pipeline arguments…` in `directory` (the working directory, so the default
    /// `./sluice-data` lands there), with `stdin` written to it and then closed unless
    /// `keepStdinOpen`. A watchdog SIGKILLs it after `timeout` seconds.
    init(
        _ arguments: [String], in directory: URL? = nil, stdin: Data? = nil, keepStdinOpen: Bool = false,
        environment: [String: String] = [:], timeout: TimeInterval = 30, binary: URL = PipelineBinary.url
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw PipelineProcessError.binaryMissing(binary.path)
        }
        signal(SIGPIPE, SIG_IGN)  // a child that exits before reading its input must not kill us
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["SLUICE_LOG_LEVEL"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        self.process = process
        self.stdinHandle = input.fileHandleForWriting
        self.stdoutDrain = PipeDrain(output.fileHandleForReading)
        self.stderrDrain = PipeDrain(error.fileHandleForReading)
        // Our copies of the child's ends must be closed, or the drains never see end of file.
        try? output.fileHandleForWriting.close()
        try? error.fileHandleForWriting.close()
        try? input.fileHandleForReading.close()

        let writer = stdinHandle
        if let stdin, !stdin.isEmpty {
            // Written from another thread: a child that does not read its input must not block us.
            Thread {
                try? writer.write(contentsOf: stdin)
                if !keepStdinOpen { try? writer.close() }
            }.start()
        } else if !keepStdinOpen {
            try? writer.close()
        }

        let pid = process.processIdentifier
        Thread { [weak self] in
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                guard let self, self.process.isRunning else { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            guard let self, self.process.isRunning else { return }
            self.lock.lock(); self.watchdogFired = true; self.lock.unlock()
            _ = Glibc.kill(pid, SIGKILL)
        }.start()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// stdout and stderr read so far (the process may still be running).
    var stdoutSoFar: String { String(decoding: stdoutDrain.snapshot, as: UTF8.self) }
    var stderrSoFar: String { String(decoding: stderrDrain.snapshot, as: UTF8.self) }

    /// Sends `signal` to the process (SIGKILL by default).
    func kill(_ signal: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, signal)
    }

    /// Closes the process's standard input.
    func closeStdin() { try? stdinHandle.close() }

    /// Waits for the process to exit and its pipes to drain.
    @discardableResult
    func wait() -> ProcessResult {
        process.waitUntilExit()
        lock.lock()
        if let cachedResult { lock.unlock(); return cachedResult }
        lock.unlock()
        let out = stdoutDrain.finish()
        let err = stderrDrain.finish()
        let signaled = process.terminationReason == .uncaughtSignal
        lock.lock(); defer { lock.unlock() }
        let result = ProcessResult(
            exitCode: signaled ? 128 + process.terminationStatus : process.terminationStatus,
            signaled: signaled, stdoutData: out, stderrData: err, timedOut: watchdogFired)
        cachedResult = result
        return result
    }

    /// SIGKILLs the process and waits for it.
    @discardableResult
    func killAndWait() -> ProcessResult {
        kill(SIGKILL)
        return wait()
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
    static func waitUntil(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }
}

/// Runs `pipeline arguments…` to completion.
@discardableResult
func runPipeline(
    _ arguments: [String], in directory: URL? = nil, stdin: Data? = nil,
    environment: [String: String] = [:], timeout: TimeInterval = 30
) throws -> ProcessResult {
    try PipelineProcess(arguments, in: directory, stdin: stdin, environment: environment, timeout: timeout).wait()
}

/// Runs `pipeline arguments…` to completion, with text on stdin.
@discardableResult
func runPipeline(_ arguments: [String], in directory: URL? = nil, input: String) throws -> ProcessResult {
    try runPipeline(arguments, in: directory, stdin: Data(input.utf8))
}
