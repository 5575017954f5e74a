package import StreamCore
import RecordFormat
import Foundation

/// Producer settings.
package struct ProducerConfig: Sendable {
    /// A batch is appended once it would grow past this many (uncompressed) bytes.
    package var batchBytesMax: Int = 256 << 10
    /// A batch is appended at the latest this long after its first record; 0 appends every
    /// record at once.
    package var lingerMilliseconds: Int = 5
    /// Whether ``LogProducer/flush()`` syncs what it appended (the default); without it the
    /// operating system decides when data reaches the disk, and a power loss can lose it.
    package var syncOnFlush: Bool = true
    package init() {}
}

/// Where a produced record landed.
package struct RecordMetadata: Sendable, Equatable {
    package var topicPartition: TopicPartition
    package var offset: Offset
    package var timestamp: Timestamp
}

/// A record handed to ``LogProducer/send(topic:key:value:headers:timestamp:partition:)`` whose
/// batch may not have been appended yet. ``wait()`` appends and syncs it if needed.
///
/// Thread-safety: safe from any thread.
package final class PendingRecord: @unchecked Sendable {
    package let topicPartition: TopicPartition
    package let timestamp: Timestamp
    private let lock = Lock()
    private var outcome: Result<Offset, LogError>?
    private weak var producer: LogProducer?

    init(topicPartition: TopicPartition, timestamp: Timestamp, producer: LogProducer) {
        self.topicPartition = topicPartition
        self.timestamp = timestamp
        self.producer = producer
    }

    func resolve(_ result: Result<Offset, LogError>) {
        lock.lock(); defer { lock.unlock() }
        outcome = result
    }

    /// The outcome so far: nil while the record waits in an open batch.
    package var result: Result<RecordMetadata, LogError>? {
        lock.lock(); defer { lock.unlock() }
        return outcome.map { $0.map { RecordMetadata(topicPartition: topicPartition, offset: $0, timestamp: timestamp) } }
    }

    /// Appends (and syncs) the record's batch if it is still open, then returns where it landed.
    package func wait() throws(LogError) -> RecordMetadata {
        try producer?.flush(topicPartition)
        guard let result else { throw LogError(.closed, "the producer was closed before the record was sent") }
        return try result.get()
    }
}

/// Appends records to topics in batches, one open batch per partition.
///
/// Keyed records go to the partition Kafka's default partitioner would choose (murmur2 of the
/// key); keyless records stick to one partition until its batch is appended, then move to the
/// next, so they spread evenly in whole batches. Batches are appended when they fill
/// (`batchBytesMax`, or the topic's batch size limit), when they are older than the linger time,
/// and on ``flush()``.
///
/// - Invariant: a batch is appended whole or not at all; records of one partition keep the
///   order they were sent in.
/// Thread-safety: safe from any thread.
package final class LogProducer: @unchecked Sendable {
    private struct OpenBatch {
        var builder: RecordBatchBuilder
        var pending: [PendingRecord] = []
        var openedNanoseconds: UInt64
    }

    private let log: LogManager
    private let config: ProducerConfig
    private let lock = Lock()
    private var open: [TopicPartition: OpenBatch] = [:]
    private var unsynced: Set<TopicPartition> = []
    /// The partition keyless records of a topic go to now.
    private var sticky: [TopicName: Int] = [:]
    /// Topics whose sticky partition's batch was appended: the next keyless record moves on.
    private var stickyExhausted: Set<TopicName> = []
    private var backgroundError: LogError?
    private var lingerThread: Thread?
    private var closed = false

    package init(log: LogManager, config: ProducerConfig = ProducerConfig()) {
        self.log = log
        self.config = config
    }

    deinit { stopLingerThread() }

    /// Adds a record to its partition's open batch.
    /// - Throws: `.unknownTopic`, `.invalidPartition`, `.recordTooLarge` (the record alone is over
    ///   the topic's batch limit), or an error of an earlier background append.
    @discardableResult
    package func send(
        topic: TopicName, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [],
        timestamp: Timestamp? = nil, partition explicitPartition: PartitionID? = nil
    ) throws(LogError) -> PendingRecord {
        let target = try log.topic(topic)
        let recordBytes = (key?.count ?? 0) + (value?.count ?? 0)
            + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 10 } + 40
        let limit = min(config.batchBytesMax, target.config.batchBytesMax)
        if recordBytes + RecordBatchHeader.sizeBytes > target.config.batchBytesMax {
            throw LogError(.recordTooLarge, "a record of \(recordBytes) bytes exceeds topic '\(topic)'s limit of \(target.config.batchBytesMax) bytes")
        }
        lock.lock(); defer { lock.unlock() }
        if closed { throw LogError(.closed, "the producer is closed") }
        if let error = backgroundError { throw error }
        let partition: PartitionID
        if let explicitPartition {
            _ = try target.partition(explicitPartition)
            partition = explicitPartition
        } else if let key {
            partition = Murmur2Partitioner.partition(forKey: key, partitionCount: target.partitionCount)
        } else {
            partition = stickyPartition(topic, partitionCount: target.partitionCount)
        }
        let topicPartition = TopicPartition(topic, partition)
        if let batch = open[topicPartition], batch.builder.estimatedSizeBytes + recordBytes > limit {
            try appendOpenBatch(topicPartition)
            if key == nil && explicitPartition == nil {
                let next = TopicPartition(topic, stickyPartition(topic, partitionCount: target.partitionCount))
                return try sendLocked(next, codec: target.config.compression.codec ?? .none,
                                      key: key, value: value, headers: headers, timestamp: timestamp)
            }
        }
        return try sendLocked(topicPartition, codec: target.config.compression.codec ?? .none,
                              key: key, value: value, headers: headers, timestamp: timestamp)
    }

    /// Keyless records fill one partition's batch at a time, then move to the next partition.
    private func stickyPartition(_ topic: TopicName, partitionCount: Int) -> PartitionID {
        var current = sticky[topic] ?? 0
        if stickyExhausted.remove(topic) != nil { current += 1 }
        current %= partitionCount
        sticky[topic] = current
        return PartitionID(current)
    }

    private func sendLocked(
        _ topicPartition: TopicPartition, codec: CompressionCodec, key: [UInt8]?, value: [UInt8]?,
        headers: [RecordHeader], timestamp: Timestamp?
    ) throws(LogError) -> PendingRecord {
        let stamp = timestamp ?? log.clock.now()
        let pending = PendingRecord(topicPartition: topicPartition, timestamp: stamp, producer: self)
        // Taken out of the dictionary so the builder's buffer is uniquely referenced: appending
        // to a copy still held by `open` would copy the whole batch on every record.
        var batch = open.removeValue(forKey: topicPartition)
            ?? OpenBatch(builder: RecordBatchBuilder(codec: codec), openedNanoseconds: log.clock.monotonicNanoseconds())
        batch.builder.append(key: key, value: value, headers: headers, timestamp: stamp)
        batch.pending.append(pending)
        open[topicPartition] = batch
        if config.lingerMilliseconds == 0 {
            try appendOpenBatch(topicPartition)
        } else {
            startLingerThreadIfNeeded()
        }
        return pending
    }

    /// Appends the open batch of one partition; resolves its pending records.
    private func appendOpenBatch(_ topicPartition: TopicPartition) throws(LogError) {
        guard let batch = open.removeValue(forKey: topicPartition), !batch.pending.isEmpty else { return }
        if sticky[topicPartition.topic] == Int(topicPartition.partition.rawValue) {
            stickyExhausted.insert(topicPartition.topic)
        }
        do {
            let bytes = try formatCall("encoding a batch for \(topicPartition)") { () throws(RecordFormatError) in try batch.builder.build() }
            let placed = try log.partition(topicPartition).append(bytes)
            for (index, pending) in batch.pending.enumerated() { pending.resolve(.success(placed.baseOffset + Int64(index))) }
            unsynced.insert(topicPartition)
        } catch {
            for pending in batch.pending { pending.resolve(.failure(error)) }
            throw error
        }
    }

    /// Appends every open batch and, unless configured otherwise, syncs every partition written.
    package func flush() throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        if let error = backgroundError {
            backgroundError = nil
            throw error
        }
        var firstError: LogError?
        for topicPartition in open.keys.sorted() {
            do { try appendOpenBatch(topicPartition) } catch { firstError = firstError ?? error }
        }
        try syncWritten()
        if let firstError { throw firstError }
    }

    /// Appends and syncs one partition's open batch.
    package func flush(_ topicPartition: TopicPartition) throws(LogError) {
        lock.lock(); defer { lock.unlock() }
        try appendOpenBatch(topicPartition)
        try syncWritten()
    }

    private func syncWritten() throws(LogError) {
        guard config.syncOnFlush else {
            unsynced.removeAll()
            return
        }
        // One flush group: a sync per partition written, one recovery-point checkpoint.
        try log.sync(unsynced.sorted())
        unsynced.removeAll()
    }

    /// Stops the producer without writing anything more (its open batches are dropped), as a
    /// process death would: for an owner that is abandoned after a (simulated) crash, so the
    /// linger thread does not outlive it.
    package func abandon() {
        stopLingerThread()
        lock.lock(); defer { lock.unlock() }
        open.removeAll()
        closed = true
    }

    /// Flushes, then refuses further sends.
    package func close() throws(LogError) {
        stopLingerThread()
        try flush()
        lock.lock(); defer { lock.unlock() }
        closed = true
    }

    // MARK: Linger

    private func startLingerThreadIfNeeded() {
        guard lingerThread == nil else { return }
        let interval = Double(config.lingerMilliseconds) / 1000
        let thread = Thread { [weak self] in
            while !Thread.current.isCancelled {
                Thread.sleep(forTimeInterval: interval)
                guard let self else { return }
                self.appendExpiredBatches()
            }
        }
        thread.name = "sluice-producer-linger"
        lingerThread = thread
        thread.start()
    }

    private func stopLingerThread() {
        lock.lock()
        let thread = lingerThread
        lingerThread = nil
        lock.unlock()
        thread?.cancel()
    }

    private func appendExpiredBatches() {
        lock.lock(); defer { lock.unlock() }
        let now = log.clock.monotonicNanoseconds()
        let lingerNanoseconds = UInt64(config.lingerMilliseconds) * 1_000_000
        for (topicPartition, batch) in open where now &- batch.openedNanoseconds >= lingerNanoseconds {
            do { try appendOpenBatch(topicPartition) } catch { backgroundError = backgroundError ?? error }
        }
    }
}
