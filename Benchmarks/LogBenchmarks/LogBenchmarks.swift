import Benchmark
import Foundation
import StreamCore
import RecordFormat
import LogStorage

/// Micro-benchmarks of the log layer. Run with `swift package benchmark` (release build).
///
/// Every iteration handles one batch of ``eventsPerBatch`` `OrderCreated` JSON events of about
/// 120 bytes, so records/s = iterations/s × 1,000 and uncompressed MB/s = iterations/s × the
/// batch's uncompressed size (printed once as the `uncompressed bytes per batch` metric).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )

    let events = OrderEventFixture.events(count: OrderEventFixture.eventsPerBatch)
    let uncompressedBytes = events.reduce(0) { $0 + $1.key.count + $1.value.count }

    for codec in CompressionCodec.supported {
        let batch = OrderEventFixture.batch(events, codec: codec)

        Benchmark("encode \(codec.name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(OrderEventFixture.batch(events, codec: codec))
            }
        }

        Benchmark("decode \(codec.name)") { benchmark in
            let view = try RecordBatch(bytes: batch)
            for _ in benchmark.scaledIterations {
                blackHole(try view.records())
            }
        }

        Benchmark(
            "compression ratio \(codec.name)",
            configuration: .init(metrics: [.custom("uncompressed ÷ stored × 100", polarity: .prefersLarger), .custom("uncompressed bytes per batch")], maxIterations: 1)
        ) { benchmark in
            benchmark.measurement(.custom("uncompressed ÷ stored × 100", polarity: .prefersLarger), uncompressedBytes * 100 / batch.count)
            benchmark.measurement(.custom("uncompressed bytes per batch"), uncompressedBytes)
        }

        Benchmark("append \(codec.name) (encode + append, no sync)") { benchmark in
            let scratch = try ScratchLog(codec: codec)
            defer { scratch.remove() }
            for _ in benchmark.scaledIterations {
                try scratch.partition.append(OrderEventFixture.batch(events, codec: codec))
            }
        }

        Benchmark("append \(codec.name) + sync per batch") { benchmark in
            let scratch = try ScratchLog(codec: codec)
            defer { scratch.remove() }
            for _ in benchmark.scaledIterations {
                try scratch.partition.append(OrderEventFixture.batch(events, codec: codec))
                try scratch.partition.sync()
            }
        }

        Benchmark("read \(codec.name) (read + CRC + decompress + decode)") { benchmark in
            let scratch = try ScratchLog(codec: codec)
            defer { scratch.remove() }
            let prefilled = 200
            for _ in 0..<prefilled { try scratch.partition.append(batch) }
            var offset = Offset(0)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let fetched = try scratch.partition.read(from: offset, maxBytes: 1)
                for view in fetched.batches { blackHole(try view.records()) }
                offset = offset + Int64(OrderEventFixture.eventsPerBatch)
                if offset >= scratch.partition.logEndOffset { offset = Offset(0) }
            }
            benchmark.stopMeasurement()
        }
    }

    let mebibyte = [UInt8](repeating: 0x5A, count: 1 << 20)
    Benchmark("CRC-32C 1 MiB") { benchmark in
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
        partition = topic.partitions[0]
    }

    func remove() {
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
