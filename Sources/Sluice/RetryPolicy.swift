/// An error that says whether trying the same record again can succeed: a timeout or an
/// unavailable service is retryable, a record that will never validate is not.
///
/// Errors that do not conform are treated as permanent unless
/// ``RetryPolicy/unclassifiedErrorsAreRetryable`` says otherwise: retrying a bug or a bad
/// record only delays its dead letter and holds back its partition.
public protocol ClassifiedError: Error {
    /// Whether another attempt at the same record may succeed.
    var isRetryable: Bool { get }
}

/// What happens to a record that failed at one point (decode, process or produce).
public enum FailureVerdict: String, Sendable, Equatable {
    /// Try the record again after a backoff (when its error is retryable and attempts remain),
    /// then apply the policy's `exhausted` verdict.
    case retry
    /// Send it to `<pipeline>.dlq` with its context, in the pipeline's transaction.
    case deadLetter = "dead-letter"
    /// Drop it and count it (`PipelineProgress.skipped`); nothing is emitted for it.
    case skip = "skip-and-count"
    /// Stop the pipeline with the error (nothing of the open transaction commits).
    case fail
}

/// The policy of one failure point.
///
/// - Invariant: `maxAttempts >= 1`; `exhausted` is not `.retry`.
public struct FailurePolicy: Sendable, Equatable {
    /// The verdict at a failure.
    public var verdict: FailureVerdict
    /// With `.retry`: attempts in all, the first included.
    public var maxAttempts: Int
    /// With `.retry`: the verdict once attempts are exhausted or the error is permanent.
    public var exhausted: FailureVerdict

    /// A policy; `exhausted` defaults to dead-lettering.
    public init(_ verdict: FailureVerdict, maxAttempts: Int = 1, exhausted: FailureVerdict = .deadLetter) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1, not \(maxAttempts)")
        precondition(exhausted != .retry, "the verdict after the last attempt cannot be retry")
        self.verdict = verdict
        self.maxAttempts = verdict == .retry ? maxAttempts : 1
        self.exhausted = verdict == .retry ? exhausted : verdict
    }

    /// Dead-letter at the first failure.
    public static let deadLetter = FailurePolicy(.deadLetter)
    /// Skip and count at the first failure.
    public static let skip = FailurePolicy(.skip)
    /// Stop the pipeline at the first failure.
    public static let fail = FailurePolicy(.fail)

    /// Retry up to `maxAttempts` attempts in all, then `exhausted`.
    public static func retry(maxAttempts: Int, then exhausted: FailureVerdict = .deadLetter) -> FailurePolicy {
        FailurePolicy(.retry, maxAttempts: maxAttempts, exhausted: exhausted)
    }
}

/// Exponential backoff between attempts at one record: attempt n+1 waits
/// `min(cap, base × multiplierⁿ⁻¹)`, then ± `jitter` of that at random.
///
/// - Invariant: `base >= 0`, `multiplier >= 1`, `cap >= base`, `0 <= jitter <= 1`.
public struct Backoff: Sendable, Equatable {
    /// The wait after the first failure.
    public var base: Duration
    /// How much each further failure multiplies the wait.
    public var multiplier: Double
    /// The longest wait.
    public var cap: Duration
    /// The random share of each delay: 0.2 spreads it over ±20%.
    public var jitter: Double

    public init(base: Duration = .milliseconds(100), multiplier: Double = 2, cap: Duration = .seconds(10), jitter: Double = 0.2) {
        precondition(base >= .zero && multiplier >= 1 && cap >= base && (0...1).contains(jitter), "invalid backoff")
        self.base = base
        self.multiplier = multiplier
        self.cap = cap
        self.jitter = jitter
    }

    /// The wait after the `failures`-th failure, in nanoseconds; `unit` in `0..<1` picks the
    /// jitter (0.5 means none).
    public func delayNanoseconds(afterFailures failures: Int, unit: Double) -> UInt64 {
        let baseNanoseconds = Backoff.nanoseconds(base)
        let capNanoseconds = Backoff.nanoseconds(cap)
        let exponent = Double(max(0, failures - 1))
        let raw = min(Double(capNanoseconds), Double(baseNanoseconds) * power(multiplier, Int(exponent)))
        let spread = raw * jitter * (2 * min(max(unit, 0), 1) - 1)
        return UInt64(max(0, min(Double(capNanoseconds), raw + spread)).rounded())
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
    }
}

/// `x` to the power `n` (a small whole number).
private func power(_ x: Double, _ n: Int) -> Double {
    var result = 1.0
    for _ in 0..<max(0, n) { result *= x }
    return result
}

/// Failure handling per failure point, and the backoff between retries.
///
/// Defaults: `decode` → dead-letter (bytes that do not decode never will); `process` → retry
/// (3 attempts) then dead-letter; `produce` → fail (an output that cannot be written is not the
/// record's fault). Only retryable errors are retried (``ClassifiedError``); a permanent one goes
/// straight to the `exhausted` verdict.
public struct RetryPolicy: Sendable, Equatable {
    /// A record whose key or value does not deserialize.
    public var decode: FailurePolicy
    /// An operator that throws.
    public var process: FailurePolicy
    /// An output that cannot be serialized or written.
    public var produce: FailurePolicy
    /// The wait between attempts at one record.
    public var backoff: Backoff
    /// Whether errors that are not ``ClassifiedError`` are retried (default: no).
    public var unclassifiedErrorsAreRetryable: Bool

    public init(
        decode: FailurePolicy = .deadLetter, process: FailurePolicy = .retry(maxAttempts: 3), produce: FailurePolicy = .fail,
        backoff: Backoff = Backoff(), unclassifiedErrorsAreRetryable: Bool = false
    ) {
        self.decode = decode
        self.process = process
        self.produce = produce
        self.backoff = backoff
        self.unclassifiedErrorsAreRetryable = unclassifiedErrorsAreRetryable
    }

    /// The policy of a failure point.
    public func policy(for stage: RecordFailure.Stage) -> FailurePolicy {
        switch stage {
        case .decode: return decode
        case .process: return process
        case .produce: return produce
        }
    }
}
