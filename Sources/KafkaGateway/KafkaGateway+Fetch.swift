import Dispatch
import StreamCore
import LogStorage
import KafkaProtocol
import KafkaBroker
import KafkaServer

extension KafkaGateway {
    /// Fetch v4–v12 (see ``dataPlaneRoutes`` for the range): stored batches as they are, the
    /// LSO and, for read-committed fetches, the aborted transactions they overlap.
    ///
    /// A fetch that finds fewer than `minBytes` with `maxWaitMs` > 0 (and no partition in error)
    /// is a long poll: it parks (``ParkedFetch``) and is answered when enough is readable or
    /// `maxWaitMs` has passed, whichever comes first, without holding a work queue meanwhile.
    ///
    /// Fetch sessions (KIP-227): this node caches none. A full request — session epoch 0 (asking
    /// for a session) or -1 (sessionless) — gets a full answer with session id 0, which tells
    /// Kafka's clients (the Java client, kafka-python; librdkafka never asks) that no session was
    /// made, so they keep sending full requests; an incremental request (any other epoch) names a
    /// session this node does not have: FETCH_SESSION_ID_NOT_FOUND, and the client starts over
    /// with a full one. Kafka answers exactly so when its session cache has no room.
    static let fetchRoute = KafkaRoute(versions: 4...12) { gateway, request, _, respond in
        gateway.answerFetch(request, respond: respond)
    }

    func answerFetch(_ request: KafkaRequest, respond: @escaping @Sendable (KafkaResponse?) -> Void) {
        let version = request.header.apiVersion
        let body = request.body
        if let error = Self.fetchSessionError(body, version: version) {
            var response = KafkaStruct.response(.fetch)
            response.set("errorCode", error.rawValue)
            respond(KafkaResponse(body: response))
            return
        }
        let fetch = Self.fetchRequest(body)
        let first = broker.fetch(fetch)
        guard Self.mustWait(fetch, after: first) else {
            respond(KafkaResponse(body: Self.fetchResponse(first, version: version)))
            return
        }
        let parked = ParkedFetch(broker: broker, request: fetch, version: version, registry: parkedFetches, respond: respond)
        guard parkedFetches.add(parked) else {
            // Closing: nothing waits any more.
            respond(KafkaResponse(body: Self.fetchResponse(first, version: version)))
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(fetch.maxWaitMilliseconds))) {
            parked.answerNow()
        }
        parked.watch(from: first.watchedPositions)
    }

    /// Kafka's rule for answering at once: no wait allowed, nothing asked for, `minBytes`
    /// reached, or a partition in error (its error is news to the client).
    static func mustWait(_ fetch: FetchRequest, after answer: FetchResponse) -> Bool {
        guard fetch.maxWaitMilliseconds > 0, !fetch.topics.allSatisfy(\.partitions.isEmpty) else { return false }
        guard answer.recordsSizeBytes < Int(fetch.minBytes) else { return false }
        return answer.responses.allSatisfy { $0.partitions.allSatisfy { $0.errorCode == .none } }
    }

    /// FETCH_SESSION_ID_NOT_FOUND for an incremental request (v7+), nil for a full one.
    static func fetchSessionError(_ body: KafkaStruct, version: Int16) -> KafkaErrorCode? {
        guard body.has("sessionEpoch", at: version) else { return nil }
        let epoch = body.int32("sessionEpoch")
        return epoch == fetchSessionInitialEpoch || epoch == fetchSessionFinalEpoch ? nil : .fetchSessionIdNotFound
    }

    /// KIP-227's epochs of full requests: 0 opens a session, -1 closes one or asks for none.
    static let fetchSessionInitialEpoch: Int32 = 0
    static let fetchSessionFinalEpoch: Int32 = -1

    static func fetchRequest(_ body: KafkaStruct) -> FetchRequest {
        FetchRequest(
            maxWaitMilliseconds: body.int32("maxWaitMs"), minBytes: body.int32("minBytes"), maxBytes: body.int32("maxBytes"),
            isolationLevel: isolationLevel(body.int8("isolationLevel")),
            topics: body.array("topics").map { topic in
                FetchTopicRequest(topic: topic.string("topic"), partitions: topic.array("partitions").map {
                    FetchPartitionRequest(partition: $0.int32("partition"), currentLeaderEpoch: $0.int32("currentLeaderEpoch"),
                                          fetchOffset: $0.int64("fetchOffset"), partitionMaxBytes: $0.int32("partitionMaxBytes"))
                })
            })
    }

    static func fetchResponse(_ answer: FetchResponse, version: Int16) -> KafkaStruct {
        var response = KafkaStruct.response(.fetch)
        response.set("responses", answer.responses.map { result in
            var topic = response.makeElement("responses")
            topic.set("topic", result.topic)
            topic.set("partitions", result.partitions.map { partition in
                var element = topic.makeElement("partitions")
                element.set("partitionIndex", partition.partitionIndex)
                element.set("errorCode", partition.errorCode.rawValue)
                element.set("highWatermark", partition.highWatermark)
                element.set("lastStableOffset", partition.lastStableOffset)
                if element.has("logStartOffset", at: version) { element.set("logStartOffset", partition.logStartOffset) }
                element.set("abortedTransactions", partition.abortedTransactions?.map { aborted in
                    var transaction = element.makeElement("abortedTransactions")
                    transaction.set("producerId", aborted.producerID)
                    transaction.set("firstOffset", aborted.firstOffset)
                    return transaction
                })
                element.set("records", bytes: partition.records)
                return element
            })
            return topic
        })
        return response
    }
}

/// A long-poll Fetch waiting for `minBytes`: answered exactly once, by whichever comes first of
/// a change that makes enough readable (a ``PartitionWatch``, re-armed while what became
/// readable is still too little), its `maxWaitMs` timer, or the gateway closing.
///
/// The watch's callback runs on the appending thread inside the appender's locks, so it only
/// hands the re-check to a global queue; the re-check and the answer run there, never on the
/// connection's work queue, which moved on when the fetch parked.
///
/// - Invariant: `respond` is called exactly once; after it, no watch of this fetch is armed.
/// Thread-safety: safe from any thread (its state is locked).
final class ParkedFetch: @unchecked Sendable {
    private let broker: KafkaBroker
    private let request: FetchRequest
    private let version: Int16
    private weak var registry: ParkedFetches?
    private let respond: @Sendable (KafkaResponse?) -> Void
    private let lock = Lock()
    /// The watches armed and not yet finished (a re-check may arm the next one before the
    /// previous call has stored its own, so there can be two for a moment).
    private var watches: [PartitionWatch] = []
    private var answered = false

    init(broker: KafkaBroker, request: FetchRequest, version: Int16, registry: ParkedFetches,
         respond: @escaping @Sendable (KafkaResponse?) -> Void) {
        self.broker = broker
        self.request = request
        self.version = version
        self.registry = registry
        self.respond = respond
    }

    /// Waits for any of `positions` to move, then re-checks.
    func watch(from positions: [WatchedPosition]) {
        let armed = broker.watch(positions) { [self] in
            DispatchQueue.global().async { self.recheck() }
        }
        lock.lock()
        let live = !answered
        if live {
            watches.removeAll { $0.isFinished }
            watches.append(armed)
        }
        lock.unlock()
        if !live { armed.cancel() }
    }

    /// Answers if enough is readable now (or a partition is gone), and otherwise watches again
    /// from where the partitions stand. The positions are read before the bytes are counted, so
    /// an append between the two fires the new watch at once instead of being missed.
    private func recheck() {
        lock.lock()
        let done = answered
        lock.unlock()
        if done { return }
        var positions: [WatchedPosition] = []
        for topic in request.topics {
            for wanted in topic.partitions {
                guard let name = TopicName(rawValue: topic.topic),
                      let partition = try? broker.log.partition(TopicPartition(name, PartitionID(wanted.partition))) else {
                    answerNow()
                    return
                }
                positions.append(WatchedPosition(partition.topicPartition, logEndOffset: partition.logEndOffset,
                                                 lastStableOffset: partition.lastStableOffset))
            }
        }
        if broker.readableBytes(request) >= Int64(request.minBytes) {
            answerNow()
        } else {
            watch(from: positions)
        }
    }

    /// Fetches again and answers, unless the fetch was answered already.
    func answerNow() {
        lock.lock()
        let first = !answered
        answered = true
        let armed = watches
        watches = []
        lock.unlock()
        guard first else { return }
        for watch in armed { watch.cancel() }
        registry?.remove(self)
        respond(KafkaResponse(body: KafkaGateway.fetchResponse(broker.fetch(request), version: version)))
    }
}

/// The gateway's parked fetches, so that closing the gateway answers them at once instead of
/// leaving timers that would read a log the caller is about to close.
///
/// - Invariant: bounded by connections × in-flight requests per connection (the shell's bounds):
///   each parked fetch is one unanswered request. After ``answerAll()`` nothing parks.
/// Thread-safety: safe from any thread.
final class ParkedFetches: @unchecked Sendable {
    private let lock = Lock()
    private var parked: [ObjectIdentifier: ParkedFetch] = [:]
    private var closed = false

    /// Adds `fetch`; false once closed (the caller answers at once).
    func add(_ fetch: ParkedFetch) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if closed { return false }
        parked[ObjectIdentifier(fetch)] = fetch
        return true
    }

    func remove(_ fetch: ParkedFetch) {
        lock.lock(); defer { lock.unlock() }
        parked[ObjectIdentifier(fetch)] = nil
    }

    /// How many fetches are parked now.
    var count: Int {
        lock.lock(); defer { lock.unlock() }
        return parked.count
    }

    /// Answers every parked fetch now with what it can read, and parks none from now on.
    func answerAll() {
        lock.lock()
        closed = true
        let all = Array(parked.values)
        lock.unlock()
        for fetch in all { fetch.answerNow() }
    }
}
