#if canImport(Glibc)
import Glibc
#endif

/// `produce`'s input: lines read from a file descriptor in chunks of ``chunkBytes``, so memory
/// stays bounded by one chunk plus the line being read, whatever the input's size.
///
/// ``next(idleMilliseconds:)`` can also report that no input arrived for a while (stdin idle),
/// so the caller makes what it already has durable instead of holding it until more comes.
///
/// - Invariant: ``bufferedBytes`` ≤ ``lineBytesMax`` + ``chunkBytes``.
/// Thread-safety: one thread.
package final class LineInput {
    /// One result of ``next(idleMilliseconds:)``.
    package enum Next: Equatable {
        /// A line, without its `\n` (the last line may lack one).
        case line([UInt8])
        /// Nothing arrived within the idle time; nothing was consumed.
        case idle
        /// A line longer than ``lineBytesMax``; the input cannot go on.
        case lineTooLong
        /// The input ended.
        case end
    }

    /// Bytes read from the descriptor at once.
    package static let chunkBytes = 64 << 10

    /// The longest line held; a longer one is ``Next/lineTooLong``.
    package let lineBytesMax: Int
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Where the unconsumed bytes start, and how far they were searched for a newline.
    private var start = 0
    private var searched = 0
    private var atEnd = false
    /// The most bytes ever buffered, for the memory bound's tests.
    package private(set) var bufferedBytesPeak = 0

    /// Reads from `descriptor` (not closed here).
    package init(descriptor: Int32, lineBytesMax: Int) {
        precondition(lineBytesMax > 0, "lineBytesMax \(lineBytesMax) must be positive")
        self.descriptor = descriptor
        self.lineBytesMax = lineBytesMax
        buffer.reserveCapacity(Self.chunkBytes)
    }

    /// Bytes held now (unconsumed input).
    package var bufferedBytes: Int { buffer.count - start }

    /// The next line, or `.idle` when `idleMilliseconds` is given and no byte arrived in that
    /// time while no whole line is buffered.
    /// - Throws: ``LineInputError`` when reading fails.
    package func next(idleMilliseconds: Int32? = nil) throws(LineInputError) -> Next {
        while true {
            if let newline = buffer[searched...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                searched = start
                return .line(line)
            }
            searched = buffer.count
            if atEnd {
                guard start < buffer.count else { return .end }
                let line = Array(buffer[start...])
                start = buffer.count
                searched = start
                return .line(line)
            }
            if buffer.count - start > lineBytesMax { return .lineTooLong }
            if start > 0 {
                buffer.removeFirst(start)
                searched -= start
                start = 0
            }
            if let idleMilliseconds, !(try readable(within: idleMilliseconds)) { return .idle }
            try fill()
        }
    }

    /// Whether a read would not block within `milliseconds` (regular files always are).
    private func readable(within milliseconds: Int32) throws(LineInputError) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            if errno != EINTR { throw LineInputError(errno: errno) }
        }
    }

    /// Appends up to one chunk from the descriptor; sets `atEnd` at end of file.
    private func fill() throws(LineInputError) {
        let count = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.chunkBytes))
        while true {
            let read = buffer.withUnsafeMutableBytes { bytes in
                Glibc.read(descriptor, bytes.baseAddress! + count, Self.chunkBytes)
            }
            if read >= 0 {
                buffer.removeLast(Self.chunkBytes - read)
                if read == 0 { atEnd = true }
                bufferedBytesPeak = max(bufferedBytesPeak, buffer.count - start)
                return
            }
            if errno != EINTR {
                buffer.removeLast(Self.chunkBytes)
                throw LineInputError(errno: errno)
            }
        }
    }
}

/// Reading `produce`'s input failed.
package struct LineInputError: Error, CustomStringConvertible {
    /// The `errno` of the failed `read` or `poll`.
    package let errno: Int32
    package var description: String { "reading the input failed: \(String(cString: strerror(errno)))" }
}
