import Foundation
import LogStorage
import StreamCore
import Sluice

/// Produces a bench's input: record i from the pipeline's ``BenchmarkInput`` (or the default
/// `OrderCreated` events), its timestamp the wall-clock millisecond it is sent, appended within
/// about a millisecond (the producer is flushed after every burst; inputs are not synced, since
/// the bench measures the pipeline, not the producer).
///
/// Either all at once on the caller's thread (``produceAll(progress:)``), or at a fixed rate on
/// a thread of its own (``startFixedRate(recordsPerSecond:)``): every millisecond or so it sends
/// the records due by then.
///
/// Thread-safety: the counters are read under a lock; everything else belongs to the thread that
/// produces.
final class InputGenerator: @unchecked Sendable {
    typealias Make = (_ index: Int, _ random: inout SeededRandom) -> BenchmarkRecord

    let count: Int
    private let producer: LogProducer
    private let make: Make
    private var random: SeededRandom
    private let topics: [String: TopicName]
    private let lock = Lock()
    private var sent = 0
    private var bytes: Int64 = 0
    private var finished = false
    private var failure: String?

    init(log: LogManager, sources: [TopicName], count: Int, seed: UInt64, make: @escaping Make) {
        var config = ProducerConfig()
        config.lingerMilliseconds = 1000
        config.syncOnFlush = false
        producer = LogProducer(log: log, config: config)
        topics = Dictionary(uniqueKeysWithValues: sources.map { ($0.rawValue, $0) })
        self.count = count
        self.make = make
        random = SeededRandom(seed: seed)
    }

    /// Records and bytes (key + value) sent so far; whether the generator is done; its error.
    var state: (records: Int, bytes: Int64, finished: Bool, failure: String?) {
        lock.lock(); defer { lock.unlock() }
        return (sent, bytes, finished, failure)
    }

    /// Sends records `sent..<upTo` and flushes them.
    private func send(upTo end: Int) throws {
        var index = state.records
        var burstBytes: Int64 = 0
        let first = index
        while index < end {
            let record = make(index, &random)
            guard let topic = topics[record.topic] else {
                throw BenchError("the benchmark input wrote to topic '\(record.topic)', which the pipeline does not read (it reads \(topics.keys.sorted().joined(separator: ", ")))")
            }
            let now = Timestamp(milliseconds: Int64(BenchClock.wallNanoseconds() / 1_000_000))
            do {
                _ = try producer.send(topic: topic, key: record.key, value: record.value, timestamp: now)
            } catch {
                throw BenchError("producing the input: \(error.description)")
            }
            burstBytes += Int64((record.key?.count ?? 0) + record.value.count)
            index += 1
        }
        do { try producer.flush() } catch { throw BenchError("producing the input: \(error.description)") }
        lock.lock()
        sent += index - first
        bytes += burstBytes
        lock.unlock()
    }

    /// Produces every record now, reporting progress every 100,000 records.
    func produceAll(progress: (Int) -> Void) throws {
        while state.records < count {
            try send(upTo: min(count, state.records + 100_000))
            progress(state.records)
        }
        finish(failure: nil)
    }

    /// Starts a thread that offers `recordsPerSecond` until ``count`` records are sent.
    func startFixedRate(recordsPerSecond: Int) {
        let thread = Thread { [self] in
            let started = BenchClock.monotonicNanoseconds()
            do {
                while state.records < count {
                    let elapsed = Double(BenchClock.monotonicNanoseconds() - started) / 1_000_000_000
                    let due = min(count, Int(Double(recordsPerSecond) * elapsed) + 1)
                    if due > state.records { try send(upTo: due) }
                    usleep(1000)
                }
                finish(failure: nil)
            } catch {
                finish(failure: "\(error)")
            }
        }
        thread.name = "sluice-bench-generator"
        thread.start()
    }

    private func finish(failure: String?) {
        lock.lock(); defer { lock.unlock() }
        finished = true
        self.failure = failure
    }
}
