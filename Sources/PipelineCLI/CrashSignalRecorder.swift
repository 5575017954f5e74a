#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Records, for the next `pipeline run`, the signal a crashing process dies of (a Swift trap is
/// SIGILL or SIGTRAP, a bad access SIGSEGV or SIGBUS, an abort SIGABRT, an integer division
/// SIGFPE): its name goes to the pipeline's signal file, which the next start's crash quarantine
/// puts in `dlq.crash.signal`. SIGKILL cannot be caught, so a process killed by it leaves the
/// file empty.
///
/// The handler only calls async-signal-safe functions (`write`, `sigaction`, `raise`) on memory
/// prepared at install time; it then puts back the handler it replaced (the Swift runtime's
/// backtracer, or the default) and raises the signal again, so the process still dies of it
/// with the same exit status.
///
/// Thread-safety: ``install(path:)`` once, on the main thread, before the workers start.
enum CrashSignalRecorder {
    /// The signals recorded.
    private static let signals: [(number: Int32, name: String)] = [
        (SIGILL, "SIGILL"), (SIGTRAP, "SIGTRAP"), (SIGABRT, "SIGABRT"), (SIGBUS, "SIGBUS"), (SIGFPE, "SIGFPE"), (SIGSEGV, "SIGSEGV"),
    ]
    /// Slots per signal number: byte 0 the name's length, then the name and a newline.
    static let slotBytes = 16
    static let signalNumberLimit = 65

    /// Opens (and empties) `path` and installs the handlers. Failing to open the file leaves
    /// crashes unrecorded (the quarantine still works, without `dlq.crash.signal`).
    static func install(path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let names = UnsafeMutableRawPointer.allocate(byteCount: slotBytes * signalNumberLimit, alignment: 8)
        names.initializeMemory(as: UInt8.self, repeating: 0, count: slotBytes * signalNumberLimit)
        let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: signalNumberLimit)
        previous.initialize(repeating: sigaction(), count: signalNumberLimit)
        recorderFD = fd
        recorderNames = names
        recorderPrevious = previous
        for (number, name) in signals where number < signalNumberLimit {
            let bytes = Array((name + "\n").utf8).prefix(slotBytes - 1)
            let slot = names + Int(number) * slotBytes
            slot.storeBytes(of: UInt8(bytes.count), as: UInt8.self)
            for (index, byte) in bytes.enumerated() { (slot + 1 + index).storeBytes(of: byte, as: UInt8.self) }
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = recordSignal
            #else
            action.__sigaction_u.__sa_handler = recordSignal
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, previous + Int(number))
        }
    }
}

nonisolated(unsafe) private var recorderFD: Int32 = -1
nonisolated(unsafe) private var recorderNames: UnsafeMutableRawPointer?
nonisolated(unsafe) private var recorderPrevious: UnsafeMutablePointer<sigaction>?

/// The handler: writes the signal's name, restores the previous handler, raises it again.
private func recordSignal(_ number: Int32) {
    if let names = recorderNames, number >= 0, number < Int32(CrashSignalRecorder.signalNumberLimit) {
        let slot = names + Int(number) * CrashSignalRecorder.slotBytes
        let count = Int(slot.load(as: UInt8.self))
        if count > 0 { _ = write(recorderFD, slot + 1, count) }
    }
    if let previous = recorderPrevious { sigaction(number, previous + Int(number), nil) }
    raise(number)
}
