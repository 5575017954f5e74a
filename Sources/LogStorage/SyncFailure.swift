import StreamCore

/// The first failed fsync of a data directory, after which nothing more is written there until
/// the directory is reopened.
///
/// A failed `fsync` cannot be retried and trusted: Linux drops the dirty pages of a file whose
/// writeback failed and a second `fsync` then succeeds with the data gone (PostgreSQL's
/// "fsyncgate"). So the first failure poisons the whole data directory: every later append, roll,
/// sync and checkpoint throws an error naming the file whose sync failed. Reopening the directory
/// runs recovery, which reads what is really on disk.
///
/// Thread-safety: safe from any thread.
package final class SyncFailure: @unchecked Sendable {
    private let lock = Lock()
    private var first: LogError?

    init() {}

    /// The error every write throws once a sync failed, or nil while none has.
    package var error: LogError? {
        lock.lock(); defer { lock.unlock() }
        return first
    }

    /// Throws once a sync of the data directory failed.
    func check() throws(LogError) {
        if let error { throw error }
    }

    /// Runs a write: refused once a sync failed, and a sync failing in it poisons the directory.
    func guarding<T>(_ body: () throws(LogError) -> T) throws(LogError) -> T {
        try check()
        do { return try body() } catch {
            if error.code == .syncFailed { throw record(error) }
            throw error
        }
    }

    /// Records a failed sync (the first one wins) and returns the error to throw.
    @discardableResult
    func record(_ cause: LogError) -> LogError {
        lock.lock(); defer { lock.unlock() }
        if let first { return first }
        let path = cause.storageError?.path ?? "a file"
        let poisoned = LogError(
            .syncFailed,
            "a sync of \(path) failed, so writes to its data directory stop until it is reopened (a failed fsync may have lost the unsynced writes): \(cause.message)",
            storageError: cause.storageError)
        first = poisoned
        return poisoned
    }
}
