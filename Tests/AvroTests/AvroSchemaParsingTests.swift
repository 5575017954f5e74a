import Testing

@testable import Avro

/// The seed's OrderCreated (v1) and v2 with `amount`, a decimal(12, 2) on bytes with a default.
enum SeedSchemas {
    static let orderCreated = """
        {"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, \
        {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}]}
        """
    static let orderCreatedV2 = """
        {"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, \
        {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}, \
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\\u0000"}]}
        """
}

@Suite struct AvroSchemaParsingTests {
    @Test func parsesTheSeedSchema() throws {
        let schema = try AvroSchema(parsing: SeedSchemas.orderCreated)
        guard case .record(let record) = schema else {
            Issue.record("not a record: \(schema)")
            return
        }
        #expect(record.name.fullName == "OrderCreated")
        #expect(record.fields.map(\.name) == ["order_id", "customer_id", "timestamp"])
        #expect(record.fields.allSatisfy { $0.type == .string })
    }

    @Test func parsesTheDecimalOfV2WithItsDefault() throws {
        let schema = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        guard case .record(let record) = schema, let amount = record.fields.last else {
            Issue.record("not a record: \(schema)")
            return
        }
        #expect(amount.type == .logical(.decimal(precision: 12, scale: 2), .bytes))
        #expect(amount.defaultValue == .string("\u{0}"))
    }

    @Test(arguments: [
        (
            #"{"type":"record","name":"R","fields":[{"name":"amount","type":"dobule"}]}"#,
            "field 'amount': unknown type 'dobule'"
        ),
        (
            #"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"b","type":"strin"}]}}]}"#,
            "field 'a.b': unknown type 'strin'"
        ),
        (
            #"{"type":"record","name":"R","fields":[{"name":"tags","type":{"type":"array","items":"nope"}}]}"#,
            "field 'tags[]': unknown type 'nope'"
        ),
        (#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#, "field 'a': duplicate field 'a' in record 'R'"),
        (#"{"type":"record","name":"R","fields":[{"name":"n","type":"int","default":"x"}]}"#, "field 'n': default \"x\" is not a valid int"),
        (#"{"type":"record","name":"R","fields":[{"name":"u","type":["int","int"]}]}"#, "field 'u': union has more than one 'int' branch"),
        (#"{"type":"enum","name":"E","symbols":["A","A"]}"#, "schema: duplicate symbol 'A' in enum 'E'"),
        (#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#, "schema: default \"B\" of enum 'E' is not one of its symbols"),
        (#"{"type":"fixed","name":"F"}"#, "schema: fixed 'F' has no 'size'"),
        (#"{"type":"record","name":"1R","fields":[]}"#, "schema: invalid record name '1R'"),
        (#"{"type":"record","name":"R","fields":[{"name":"x","type":{"type":"record","name":"R","fields":[]}}]}"#, "field 'x': redefinition of the named type 'R'"),
        (#"{"type":"record","name":"R""#, "schema: invalid JSON at byte 27: unexpected end of text in an object"),
        (#"["null",["int"]]"#, "schema: a union may not directly contain another union"),
        (#"{"type":"record","name":"int","fields":[]}"#, "schema: record may not be named after the primitive type 'int'"),
    ])
    func rejectsWithWhereAndWhy(document: String, expected: String) {
        #expect(throws: AvroSchemaError.self) { try AvroSchema(parsing: document) }
        do {
            _ = try AvroSchema(parsing: document)
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func resolvesNamesAgainstTheEnclosingNamespace() throws {
        let schema = try AvroSchema(
            parsing: #"""
                {"type":"record","name":"Order","namespace":"com.acme","fields":[
                  {"name":"money","type":{"type":"fixed","name":"Money","size":8}},
                  {"name":"again","type":"Money"},
                  {"name":"absolute","type":"com.acme.Money"},
                  {"name":"other","type":{"type":"enum","name":"x.Kind","symbols":["A"]}},
                  {"name":"kind","type":"x.Kind"}]}
                """#
        )
        guard case .record(let record) = schema else {
            Issue.record("not a record")
            return
        }
        #expect(record.name.fullName == "com.acme.Order")
        #expect(record.fields[1].type == .reference("com.acme.Money"))
        #expect(record.fields[2].type == .reference("com.acme.Money"))
        #expect(record.fields[4].type == .reference("x.Kind"))
    }

    @Test func keepsAnInvalidLogicalTypeAsAProperty() throws {
        let schema = try AvroSchema(parsing: #"{"type":"string","logicalType":"date"}"#)
        #expect(schema == .annotated(.string, properties: [AvroJSONMember("logicalType", .string("date"))]))
        #expect(schema.parsingCanonicalForm == #""string""#)
    }

    @Test func recognisesEveryLogicalType() throws {
        let cases: [(String, AvroSchema)] = [
            (#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#, .logical(.decimal(precision: 4, scale: 2), .bytes)),
            (#"{"type":"string","logicalType":"uuid"}"#, .logical(.uuid, .string)),
            (#"{"type":"int","logicalType":"date"}"#, .logical(.date, .int)),
            (#"{"type":"int","logicalType":"time-millis"}"#, .logical(.timeMillis, .int)),
            (#"{"type":"long","logicalType":"time-micros"}"#, .logical(.timeMicros, .long)),
            (#"{"type":"long","logicalType":"timestamp-millis"}"#, .logical(.timestampMillis, .long)),
            (#"{"type":"long","logicalType":"timestamp-micros"}"#, .logical(.timestampMicros, .long)),
            (#"{"type":"long","logicalType":"local-timestamp-millis"}"#, .logical(.localTimestampMillis, .long)),
            (#"{"type":"long","logicalType":"local-timestamp-micros"}"#, .logical(.localTimestampMicros, .long)),
        ]
        for (document, expected) in cases {
            #expect(try AvroSchema(parsing: document) == expected, "\(document)")
        }
        let duration = try AvroSchema(parsing: #"{"type":"fixed","name":"D","size":12,"logicalType":"duration"}"#)
        #expect(duration.logicalType == .duration)
        let fixedDecimal = try AvroSchema(parsing: #"{"type":"fixed","name":"M","size":2,"logicalType":"decimal","precision":4}"#)
        #expect(fixedDecimal.logicalType == .decimal(precision: 4, scale: 0))
        // A fixed(2) holds at most 4 digits (32767), so precision 5 is invalid and ignored.
        let tooPrecise = try AvroSchema(parsing: #"{"type":"fixed","name":"M","size":2,"logicalType":"decimal","precision":5}"#)
        #expect(tooPrecise.logicalType == nil)
    }

    @Test func decimalPrecisionOfFixedSizes() {
        #expect(avroDecimalPrecisionMax(fixedSize: 1) == 2)
        #expect(avroDecimalPrecisionMax(fixedSize: 2) == 4)
        #expect(avroDecimalPrecisionMax(fixedSize: 8) == 18)
        #expect(avroDecimalPrecisionMax(fixedSize: 16) == 38)
    }
}
