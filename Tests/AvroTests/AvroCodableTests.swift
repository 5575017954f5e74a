import Testing

@testable import Avro

/// The seed's event as a pipeline declares it.
struct OrderCreated: Codable, Equatable {
    var orderID: String
    var customerID: String
    var timestamp: String
    var amount: AvroDecimal

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id", customerID = "customer_id", timestamp, amount
    }
}

/// v1 of the seed's event, without `amount`.
struct OrderCreatedV1: Codable, Equatable {
    var orderID: String
    var customerID: String
    var timestamp: String

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id", customerID = "customer_id", timestamp
    }
}

enum Suit: String, Codable { case spades = "SPADES", hearts = "HEARTS", diamonds = "DIAMONDS", clubs = "CLUBS" }

struct Line: Codable, Equatable {
    var sku: String
    var quantity: Int32
}

struct Everything: Codable, Equatable {
    var flag: Bool
    var count: Int64
    var ratio: Double
    var small: Float
    var blob: [UInt8]
    var note: String?
    var suit: Suit
    var lines: [Line]
    var labels: [String: Int]
    var checksum: [UInt8]
    var price: AvroDecimal
}

@Suite struct AvroCodableTests {
    static let everythingSchema = #"""
        {"type":"record","name":"Everything","fields":[
          {"name":"flag","type":"boolean"},{"name":"count","type":"long"},{"name":"ratio","type":"double"},
          {"name":"small","type":"float"},{"name":"blob","type":"bytes"},{"name":"note","type":["null","string"],"default":null},
          {"name":"suit","type":{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS","DIAMONDS","CLUBS"]}},
          {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"},{"name":"quantity","type":"int"}]}}},
          {"name":"labels","type":{"type":"map","values":"long"}},
          {"name":"checksum","type":{"type":"fixed","name":"MD5","size":4}},
          {"name":"price","type":{"type":"fixed","name":"Price","size":8,"logicalType":"decimal","precision":18,"scale":3}}]}
        """#

    static let sample = Everything(
        flag: true, count: -1_234_567_890_123, ratio: 0.25, small: -1.5, blob: [0, 255, 7], note: "hello", suit: .diamonds,
        lines: [Line(sku: "a-1", quantity: 2), Line(sku: "b-2", quantity: -7)], labels: ["x": 1], checksum: [1, 2, 3, 4],
        price: AvroDecimal(unscaled: -12_345, scale: 3)
    )

    @Test func encodesTheSameBytesAsTheGenericCodec() throws {
        let schema = try AvroSchema(parsing: Self.everythingSchema)
        let bytes = try AvroBinaryEncoder(schema: schema).encode(Self.sample)
        let generic = AvroValue.record([
            .boolean(true), .long(-1_234_567_890_123), .double(0.25), .float(-1.5), .bytes([0, 255, 7]), .union(1, .string("hello")),
            .enumeration(2), .array([.record([.string("a-1"), .int(2)]), .record([.string("b-2"), .int(-7)])]),
            .map([AvroMapEntry("x", .long(1))]), .fixed([1, 2, 3, 4]), .fixed([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xCF, 0xC7]),
        ])
        #expect(bytes == (try generic.binaryEncoded(schema: schema)))
        #expect(try schema.decode(bytes) == generic)
        #expect(try AvroBinaryDecoder(schema: schema).decode(Everything.self, from: bytes) == Self.sample)
    }

    @Test func nilOptionalsAreTheNullBranch() throws {
        let schema = try AvroSchema(parsing: Self.everythingSchema)
        var value = Self.sample
        value.note = nil
        let bytes = try AvroBinaryEncoder(schema: schema).encode(value)
        guard case .record(let fields) = try schema.decode(bytes) else {
            Issue.record("not a record")
            return
        }
        #expect(fields[5] == .union(0, .null))
        #expect(try AvroBinaryDecoder(schema: schema).decode(Everything.self, from: bytes) == value)
    }

    @Test func theSeedV1ReadAsV2TakesTheAmountDefault() throws {
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let old = OrderCreatedV1(orderID: "o-1", customerID: "c-9", timestamp: "2026-12-02T05:00:00Z")
        let bytes = try AvroBinaryEncoder(schema: v1).encode(old)
        let decoder = AvroBinaryDecoder(plan: try AvroReadingPlan(writer: v1, reader: v2))
        let order = try decoder.decode(OrderCreated.self, from: bytes)
        #expect(order == OrderCreated(orderID: "o-1", customerID: "c-9", timestamp: "2026-12-02T05:00:00Z", amount: AvroDecimal(unscaled: 0, scale: 2)))
        // And v2 bytes read as v1 skip the amount.
        let v2Bytes = try AvroBinaryEncoder(schema: v2).encode(OrderCreated(orderID: "o-2", customerID: "c", timestamp: "t", amount: AvroDecimal(unscaled: 12_345, scale: 2)))
        let back = try AvroBinaryDecoder(plan: try AvroReadingPlan(writer: v2, reader: v1)).decode(OrderCreatedV1.self, from: v2Bytes)
        #expect(back == OrderCreatedV1(orderID: "o-2", customerID: "c", timestamp: "t"))
    }

    @Test func fieldsAskedOutOfOrderAreFound() throws {
        struct Reversed: Decodable, Equatable {
            var timestamp: String
            var orderID: String
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: OrderCreatedV1.CodingKeys.self)
                timestamp = try container.decode(String.self, forKey: .timestamp)
                orderID = try container.decode(String.self, forKey: .orderID)
            }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let bytes = try AvroBinaryEncoder(schema: v1).encode(OrderCreatedV1(orderID: "first", customerID: "second", timestamp: "third"))
        let decoded = try AvroBinaryDecoder(schema: v1).decode(Reversed.self, from: bytes)
        #expect(decoded.orderID == "first" && decoded.timestamp == "third")
        // Inside an array, each record still ends where it should.
        let array = try AvroSchema(parsing: #"{"type":"array","items":\#(SeedSchemas.orderCreated)}"#)
        let items = try AvroBinaryDecoder(schema: array).decode([Reversed].self, from: [0x04] + bytes + bytes + [0x00])
        #expect(items.map(\.orderID) == ["first", "first"])
    }

    @Test func fieldsEncodedOutOfOrderLandInSchemaOrder() throws {
        struct Backwards: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: OrderCreatedV1.CodingKeys.self)
                try container.encode("t", forKey: .timestamp)
                try container.encode("o", forKey: .orderID)
                try container.encode("c", forKey: .customerID)
            }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        let bytes = try AvroBinaryEncoder(schema: v1).encode(Backwards())
        #expect(try v1.decode(bytes) == .record([.string("o"), .string("c"), .string("t")]))
    }

    @Test func aMissingFieldWithoutDefaultFailsToEncode() throws {
        struct Partial: Encodable {
            var orderID = "o"
            enum CodingKeys: String, CodingKey { case orderID = "order_id" }
        }
        let v1 = try AvroSchema(parsing: SeedSchemas.orderCreated)
        #expect(throws: EncodingError.self) { try AvroBinaryEncoder(schema: v1).encode(Partial()) }
    }

    @Test func decimalsInBytesAreMinimalTwosComplement() {
        #expect(AvroDecimal(unscaled: 0, scale: 2).unscaledBytes == [0])
        #expect(AvroDecimal(unscaled: 255, scale: 2).unscaledBytes == [0x00, 0xFF])
        #expect(AvroDecimal(unscaled: -1, scale: 2).unscaledBytes == [0xFF])
        #expect(AvroDecimal(unscaled: -128, scale: 2).unscaledBytes == [0x80])
        #expect(AvroDecimal(unscaled: 12_345, scale: 2).unscaledBytes == [0x30, 0x39])
        #expect(AvroDecimal(unscaledBytes: [0xFF, 0xFF, 0x80], scale: 0) == AvroDecimal(unscaled: -128, scale: 0))
        #expect(AvroDecimal(unscaledBytes: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], scale: 0) == AvroDecimal(unscaled: 1, scale: 0))
        #expect(AvroDecimal(unscaledBytes: [0x01, 0, 0, 0, 0, 0, 0, 0, 0], scale: 0) == nil)
        #expect(AvroDecimal("123.45", scale: 2) == AvroDecimal(unscaled: 12_345, scale: 2))
        #expect(AvroDecimal("-0.5", scale: 2)?.description == "-0.50")
        #expect(AvroDecimal("1.234", scale: 2) == nil)
        #expect(AvroDecimal(unscaled: 5, scale: 3).description == "0.005")
    }
}
