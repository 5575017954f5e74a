import Avro
import Benchmark

/// The seed's OrderCreated v2 (with `amount`, a decimal(12, 2) on bytes) as a pipeline
/// declares it.
struct OrderCreated: Codable, Equatable {
    var orderID: String
    var customerID: String
    var timestamp: String
    var amount: AvroDecimal

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id", customerID = "customer_id", timestamp, amount
    }
}

/// The same event with its own field code (`AvroRecordCodable`): the decoder and encoder read
/// and write its fields by name without Swift's `Decoder`/`Encoder` machinery.
struct OrderCreatedRecord: AvroRecordCodable, Equatable {
    var orderID: String
    var customerID: String
    var timestamp: String
    var amount: AvroDecimal

    init(_ order: OrderCreated) {
        (orderID, customerID, timestamp, amount) = (order.orderID, order.customerID, order.timestamp, order.amount)
    }

    init(avroFields fields: AvroRecordFields) throws {
        orderID = try fields.string("order_id")
        customerID = try fields.string("customer_id")
        timestamp = try fields.string("timestamp")
        amount = try fields.decimal("amount")
    }

    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(orderID, "order_id")
        try fields.write(customerID, "customer_id")
        try fields.write(timestamp, "timestamp")
        try fields.write(amount, "amount")
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id", customerID = "customer_id", timestamp, amount
    }
}

/// v1 of the event, without `amount`, for the resolution benchmark's writer.
struct OrderCreatedV1: Codable {
    var orderID: String
    var customerID: String
    var timestamp: String

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id", customerID = "customer_id", timestamp
    }
}

/// The records both this benchmark and Benchmarks/avro/fastavro_benchmark.py use: record `i`
/// has order id `o-` and six digits, customer `c-` and four, a fixed-width timestamp, and an
/// amount of `(i × 7919) mod 10,000,000` cents.
enum OrderFixture {
    static let recordsPerSample = 1_000
    static let v1 = """
        {"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, \
        {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}]}
        """
    static let v2 = """
        {"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, \
        {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}, \
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\\u0000"}]}
        """

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    static func order(_ index: Int) -> OrderCreated {
        OrderCreated(
            orderID: "o-" + digits(index, 6), customerID: "c-" + digits(index % 1000, 4),
            timestamp: "2026-12-02T05:" + digits(index / 60 % 60, 2) + ":" + digits(index % 60, 2) + "Z",
            amount: AvroDecimal(unscaled: Int64(index * 7919 % 10_000_000), scale: 2)
        )
    }
}

/// Avro codec benchmarks. Run with `swift package benchmark --target AvroBenchmarks`, or
/// `bash Benchmarks/avro/avro-benchmark.sh` for these beside fastavro in the same run. Every
/// sample handles 1,000 records and counts as 1,000 scaled iterations, so "Throughput (K)" is
/// thousands of records per second, on one core.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 50_000
    )
    guard let v1 = try? AvroSchema(parsing: OrderFixture.v1), let v2 = try? AvroSchema(parsing: OrderFixture.v2),
        let resolving = try? AvroReadingPlan(writer: v1, reader: v2)
    else { fatalError("the fixture's schemas parse") }
    let orders = (0..<OrderFixture.recordsPerSample).map(OrderFixture.order)
    let encoder = AvroBinaryEncoder(schema: v2)
    guard let encoded = try? orders.map({ try encoder.encode($0) }),
        let encodedV1 = try? orders.map({
            try AvroBinaryEncoder(schema: v1).encode(OrderCreatedV1(orderID: $0.orderID, customerID: $0.customerID, timestamp: $0.timestamp))
        })
    else { fatalError("the fixture encodes") }
    let plan = AvroReadingPlan(schema: v2)

    let records = orders.map(OrderCreatedRecord.init)

    let decoder = AvroBinaryDecoder(plan: plan)
    Benchmark("avro_decode_OrderCreated_into_a_struct_(AvroRecordDecodable)") { _ in
        for bytes in encoded { blackHole(try decoder.decode(OrderCreatedRecord.self, from: bytes)) }
    }

    Benchmark("avro_decode_OrderCreated_into_a_struct_(Codable)") { _ in
        for bytes in encoded { blackHole(try decoder.decode(OrderCreated.self, from: bytes)) }
    }

    Benchmark("avro_encode_OrderCreated_from_a_struct_(AvroRecordEncodable)") { _ in
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for record in records {
            out.removeAll(keepingCapacity: true)
            try encoder.encode(record, appendingTo: &out)
            blackHole(out)
        }
    }

    Benchmark("avro_encode_OrderCreated_from_a_struct_(Codable)") { _ in
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for order in orders {
            out.removeAll(keepingCapacity: true)
            try encoder.encode(order, appendingTo: &out)
            blackHole(out)
        }
    }

    let resolvingDecoder = AvroBinaryDecoder(plan: resolving)
    Benchmark("avro_decode_OrderCreated_v1_as_v2_(resolution,_AvroRecordDecodable)") { _ in
        for bytes in encodedV1 { blackHole(try resolvingDecoder.decode(OrderCreatedRecord.self, from: bytes)) }
    }

    Benchmark("avro_decode_OrderCreated_v1_as_v2_(resolution,_Codable)") { _ in
        for bytes in encodedV1 { blackHole(try resolvingDecoder.decode(OrderCreated.self, from: bytes)) }
    }

    Benchmark("avro_decode_OrderCreated_as_AvroValue_(generic)") { _ in
        for bytes in encoded { blackHole(try plan.decode(bytes)) }
    }
}
