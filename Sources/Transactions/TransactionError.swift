import StreamCore
package import LogStorage

/// An operating error of the transaction layer.
package struct TransactionError: Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable, Equatable {
        /// A newer holder of the transactional id exists (zombie fencing); the producer must stop.
        case fenced
        /// The call is not legal in the transaction's current state.
        case invalidState
        /// The transactional id is not known to the coordinator.
        case unknownTransactionalID
        /// The transaction ran past its timeout and was aborted by the coordinator.
        case timedOut
        /// The log underneath failed.
        case log
    }

    package let code: Code
    package let message: String
    package let logError: LogError?

    package init(_ code: Code, _ message: String, logError: LogError? = nil) {
        self.code = code
        self.message = message
        self.logError = logError
    }

    /// Wraps a log error; a fenced producer stays `.fenced`.
    package init(_ error: LogError) {
        self.init(error.code == .producerFenced ? .fenced : .log, error.description, logError: error)
    }

    package var description: String { message }
}

/// Runs a log call inside the transaction layer, wrapping its error.
func logCall<T>(_ body: () throws(LogError) -> T) throws(TransactionError) -> T {
    do { return try body() } catch { throw TransactionError(error) }
}
