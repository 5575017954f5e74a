import Benchmark
import Foundation
import Sluice

/// The seed's OrderCreated as a user writes it: a plain `Codable` struct, the amount a `Decimal`.
struct OrderCreated: Codable, Equatable {
    var eventType: String
    var orderID: String
    var customerID: String
    var amount: Decimal
    var timestamp: String

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type", orderID = "order_id", customerID = "customer_id", amount, timestamp
    }
}

/// JSON serde benchmarks on the seed's OrderCreated (~130 B): `JSONBytesDecoder` (what
/// `Serde.json` decodes with) against the previous path, `JSONValidation` then Foundation's
/// `JSONDecoder`, and encoded by `JSONBytesEncoder` and by `JSONEncoder` (sorted keys, slashes
/// unescaped, what `.json` wrote before; the same bytes). Every sample decodes 1,000 records and counts as 1,000 scaled iterations, so
/// "Throughput (K)" is thousands of records per second, on one core.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50_000
    )
    let records: [[UInt8]] = (0..<1_000).map { index in
        Array(
            #"{"event_type":"OrderCreated","order_id":"ORD-\#(100_000 + index)","customer_id":"CUST-\#(index % 1000)","amount":\#(index % 500).\#(index % 100),"timestamp":"2026-12-03T08:\#(10 + index % 50):00Z"}"#
                .utf8)
    }

    let decoder = JSONBytesDecoder()
    Benchmark("json_decode_OrderCreated_(JSONBytesDecoder)") { _ in
        for bytes in records { blackHole(try decoder.decode(OrderCreated.self, from: bytes)) }
    }

    Benchmark("json_decode_OrderCreated_(JSONValidation_and_JSONDecoder)") { _ in
        for bytes in records { blackHole(try JSONValidation.decode(OrderCreated.self, from: bytes)) }
    }

    let orders = try! records.map { try decoder.decode(OrderCreated.self, from: $0) }
    let encoder = JSONBytesEncoder()
    Benchmark("json_encode_OrderCreated_(JSONBytesEncoder)") { _ in
        for order in orders { blackHole(try encoder.encode(order)) }
    }

    let foundation = JSONEncoder()
    foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    Benchmark("json_encode_OrderCreated_(JSONEncoder)") { _ in
        for order in orders { blackHole(Array(try foundation.encode(order))) }
    }
}
