import Testing
import Dispatch
import StreamCore
@testable import LogStorage

/// Group commit: requests that wait together share one sync, and none is answered by a sync
/// that began before it asked.
@Suite struct GroupSyncTests {
    private static func partition(_ name: String, _ index: Int32 = 0) -> TopicPartition {
        TopicPartition(TopicName(rawValue: name)!, PartitionID(index))
    }

    @Test("a request made while a round runs is covered only by the next round")
    func roundsNeverCoverALateRequest() throws {
        var rounds = GroupSyncRounds<Int>()
        let startsRunner = rounds.request([Self.partition("a")], waiter: 1)
        #expect(startsRunner)
        let firstRound = rounds.beginRound()
        let first = try #require(firstRound)
        #expect(first.waiters == [1])
        let secondStarts = rounds.request([Self.partition("b"), Self.partition("a")], waiter: 2)
        let thirdStarts = rounds.request([Self.partition("b")], waiter: 3)
        #expect(!secondStarts && !thirdStarts, "the runner runs: no second runner")
        let another = rounds.endRound()
        #expect(another, "requests came during the round")
        let secondRound = rounds.beginRound()
        let second = try #require(secondRound)
        #expect(second.waiters == [2, 3], "the requests made during the first round, and only they")
        #expect(second.partitions == [Self.partition("a"), Self.partition("b")])
        let more = rounds.endRound()
        #expect(!more)
        #expect(!rounds.isRunning)
        let restarts = rounds.request([Self.partition("c")], waiter: 4)
        #expect(restarts, "a request after the runner stopped starts it again")
    }

    @Test("requests that arrive during a slow sync share the next one, with the union of their partitions")
    func concurrentRequestsShareOneSync() throws {
        let calls = SyncCalls()
        let firstSyncEntered = DispatchSemaphore(value: 0)
        let releaseFirstSync = DispatchSemaphore(value: 0)
        let group = GroupSync { partitions in
            let call = calls.record(partitions)
            if call == 1 {
                firstSyncEntered.signal()
                releaseFirstSync.wait()
            }
        }
        let done = DispatchGroup()
        done.enter()
        group.sync([Self.partition("first")]) { _ in done.leave() }
        firstSyncEntered.wait()
        for index in 0..<20 {
            done.enter()
            group.sync([Self.partition("p", Int32(index % 4))]) { _ in done.leave() }
        }
        releaseFirstSync.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        let recorded = calls.all
        #expect(recorded.count == 2, "20 waiting requests cost one more sync, not 20: \(recorded)")
        #expect(recorded.last == (0..<4).map { Self.partition("p", Int32($0)) })
    }

    @Test("a failed sync answers its round's waiters with the error; the next round's waiters get their own sync's outcome")
    func aFailureReachesOnlyItsRound() throws {
        let calls = SyncCalls()
        let firstSyncEntered = DispatchSemaphore(value: 0)
        let releaseFirstSync = DispatchSemaphore(value: 0)
        let group = GroupSync { (partitions) throws(LogError) in
            if calls.record(partitions) == 1 {
                firstSyncEntered.signal()
                releaseFirstSync.wait()
                throw LogError(.syncFailed, "simulated")
            }
        }
        let outcomes = Outcomes()
        let done = DispatchGroup()
        done.enter()
        group.sync([Self.partition("a")]) { error in outcomes.add("first", error); done.leave() }
        firstSyncEntered.wait()
        done.enter()
        group.sync([Self.partition("a")]) { error in outcomes.add("second", error); done.leave() }
        releaseFirstSync.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(outcomes.all["first"] == .some(.some(.syncFailed)))
        #expect(outcomes.all["second"] == .some(.none))
    }
}

private final class SyncCalls: @unchecked Sendable {
    private let lock = Lock()
    private var calls: [[TopicPartition]] = []

    /// - Returns: the call's number, from 1.
    func record(_ partitions: [TopicPartition]) -> Int {
        lock.lock(); defer { lock.unlock() }
        calls.append(partitions)
        return calls.count
    }

    var all: [[TopicPartition]] {
        lock.lock(); defer { lock.unlock() }
        return calls
    }
}

private final class Outcomes: @unchecked Sendable {
    private let lock = Lock()
    private var outcomes: [String: LogError.Code?] = [:]

    func add(_ name: String, _ error: LogError?) {
        lock.lock(); defer { lock.unlock() }
        outcomes[name] = .some(error?.code)
    }

    var all: [String: LogError.Code?] {
        lock.lock(); defer { lock.unlock() }
        return outcomes
    }
}
