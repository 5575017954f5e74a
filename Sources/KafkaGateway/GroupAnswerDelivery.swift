import StreamCore
import KafkaProtocol
import KafkaServer
import KafkaBroker
import Dispatch

/// Answers the group coordinator's parked requests (JoinGroup, SyncGroup) and runs the one
/// timer that drives them.
///
/// A parked request gets a ``GroupCompletionToken`` and its `respond` is kept here until a
/// ``GroupEffect`` for that token comes back from the coordinator — from the request's own call,
/// from another connection's call (a join that completes the rebalance answers every member), or
/// from a ``GroupCoordinatorService/tick()``. After every call the timer is re-armed for
/// ``GroupCoordinatorService/millisecondsUntilNextDeadline()``; it only ever moves earlier while
/// armed, so a reading computed before another thread's change can never push a deadline back
/// (a timer that fires early ticks nothing and re-arms).
///
/// ```
/// route ──park(respond)──▶ token ──service.join(token)──▶ effects ──deliver──▶ respond(token's answer)
/// timer ──service.tick()─────────────────────────────────▶ effects ──deliver──┘   └─ rearm(next deadline)
/// ```
///
/// ``stop()`` cancels the timer and answers every request still parked as Kafka does when it
/// unloads a group: NOT_COORDINATOR, so the client finds the coordinator again.
///
/// - Invariant: every parked `respond` is called exactly once (by its effect, or by ``stop()``).
/// Thread-safety: safe from any thread; `respond` runs outside the lock.
final class GroupAnswerDelivery: @unchecked Sendable {
    /// How a parked request is answered: its API and version (to encode the effect) and the
    /// effect that answers it at shutdown.
    private struct Parked {
        var version: Int16
        var respond: @Sendable (KafkaResponse?) -> Void
        var shutdownAnswer: GroupEffect
    }

    private let lock = Lock()
    /// Under `lock`.
    private var parked: [GroupCompletionToken: Parked] = [:]
    /// Under `lock`.
    private var lastToken: UInt64 = 0
    /// Under `lock`.
    private var stopped = false
    /// Under `lock`: the timer and the deadline it is armed for (nil: disarmed).
    private var timer: (any DispatchSourceTimer)?
    private var armedDeadline: DispatchTime?
    private let timerQueue = DispatchQueue(label: "sluice.kafka-gateway.groups-timer")

    /// The number of requests parked now (for tests and logs).
    var parkedCount: Int {
        lock.lock(); defer { lock.unlock() }
        return parked.count
    }

    /// Keeps `respond` for a new token; nil once stopped (the caller answers NOT_COORDINATOR).
    /// `shutdownAnswer` makes the effect that answers the token at ``stop()``.
    func park(
        version: Int16, respond: @escaping @Sendable (KafkaResponse?) -> Void,
        shutdownAnswer: (GroupCompletionToken) -> GroupEffect
    ) -> GroupCompletionToken? {
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return nil }
        lastToken += 1
        let token = GroupCompletionToken(lastToken)
        parked[token] = Parked(version: version, respond: respond, shutdownAnswer: shutdownAnswer(token))
        return token
    }

    /// Answers the tokens `effects` name, each at its request's version.
    ///
    /// - Precondition: each token is parked here, unless stopped (``stop()`` answered it then).
    func deliver(_ effects: [GroupEffect]) {
        guard !effects.isEmpty else { return }
        var answers: [(Parked, GroupEffect)] = []
        lock.lock()
        for effect in effects {
            guard let entry = parked.removeValue(forKey: effect.token) else {
                precondition(stopped, "the group coordinator answered \(effect.token), which is not parked (answered twice?)")
                continue
            }
            answers.append((entry, effect))
        }
        lock.unlock()
        for (entry, effect) in answers {
            entry.respond(KafkaResponse(body: Self.body(of: effect, version: entry.version)))
        }
    }

    /// The response body an effect answers with.
    private static func body(of effect: GroupEffect, version: Int16) -> KafkaStruct {
        switch effect {
        case .joinGroup(_, let response): KafkaGateway.joinGroupResponse(response, version: version)
        case .syncGroup(_, let response): KafkaGateway.syncGroupResponse(response, version: version)
        }
    }

    /// Arms the timer to call `fire` in `milliseconds` (nil: nothing due), unless it is armed
    /// for earlier already.
    func rearm(inMilliseconds milliseconds: Int64?, fire: @escaping @Sendable () -> Void) {
        guard let milliseconds else { return }
        let deadline = DispatchTime.now() + .milliseconds(Int(clamping: max(0, milliseconds)))
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return }
        if let armedDeadline, armedDeadline <= deadline { return }
        if timer == nil {
            let source = DispatchSource.makeTimerSource(queue: timerQueue)
            source.setEventHandler { [weak self] in
                self?.disarm()
                fire()
            }
            source.schedule(deadline: deadline)
            source.resume()
            timer = source
        } else {
            timer!.schedule(deadline: deadline)
        }
        armedDeadline = deadline
    }

    /// The timer fired: it is armed for nothing until re-armed.
    private func disarm() {
        lock.lock(); defer { lock.unlock() }
        armedDeadline = nil
    }

    /// Cancels the timer and answers every parked request with its shutdown answer; later
    /// ``park(version:respond:shutdownAnswer:)`` calls get nil. Idempotent.
    func stop() {
        lock.lock()
        stopped = true
        timer?.cancel()
        timer = nil
        armedDeadline = nil
        let remaining = parked.sorted { $0.key.rawValue < $1.key.rawValue }.map(\.value)
        parked = [:]
        lock.unlock()
        for entry in remaining {
            entry.respond(KafkaResponse(body: Self.body(of: entry.shutdownAnswer, version: entry.version)))
        }
    }
}
