import Benchmark
import Foundation
import StreamCore
import RecordFormat
import LogStorage

/// Micro-benchmarks of the log layer. Run with `swift package benchmark` (release build).
///
/// Every sample handles one batch of ``OrderEventFixture/eventsPerBatch`` `OrderCreated` JSON
/// events of about 140 bytes, and counts as 1,000 scaled iterations, so "Throughput (K)" reads
/// as thousands of records per second. Uncompressed MB/s = records/s × 140 bytes (the exact
/// batch size is the `uncompressed bytes per batch` metric). Logs are set up and removed outside
/// the measurement, on the real disk, in a long-lived data directory per benchmark.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50_000,
        thresholds: [.throughput: .init(relative: [.p50: 25])]
    )

    let events = OrderEventFixture.events(count: OrderEventFixture.eventsPerBatch)
    let uncompressedBytes = events.reduce(0) { $0 + $1.key.count + $1.value.count }

    for codec in CompressionCodec.supported {
        let batch = OrderEventFixture.batch(events, codec: codec)

        Benchmark(thresholdName("encode \(codec.name)")) { _ in
            blackHole(OrderEventFixture.batch(events, codec: codec))
        }

        Benchmark(thresholdName("decode \(codec.name)")) { _ in
            blackHole(try RecordBatch(bytes: batch).records())
        }

        Benchmark(
            thresholdName("compression ratio \(codec.name)"),
            configuration: .init(metrics: [.custom("uncompressed ÷ stored × 100", polarity: .prefersLarger), .custom("uncompressed bytes per batch")],
                                 scalingFactor: .one, maxIterations: 1, thresholds: [:])
        ) { benchmark in
            benchmark.measurement(.custom("uncompressed ÷ stored × 100", polarity: .prefersLarger), uncompressedBytes * 100 / batch.count)
            benchmark.measurement(.custom("uncompressed bytes per batch"), uncompressedBytes)
        }

        let appendLog = ScratchHolder()
        Benchmark(thresholdName("append \(codec.name) (encode + append, no sync)"), closure: { _ in
            try appendLog.partition.append(OrderEventFixture.batch(events, codec: codec))
        }, setup: { try appendLog.open(codec: codec) }, teardown: { appendLog.remove() })

        let syncedLog = ScratchHolder()
        Benchmark(thresholdName("append \(codec.name) + sync per batch"), closure: { _ in
            try syncedLog.partition.append(OrderEventFixture.batch(events, codec: codec))
            try syncedLog.partition.sync()
        }, setup: { try syncedLog.open(codec: codec) }, teardown: { syncedLog.remove() })

        let readLog = ScratchHolder()
        let readPosition = OffsetCursor()
        Benchmark(thresholdName("read \(codec.name) (read + CRC + decompress + decode)"), closure: { _ in
            let partition = readLog.partition
            let fetched = try partition.read(from: readPosition.offset, maxBytes: 1)
            for view in fetched.batches { blackHole(try view.records()) }
            readPosition.advance(by: Int64(OrderEventFixture.eventsPerBatch), wrappingAt: partition.logEndOffset)
        }, setup: {
            try readLog.open(codec: codec)
            for _ in 0..<200 { try readLog.partition.append(batch) }
        }, teardown: { readLog.remove() })

        let batchLog = ScratchHolder()
        let batchPosition = OffsetCursor()
        Benchmark(thresholdName("read \(codec.name) batches (read + CRC, records not decoded)"), closure: { _ in
            let partition = batchLog.partition
            blackHole(try partition.read(from: batchPosition.offset, maxBytes: 1))
            batchPosition.advance(by: Int64(OrderEventFixture.eventsPerBatch), wrappingAt: partition.logEndOffset)
        }, setup: {
            try batchLog.open(codec: codec)
            for _ in 0..<200 { try batchLog.partition.append(batch) }
        }, teardown: { batchLog.remove() })
    }

    let mebibyte = [UInt8](repeating: 0x5A, count: 1 << 20)
    Benchmark(thresholdName("CRC-32C 1 MiB"), configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(CRC32C.checksum(mebibyte))
        }
    }
}

/// The seed's `OrderCreated` events, as the benchmarks feed them.
enum OrderEventFixture {
    static let eventsPerBatch = 1000

    static func events(count: Int) -> [(key: [UInt8], value: [UInt8])] {
        var random = SeededRandom(seed: 42)
        return (0..<count).map { index in
            let customer = "CUST-\(1000 + Int(random.next() % 10_000))"
            let cents = Int(random.next() % 200_000)
            let json = "{\"event_type\":\"OrderCreated\",\"order_id\":\"ORD-\(100_000 + index)\",\"customer_id\":\"\(customer)\",\"amount\":\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100),\"timestamp\":\"2025-06-11T12:\(10 + index % 50):00Z\"}"
            return (Array(customer.utf8), Array(json.utf8))
        }
    }

    static func batch(_ events: [(key: [UInt8], value: [UInt8])], codec: CompressionCodec) -> [UInt8] {
        var builder = RecordBatchBuilder(codec: codec)
        let now = Timestamp(milliseconds: 1_749_643_200_000)
        for event in events { builder.append(key: event.key, value: event.value, headers: [], timestamp: now) }
        return try! builder.build()
    }
}

/// Holds a benchmark's scratch log between its setup and teardown hooks.
final class ScratchHolder: @unchecked Sendable {
    private var scratch: ScratchLog?

    var partition: PartitionLog { scratch!.partition }

    func open(codec: CompressionCodec) throws { scratch = try ScratchLog(codec: codec) }

    func remove() {
        scratch?.remove()
        scratch = nil
    }
}

/// The next offset a read benchmark reads, wrapping around the prefilled log.
final class OffsetCursor: @unchecked Sendable {
    private(set) var offset = Offset(0)

    func advance(by count: Int64, wrappingAt end: Offset) {
        offset = offset + count
        if offset >= end { offset = Offset(0) }
    }
}

/// A one-partition topic in a temporary data directory on the real disk.
final class ScratchLog {
    let directory: String
    let log: LogManager
    let partition: PartitionLog

    init(codec: CompressionCodec) throws {
        directory = NSTemporaryDirectory() + "sluice-bench-\(UUID().uuidString)"
        log = try LogManager.open(directory: directory)
        var config = TopicConfig(partitionCount: 1)
        config.compression = CompressionCodecName(rawValue: codec.name) ?? .none
        config.retentionBytes = 512 << 20
        let topic = try log.createTopic(TopicName(rawValue: "bench")!, config: config)
        partition = try topic.partition(0)
    }

    func remove() {
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A benchmark's name with spaces as underscores: the benchmark tool writes threshold files
/// under that form but looks them up under the name as given, so only such names round-trip
/// (`swift package benchmark thresholds update` / `check`).
func thresholdName(_ name: String) -> String { name.replacingOccurrences(of: " ", with: "_") }
