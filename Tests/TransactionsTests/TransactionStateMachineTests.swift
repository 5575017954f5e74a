import Testing
import StreamCore
import Transactions

@Suite("Transaction state machine")
struct TransactionStateMachineTests {
    /// The legal transitions, written out independently of `TransactionState.successors`.
    static let legal: Set<String> = [
        "Empty→Empty", "Empty→Ongoing",
        "Ongoing→Ongoing", "Ongoing→PrepareCommit", "Ongoing→PrepareAbort",
        "PrepareCommit→CompleteCommit", "PrepareAbort→CompleteAbort",
        "CompleteCommit→Empty", "CompleteCommit→Ongoing",
        "CompleteAbort→Empty", "CompleteAbort→Ongoing",
    ]

    static let pairs: [(TransactionState, TransactionState)] =
        TransactionState.allCases.flatMap { from in TransactionState.allCases.map { (from, $0) } }

    static let orders = TopicPartition(TopicName(rawValue: "orders")!, PartitionID(0))

    func metadata(_ state: TransactionState) -> TransactionMetadata {
        TransactionMetadata(transactionalID: "t", producerID: ProducerID(7), producerEpoch: ProducerEpoch(2),
                            timeoutMilliseconds: 1000, state: state,
                            participants: state == .ongoing || state == .prepareCommit || state == .prepareAbort ? [Self.orders] : [])
    }

    @Test("every transition is legal exactly when the protocol allows it", arguments: pairs)
    func transition(from: TransactionState, to: TransactionState) {
        let name = "\(from)→\(to)"
        let result = Result { () throws(TransactionError) in try metadata(from).transitioned(to: to, at: Timestamp(milliseconds: 5)) }
        switch result {
        case .success(let next):
            #expect(Self.legal.contains(name), "\(name) should be refused")
            #expect(next.state == to)
            #expect(next.lastUpdateTimestamp == Timestamp(milliseconds: 5))
        case .failure(let error):
            #expect(!Self.legal.contains(name), "\(name) should be allowed, got \(error)")
            #expect(error.code == .invalidState)
        }
    }

    @Test("participants are kept through Prepare and cleared when the transaction is over")
    func participantsLifecycle() throws {
        let start = Timestamp(milliseconds: 100)
        let other = TopicPartition(TopicName(rawValue: "payments")!, PartitionID(3))
        var state = try metadata(.empty).transitioned(to: .ongoing, at: start, adding: [Self.orders])
        #expect(state.startTimestamp == start)
        state = try state.transitioned(to: .ongoing, at: Timestamp(milliseconds: 200), adding: [other])
        #expect(state.participants == [Self.orders, other])
        #expect(state.startTimestamp == start, "adding partitions does not restart the transaction")
        state = try state.transitioned(to: .prepareCommit, at: Timestamp(milliseconds: 300))
        #expect(state.participants == [Self.orders, other])
        state = try state.transitioned(to: .completeCommit, at: Timestamp(milliseconds: 400))
        #expect(state.participants.isEmpty)
        state = try state.transitioned(to: .ongoing, at: Timestamp(milliseconds: 500), adding: [other])
        #expect(state.participants == [other], "a new transaction starts with only its own participants")
        #expect(state.startTimestamp == Timestamp(milliseconds: 500))
    }

    @Test("partitions can be added only by moving to Ongoing")
    func addingPartitionsOutsideOngoing() {
        #expect(throws: TransactionError.self) {
            try metadata(.ongoing).transitioned(to: .prepareCommit, at: Timestamp(milliseconds: 1), adding: [Self.orders])
        }
    }

    @Test("expiry applies to Ongoing transactions past their timeout on the monotonic clock only")
    func expiry() throws {
        var deadlines = TransactionDeadlines()
        // Wall timestamps recorded in the metadata play no part.
        let ongoing = try metadata(.empty).transitioned(to: .ongoing, at: Timestamp(milliseconds: 1_000_000_000), adding: [Self.orders])
        deadlines.note(ongoing, monotonicNanoseconds: 5_000_000_000)
        #expect(ongoing.timeoutMilliseconds == 1000)
        #expect(!deadlines.hasTimedOut(ongoing, monotonicNanoseconds: 6_000_000_000))
        #expect(deadlines.hasTimedOut(ongoing, monotonicNanoseconds: 6_000_000_001))
        // Adding partitions keeps the deadline; leaving Ongoing drops it.
        deadlines.note(ongoing, monotonicNanoseconds: 5_900_000_000)
        #expect(deadlines.hasTimedOut(ongoing, monotonicNanoseconds: 6_000_000_001))
        let prepared = try ongoing.transitioned(to: .prepareCommit, at: .none)
        deadlines.note(prepared, monotonicNanoseconds: 7_000_000_000)
        #expect(!deadlines.hasTimedOut(prepared, monotonicNanoseconds: 1_000_000_000_000))
        #expect(!deadlines.hasTimedOut(metadata(.prepareCommit), monotonicNanoseconds: 1_000_000_000_000))
    }
}
