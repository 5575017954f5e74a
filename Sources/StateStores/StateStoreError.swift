package import StreamCore
package import LogStorage
package import Transactions

/// An operating error of the state-store layer, with the store, the path or the offsets a
/// reader needs to find it.
package struct StateStoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    package enum Code: Sendable, Equatable {
        /// The log underneath failed (reading or creating the changelog).
        case log
        /// The transactional producer failed (`transactionError` says how; `.fenced` included).
        case transaction
        /// The storage seam failed while writing or reading a checkpoint.
        case storage
        /// A changelog record cannot be decoded for this store (e.g. a window key shorter than 8
        /// bytes).
        case corruptChangelog
        /// The changelog partition has an open transaction at restore: the caller must run
        /// `initTransactions()` (which completes or aborts the previous holder's transaction)
        /// before restoring.
        case changelogUnstable
        /// The application or store name does not make a legal changelog topic name, or an
        /// existing changelog topic does not fit (wrong partition count, not compacted).
        case invalidName
        /// The changelog holds less than the store's checkpoint (or durable offset) says it
        /// reflected: it was deleted and recreated, or truncated. Restoring from it would give
        /// older state than the offsets committed with it, so a caller that has committed
        /// offsets asks ``StoreChangelog/restore(refusingLostChangelog:)`` to refuse.
        case changelogLost
        /// RocksDB failed (opening, reading or writing a RocksDB-backed store); the message
        /// carries RocksDB's own error and the database path.
        case rocksDB
    }

    /// What kind of failure this is.
    package let code: Code
    /// What failed, with the store, topic partition, offsets or path.
    package let message: String
    /// The log error underneath, for `.log`.
    package let logError: LogError?
    /// The transaction error underneath, for `.transaction` (check its `.fenced` code).
    package let transactionError: TransactionError?
    /// The storage error underneath, for `.storage`.
    package let storageError: StorageError?

    /// An error of `code` with its message and the error underneath, if any.
    package init(
        _ code: Code, _ message: String, logError: LogError? = nil, transactionError: TransactionError? = nil,
        storageError: StorageError? = nil
    ) {
        self.code = code
        self.message = message
        self.logError = logError
        self.transactionError = transactionError
        self.storageError = storageError
    }

    /// The message.
    package var description: String { message }
}

/// Runs a log call, wrapping its error as `.log`.
func logCall<T>(_ context: @autoclosure () -> String, _ body: () throws(LogError) -> T) throws(StateStoreError) -> T {
    do { return try body() } catch {
        throw StateStoreError(.log, "\(context()): \(error.description)", logError: error)
    }
}

/// Runs a transactional-producer call, wrapping its error as `.transaction`.
func transactionCall<T>(_ context: @autoclosure () -> String, _ body: () throws(TransactionError) -> T) throws(StateStoreError) -> T {
    do { return try body() } catch {
        throw StateStoreError(.transaction, "\(context()): \(error.description)", transactionError: error)
    }
}

/// Runs a storage call, wrapping its error as `.storage`.
func storageCall<T>(_ context: @autoclosure () -> String, _ body: () throws(StorageError) -> T) throws(StateStoreError) -> T {
    do { return try body() } catch {
        throw StateStoreError(.storage, "\(context()): \(error.description)", storageError: error)
    }
}
