/// The responses of one connection, released in request order: Kafka's guarantee for
/// pipelined requests, whatever order the handler answers them in.
///
/// ```
///  admit → 0 1 2 3          complete(2) → []        complete(0) → [r0]
///                           complete(1) → [r1, r2]  complete(3) → [r3]
/// ```
///
/// A value-type state machine; the channel handler drives it on its event loop.
/// - Invariant: `inFlightCount` counts admitted requests whose responses are not yet released.
/// Not thread-safe (owned by one connection).
package struct KafkaResponseSequencer: Sendable {
    private var nextSequence: UInt64 = 0
    private var nextToRelease: UInt64 = 0
    private var completed: [UInt64: [UInt8]?] = [:]

    /// An empty sequencer.
    package init() {}

    /// Requests admitted whose responses are not yet released.
    package var inFlightCount: Int { Int(nextSequence - nextToRelease) }

    /// Admits the next request; its response must be completed with the number returned.
    package mutating func admit() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Records request `sequence`'s response (nil: it gets none) and returns the responses
    /// now releasable, in order.
    ///
    /// - Precondition: `sequence` was admitted and not completed before.
    package mutating func complete(_ sequence: UInt64, response: [UInt8]?) -> [[UInt8]] {
        precondition(sequence >= nextToRelease && sequence < nextSequence, "response \(sequence) was not awaited")
        precondition(completed.updateValue(response, forKey: sequence) == nil, "response \(sequence) completed twice")
        var released: [[UInt8]] = []
        while let response = completed.removeValue(forKey: nextToRelease) {
            nextToRelease += 1
            if let response { released.append(response) }
        }
        return released
    }
}
