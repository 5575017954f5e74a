package import StreamCore
import RecordFormat

/// An operating error of the log layer: what went wrong, and the numbers a reader needs to
/// find it (topic, partition, offset, file position).
package struct LogError: Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable, Equatable {
        case unknownTopic
        case topicExists
        case invalidTopicName
        case invalidConfig
        case invalidPartition
        case offsetOutOfRange
        case recordTooLarge
        case invalidBatch
        case corruptBatch
        case storage
        case locked
        case diskFull
        /// A sync (fsync) failed; the data directory takes no more writes until it is reopened.
        case syncFailed
        case closed
        case groupMembership
        case producerFenced
        case outOfOrderSequence
        case invalidTransactionState
    }

    package let code: Code
    package let message: String
    /// The storage error underneath, when there is one.
    package let storageError: StorageError?

    package init(_ code: Code, _ message: String, storageError: StorageError? = nil) {
        self.code = code
        self.message = message
        self.storageError = storageError
    }

    /// Wraps a storage error, keeping its code visible (`.diskFull`, `.locked`).
    package init(storage error: StorageError, context: String = "") {
        let code: Code
        switch error.code {
        case .diskFull: code = .diskFull
        case .locked: code = .locked
        default: code = .storage
        }
        let text = context.isEmpty ? error.description : "\(context): \(error.description)"
        self.init(code, text, storageError: error)
    }

    package var description: String { message }

    package static func unknownTopic(_ name: String) -> LogError {
        LogError(.unknownTopic, "unknown topic '\(name)'")
    }

    package static func offsetOutOfRange(
        _ partition: TopicPartition, requested: Offset, earliest: Offset, latest: Offset
    ) -> LogError {
        LogError(
            .offsetOutOfRange,
            "offset \(requested) is out of range for \(partition) (earliest \(earliest), latest \(latest))")
    }

    package static func corrupt(
        _ partition: TopicPartition, offset: Offset, position: Int64, path: String, reason: String
    ) -> LogError {
        LogError(
            .corruptBatch,
            "corrupt batch in \(partition) at offset \(offset), file position \(position) of \(path): \(reason)")
    }
}

/// Runs a storage call, turning its error into a ``LogError``.
@inline(__always)
func storageCall<T>(_ context: @autoclosure () -> String = "", _ body: () throws(StorageError) -> T)
    throws(LogError) -> T
{
    do { return try body() } catch { throw LogError(storage: error, context: context()) }
}

/// Syncs `file`. A failure is `.syncFailed`, naming the file (a simulated crash stays a storage
/// error: the process is gone, nothing is left to poison).
func syncFile(_ file: any StorageFile) throws(LogError) {
    do { try file.sync() } catch {
        if error.code == .crashed { throw LogError(storage: error, context: "syncing \(file.path)") }
        throw LogError(.syncFailed, "syncing \(file.path) failed: \(error.description)", storageError: error)
    }
}

/// Reads a small metadata file whole, twice or more until two reads agree, so that a transient
/// read error (which the simulated disk injects as bit flips) is not taken for its contents.
/// Used for files without a checksum of their own: indexes, `.txnindex`, `topic.json`.
func readStably(_ file: any StorageFile) throws(StorageError) -> [UInt8] {
    var previous = try file.readAll()
    for _ in 0..<4 {
        let again = try file.readAll()
        if again == previous { return again }
        previous = again
    }
    return previous
}

/// Runs a record-format call, turning its error into an `.invalidBatch` ``LogError``.
@inline(__always)
func formatCall<T>(_ context: @autoclosure () -> String = "", _ body: () throws(RecordFormatError) -> T)
    throws(LogError) -> T
{
    do { return try body() } catch {
        let prefix = context()
        throw LogError(.invalidBatch, prefix.isEmpty ? error.description : "\(prefix): \(error.description)")
    }
}
