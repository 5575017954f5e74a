import Testing

@testable import Avro

/// The seed's event with its own field code. Its `Codable` conformance refuses to run, so a
/// test that passes through it shows the decoder and encoder took the field-code path.
struct OrderCreatedRecord: AvroRecordCodable, Equatable {
    var orderID: String
    var customerID: String
    var timestamp: String
    var amount: AvroDecimal

    init(orderID: String, customerID: String, timestamp: String, amount: AvroDecimal) {
        (self.orderID, self.customerID, self.timestamp, self.amount) = (orderID, customerID, timestamp, amount)
    }

    init(_ order: OrderCreated) {
        self.init(orderID: order.orderID, customerID: order.customerID, timestamp: order.timestamp, amount: order.amount)
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

    init(from decoder: any Decoder) throws { throw CodablePathTaken() }
    func encode(to encoder: any Encoder) throws { throw CodablePathTaken() }
}

struct CodablePathTaken: Error {}

/// `Everything` (every kind of field) with its own field code: primitives by their readers,
/// the rest (an optional, an enum, an array of records, a map) through `decode`/`encode`.
struct EverythingRecord: AvroRecordCodable, Equatable {
    var value: Everything

    init(_ value: Everything) { self.value = value }

    init(avroFields fields: AvroRecordFields) throws {
        value = Everything(
            flag: try fields.boolean("flag"), count: try fields.long("count"), ratio: try fields.double("ratio"),
            small: try fields.float("small"), blob: try fields.bytes("blob"), note: try fields.decode(String?.self, "note"),
            suit: try fields.decode(Suit.self, "suit"), lines: try fields.decode([Line].self, "lines"),
            labels: try fields.decode([String: Int].self, "labels"), checksum: try fields.bytes("checksum"), price: try fields.decimal("price")
        )
    }

    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(value.flag, "flag")
        try fields.write(value.count, "count")
        try fields.write(value.ratio, "ratio")
        try fields.write(value.small, "small")
        try fields.write(value.blob, "blob")
        if let note = value.note { try fields.write(note, "note") }
        try fields.encode(value.suit, "suit")
        try fields.encode(value.lines, "lines")
        try fields.encode(value.labels, "labels")
        try fields.write(value.checksum, "checksum")
        try fields.write(value.price, "price")
    }

    init(from decoder: any Decoder) throws { throw CodablePathTaken() }
    func encode(to encoder: any Encoder) throws { throw CodablePathTaken() }
}

/// A customer with a nested address record, each read by its own field code.
struct Address: AvroRecordCodable, Equatable {
    var city: String
    var zip: Int32

    init(city: String, zip: Int32) { (self.city, self.zip) = (city, zip) }
    init(avroFields fields: AvroRecordFields) throws { (city, zip) = (try fields.string("city"), try fields.int32("zip")) }
    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(city, "city")
        try fields.write(zip, "zip")
    }
}

struct Customer: AvroRecordCodable, Equatable {
    var id: Int
    var address: Address
    var previous: Address?

    init(id: Int, address: Address, previous: Address?) { (self.id, self.address, self.previous) = (id, address, previous) }
    init(avroFields fields: AvroRecordFields) throws {
        id = try fields.int("id")
        address = try fields.record(Address.self, "address")
        previous = try fields.decode(Address?.self, "previous")
    }
    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(id, "id")
        try fields.record(address, "address")
        try fields.encode(previous, "previous")
    }
}

@Suite struct AvroRecordCodingTests {
    static let customerSchema = #"""
        {"type":"record","name":"Customer","fields":[{"name":"id","type":"long"},
          {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"},{"name":"zip","type":"int"}]}},
          {"name":"previous","type":["null","Address"],"default":null}]}
        """#

    /// Orders whose amounts cover every length of minimal two's complement, both signs and the
    /// boundaries where a byte is added (±2^(8k−1)), and strings small and heap-allocated.
    static func orders() -> [OrderCreated] {
        var amounts: [Int64] = [0, 1, -1, 127, 128, -128, -129, 255, 256, Int64.max / 1000, Int64.min / 1000]
        for bits in stride(from: 7, through: 55, by: 8) {
            let edge = Int64(1) << bits
            amounts += [edge - 1, edge, -edge, -edge - 1]
        }
        amounts += (0..<200).map { Int64($0) * 7_919_017 - 800_000_000 }
        return amounts.enumerated().map { index, unscaled in
            OrderCreated(
                orderID: "o-\(index)", customerID: String(repeating: "c", count: index % 40), timestamp: "2026-12-02T05:00:\(index % 60)Z",
                amount: AvroDecimal(unscaled: unscaled, scale: 2)
            )
        }
    }

    @Test func theFieldCodeWritesTheCodablePathsBytesAndReadsThemBack() throws {
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let encoder = AvroBinaryEncoder(schema: v2)
        let decoder = AvroBinaryDecoder(schema: v2)
        for order in Self.orders() {
            let codableBytes = try encoder.encode(order)
            let recordBytes = try encoder.encode(OrderCreatedRecord(order))
            #expect(recordBytes == codableBytes, "\(order.amount)")
            #expect(try decoder.decode(OrderCreatedRecord.self, from: codableBytes) == OrderCreatedRecord(order))
            // The same decoder alternates between the paths by the root type.
            #expect(try decoder.decode(OrderCreated.self, from: recordBytes) == order)
        }
        let schema = try AvroSchema(parsing: AvroCodableTests.everythingSchema)
        for note in ["hello", nil] {
            var sample = AvroCodableTests.sample
            sample.note = note
            let bytes = try AvroBinaryEncoder(schema: schema).encode(EverythingRecord(sample))
            #expect(bytes == (try AvroBinaryEncoder(schema: schema).encode(sample)))
            #expect(try AvroBinaryDecoder(schema: schema).decode(EverythingRecord.self, from: bytes) == EverythingRecord(sample))
        }
    }

    @Test func theFieldCodeResolvesWritersByName() throws {
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        // v1 bytes read as v2: the amount takes its default.
        let old = try AvroBinaryEncoder(schema: v1).encode(OrderCreatedV1(orderID: "o-1", customerID: "c-9", timestamp: "t"))
        let resolved = try AvroBinaryDecoder(plan: try AvroReadingPlan(writer: v1, reader: v2)).decode(OrderCreatedRecord.self, from: old)
        #expect(resolved == OrderCreatedRecord(orderID: "o-1", customerID: "c-9", timestamp: "t", amount: AvroDecimal(unscaled: 0, scale: 2)))
        // A writer with the fields in another order, an int amount-less shape and an extra field.
        let shuffled = try AvroSchema(
            parsing: #"""
                {"type":"record","name":"OrderCreated","fields":[{"name":"timestamp","type":"string"},{"name":"note","type":"string"},
                  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}},
                  {"name":"customer_id","type":"string"},{"name":"order_id","type":"string"}]}
                """#
        )
        let bytes = try AvroValue.record([.string("t"), .string("ignored"), .bytes([0x30, 0x39]), .string("c"), .string("o")])
            .binaryEncoded(schema: shuffled)
        let decoder = AvroBinaryDecoder(plan: try AvroReadingPlan(writer: shuffled, reader: v2))
        let expected = OrderCreatedRecord(orderID: "o", customerID: "c", timestamp: "t", amount: AvroDecimal(unscaled: 12_345, scale: 2))
        #expect(try decoder.decode(OrderCreatedRecord.self, from: bytes) == expected)
        #expect(try decoder.decode(OrderCreatedRecord.self, from: bytes) == expected, "a reused decoder")
    }

    @Test func fieldsReadOutOfOrderOrNotAtAllAreHandledByName() throws {
        struct Reversed: AvroRecordDecodable {
            var timestamp: String, orderID: String
            init(avroFields fields: AvroRecordFields) throws {
                timestamp = try fields.string("timestamp")
                orderID = try fields.string("order_id")
            }
            init(from decoder: any Decoder) throws { throw CodablePathTaken() }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let one = try AvroBinaryEncoder(schema: v1).encode(OrderCreatedV1(orderID: "first", customerID: "second", timestamp: "third"))
        let decoded = try AvroBinaryDecoder(schema: v1).decode(Reversed.self, from: one)
        #expect(decoded.orderID == "first" && decoded.timestamp == "third")
        // Inside an array (through `Decodable`), each record still ends where it should.
        let array = try AvroSchema(parsing: #"{"type":"array","items":\#(SeedSchemas.orderCreated)}"#)
        let items = try AvroBinaryDecoder(schema: array).decode([OrderCreatedV1].self, from: [0x04] + one + one + [0x00])
        #expect(items.map(\.timestamp) == ["third", "third"])
    }

    @Test func aFieldTheReaderSchemaLacksIsAnErrorNamingIt() throws {
        struct Wrong: AvroRecordDecodable {
            init(avroFields fields: AvroRecordFields) throws { _ = try fields.string("orderId") }
            init(from decoder: any Decoder) throws { throw CodablePathTaken() }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let bytes = try AvroBinaryEncoder(schema: v1).encode(OrderCreatedV1(orderID: "o", customerID: "c", timestamp: "t"))
        #expect {
            try AvroBinaryDecoder(schema: v1).decode(Wrong.self, from: bytes)
        } throws: { error in
            "\(error)".contains("orderId")
        }
    }

    @Test func badBytesAreErrorsNotCrashes() throws {
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let decoder = AvroBinaryDecoder(schema: v2)
        let bytes = try AvroBinaryEncoder(schema: v2).encode(OrderCreatedRecord(Self.orders()[20]))
        for cut in 0..<bytes.count {
            #expect(throws: (any Error).self, "cut at \(cut)") { try decoder.decode(OrderCreatedRecord.self, from: Array(bytes[..<cut])) }
        }
        #expect(throws: AvroCodecError.self) { try decoder.decode(OrderCreatedRecord.self, from: bytes + [0]) }
        #expect(throws: (any Error).self) { try decoder.decode(OrderCreatedRecord.self, from: [0x7F] + bytes.dropFirst()) }
        // A mismatch names the field: the order id's bytes are no string.
        let notUTF8: [UInt8] = [0x02, 0xFF] + bytes.dropFirst(1 + Int(bytes[0] / 2))
        #expect { try decoder.decode(OrderCreatedRecord.self, from: notUTF8) } throws: { "\($0)".contains("order_id") }
        // The decoder is still good after every error.
        #expect(try decoder.decode(OrderCreatedRecord.self, from: bytes) == OrderCreatedRecord(Self.orders()[20]))
    }

    @Test func nestedRecordsAndOptionalRecordsRoundTrip() throws {
        let schema = try AvroSchema(parsing: Self.customerSchema)
        let encoder = AvroBinaryEncoder(schema: schema)
        let decoder = AvroBinaryDecoder(schema: schema)
        for previous in [nil, Address(city: "Lyon", zip: 69_001)] {
            let customer = Customer(id: -42, address: Address(city: "Paris", zip: 75_001), previous: previous)
            let bytes = try encoder.encode(customer)
            let generic = AvroValue.record([
                .long(-42), .record([.string("Paris"), .int(75_001)]),
                previous.map { .union(1, .record([.string($0.city), .int($0.zip)])) } ?? .union(0, .null),
            ])
            #expect(bytes == (try generic.binaryEncoded(schema: schema)))
            #expect(try decoder.decode(Customer.self, from: bytes) == customer)
        }
    }

    @Test func theWriterKeepsSchemaOrderAndFillsWhatTheValueLeavesOut() throws {
        struct Writes: AvroRecordEncodable {
            var names: [String]
            func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
                for name in names { try fields.write("x", name) }
            }
            func encode(to encoder: any Encoder) throws { throw CodablePathTaken() }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let encoder = AvroBinaryEncoder(schema: v1)
        #expect(throws: EncodingError.self, "out of order") { try encoder.encode(Writes(names: ["customer_id", "order_id", "timestamp"])) }
        #expect(throws: EncodingError.self, "twice") { try encoder.encode(Writes(names: ["order_id", "order_id"])) }
        #expect(throws: EncodingError.self, "unknown") { try encoder.encode(Writes(names: ["orderId"])) }
        #expect(throws: EncodingError.self, "no default") { try encoder.encode(Writes(names: ["order_id", "customer_id"])) }
        // Left out: a union with null takes null, a field with a default its default.
        let schema = try AvroSchema(
            parsing: #"""
                {"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":null},
                  {"name":"b","type":"string"},{"name":"c","type":"string","default":"dflt"},{"name":"d","type":"string"}]}
                """#
        )
        let bytes = try AvroBinaryEncoder(schema: schema).encode(Writes(names: ["b", "d"]))
        #expect(try schema.decode(bytes) == .record([.union(0, .null), .string("x"), .string("dflt"), .string("x")]))
    }

    @Test func encodedBytesHoldNoSpareCapacity() throws {
        // A store or a batch that keeps the result would otherwise keep the encoder's 256-byte buffer.
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let encoder = AvroBinaryEncoder(schema: v2)
        for order in Self.orders().prefix(20) {
            for bytes in [try encoder.encode(order), try encoder.encode(OrderCreatedRecord(order))] {
                #expect(bytes.capacity <= bytes.count + 16, "\(bytes.count) bytes in a buffer of \(bytes.capacity)")
            }
        }
    }

    @Test func unscaledDecimalsAreWrittenAsTheirMinimalBytes() {
        var values: [Int64] = [0, 1, -1, Int64.max, Int64.min]
        for bits in 0..<64 {
            let power = Int64(bitPattern: UInt64(1) << UInt64(bits))
            values += [power, power &- 1, 0 &- power, (0 &- power) &- 1]
        }
        for value in values {
            var writer = AvroByteWriter()
            writer.writeUnscaledDecimal(value)
            var expected = AvroByteWriter()
            expected.writeBytes(AvroDecimal(unscaled: value, scale: 0).unscaledBytes)
            #expect(writer.bytes == expected.bytes, "\(value)")
        }
    }
}
