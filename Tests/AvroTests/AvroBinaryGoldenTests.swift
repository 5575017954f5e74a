import Testing

@testable import Avro

/// The specification's own binary examples ("Binary Encoding"), byte for byte.
@Suite struct AvroBinaryGoldenTests {
    static let zigZag: [(Int64, [UInt8])] = [
        (0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (2, [0x04]), (-64, [0x7F]), (64, [0x80, 0x01]),
        (Int64.max, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        (Int64.min, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    @Test(arguments: zigZag)
    func zigZagLongs(value: Int64, bytes: [UInt8]) throws {
        #expect(try AvroValue.long(value).binaryEncoded(schema: .long) == bytes)
        #expect(try AvroSchema.long.decode(bytes) == .long(value))
    }

    @Test func theSpecificationsRecordArrayAndUnionExamples() throws {
        let record = try AvroSchema(parsing: #"{"type":"record","name":"test","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}"#)
        #expect(try AvroValue.record([.long(27), .string("foo")]).binaryEncoded(schema: record) == [0x36, 0x06, 0x66, 0x6F, 0x6F])
        let longs = AvroSchema.array(.long)
        #expect(try AvroValue.array([.long(3), .long(27)]).binaryEncoded(schema: longs) == [0x04, 0x06, 0x36, 0x00])
        // A block with a negative count carries its byte size; readers accept it.
        #expect(try longs.decode([0x03, 0x04, 0x06, 0x36, 0x00]) == .array([.long(3), .long(27)]))
        let union = AvroSchema.union([.null, .string])
        #expect(try AvroValue.union(0, .null).binaryEncoded(schema: union) == [0x00])
        #expect(try AvroValue.union(1, .string("a")).binaryEncoded(schema: union) == [0x02, 0x02, 0x61])
        #expect(try AvroValue.float(1.5).binaryEncoded(schema: .float) == [0x00, 0x00, 0xC0, 0x3F])
        #expect(try AvroValue.double(-2).binaryEncoded(schema: .double) == [0, 0, 0, 0, 0, 0, 0, 0xC0])
        #expect(try AvroValue.boolean(true).binaryEncoded(schema: .boolean) == [0x01])
    }

    @Test func valuesThatDoNotFitTheSchemaAreRefused() {
        #expect(throws: AvroCodecError.self) { try AvroValue.string("x").binaryEncoded(schema: .int) }
        #expect(throws: AvroCodecError.self) {
            try AvroValue.fixed([1]).binaryEncoded(schema: .fixed(AvroFixedSchema(name: AvroName(fullName: "F"), size: 2)))
        }
        #expect(throws: AvroCodecError.self) { try AvroValue.union(2, .null).binaryEncoded(schema: .union([.null, .int])) }
    }

    @Test func jsonEncodingWrapsUnionsAndSpellsBytesAsCodePoints() throws {
        let schema = try AvroSchema(
            parsing: #"{"type":"record","name":"R","namespace":"n","fields":[{"name":"u","type":["null","string",{"type":"record","name":"S","fields":[]}]},{"name":"b","type":"bytes"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}}]}"#
        )
        let value = AvroValue.record([.union(1, .string("a")), .bytes([0x00, 0xFF]), .enumeration(1)])
        #expect(try value.jsonText(schema: schema) == #"{"u":{"string":"a"},"b":"\u0000ÿ","e":"Y"}"#)
        #expect(try AvroValue(jsonText: #"{"u":{"string":"a"},"b":"\u0000ÿ","e":"Y"}"#, schema: schema) == value)
        let other = AvroValue.record([.union(2, .record([])), .bytes([]), .enumeration(0)])
        #expect(try other.jsonText(schema: schema) == #"{"u":{"n.S":{}},"b":"","e":"X"}"#)
        #expect(try AvroValue.record([.union(0, .null), .bytes([]), .enumeration(0)]).jsonText(schema: schema) == #"{"u":null,"b":"","e":"X"}"#)
        #expect(throws: AvroCodecError.self) { try AvroValue(jsonText: #"{"u":{"int":1},"b":"","e":"X"}"#, schema: schema) }
    }
}
