import Foundation
import LogStorage
import StreamCore

/// A thread that reads a pipeline's output topics read-committed, as a downstream consumer
/// would, counting records and bytes and recording each record's end-to-end latency.
///
/// Latency of a record = the reader's wall clock when its poll returned the record minus the
/// later of the record's timestamp (the input's append time, which the pipeline forwards) and
/// `originNanoseconds`. Timestamps have millisecond resolution, so a latency reads up to 1 ms
/// high; polling every 0.5 ms when idle adds up to that much more.
///
/// Thread-safety: ``start()`` and ``finish(at:)`` from one owner thread; the reader's state is
/// handed over when ``finish(at:)`` joins it.
final class OutputReader: @unchecked Sendable {
    private let consumer: LogConsumer
    private let measuresLatency: Bool
    private let originNanoseconds: UInt64
    private let lock = Lock()
    /// Set by ``finish(at:)``: the read-committed end of every output partition.
    private var target: [TopicPartition: Offset]?
    private let done = DispatchSemaphore(value: 0)
    // Owned by the reader thread until `done` is signalled.
    private var latencies = LatencyHistogram()
    private var records = 0
    private var bytes: Int64 = 0
    private var failure: String?

    init(log: LogManager, partitions: [TopicPartition], measuresLatency: Bool, originNanoseconds: UInt64) throws(LogError) {
        var config = ConsumerConfig()
        config.isolation = .readCommitted
        config.autoOffsetReset = .earliest
        config.maxPollRecords = 5000
        consumer = LogConsumer(log: log, config: config)
        try consumer.assign(partitions)
        self.measuresLatency = measuresLatency
        self.originNanoseconds = originNanoseconds
    }

    func start() {
        let thread = Thread { [self] in
            defer { done.signal() }
            loop()
        }
        thread.name = "sluice-bench-reader"
        thread.start()
    }

    private func loop() {
        while true {
            let polled: [ConsumerRecord]
            do { polled = try consumer.poll() } catch {
                failure = "reading the output: \(error.description)"
                return
            }
            let now = BenchClock.wallNanoseconds()
            for record in polled {
                records += 1
                bytes += Int64((record.key?.count ?? 0) + (record.value?.count ?? 0))
                if measuresLatency {
                    let appended = max(UInt64(max(0, record.timestamp.rawValue)) * 1_000_000, originNanoseconds)
                    latencies.record(nanoseconds: now > appended ? now - appended : 0)
                }
            }
            guard polled.isEmpty else { continue }
            lock.lock()
            let target = self.target
            lock.unlock()
            if let target, target.allSatisfy({ end in (try? consumer.position(end.key)).map { $0 >= end.value } ?? true }) { return }
            usleep(500)
        }
    }

    /// Reads on up to `ends` (the output partitions' read-committed ends once the pipeline has
    /// stopped), then stops the thread and returns what it saw.
    func finish(at ends: [TopicPartition: Offset]) -> (records: Int, bytes: Int64, latencies: LatencyHistogram, failure: String?) {
        lock.lock()
        target = ends
        lock.unlock()
        done.wait()
        return (records, bytes, latencies, failure)
    }
}
