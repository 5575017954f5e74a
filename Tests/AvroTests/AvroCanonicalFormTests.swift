import Testing

@testable import Avro

/// Canonical forms and fingerprints; the expected values are fastavro 1.x's for the same documents
/// (fastavro prints a fingerprint as hex of its 8 little-endian bytes, hence `byteSwapped`).
@Suite struct AvroCanonicalFormTests {
    @Test(arguments: [
        (#""int""#, #""int""#, 0x8f5c_393f_1ad5_7572 as UInt64),
        (#"{"type":"int"}"#, #""int""#, 0x8f5c_393f_1ad5_7572),
        (
            SeedSchemas.orderCreated,
            #"{"name":"OrderCreated","type":"record","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"},{"name":"timestamp","type":"string"}]}"#,
            0x9529_d5d2_f499_1e78
        ),
        (
            SeedSchemas.orderCreatedV2,
            #"{"name":"OrderCreated","type":"record","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"},{"name":"timestamp","type":"string"},{"name":"amount","type":"bytes"}]}"#,
            0xcf7a_62e3_88d0_5cf6
        ),
        (
            #"{"type":"record","name":"LongList","namespace":"com.x","aliases":["LinkedLongs"],"fields":[{"name":"value","type":"long","doc":"d"},{"name":"next","type":["null","LongList"]}]}"#,
            #"{"name":"com.x.LongList","type":"record","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","com.x.LongList"]}]}"#,
            0x8dc0_0a17_2838_b6d6
        ),
    ])
    func canonicalFormAndFingerprint(document: String, canonical: String, fingerprint: UInt64) throws {
        let schema = try AvroSchema(parsing: document)
        #expect(schema.parsingCanonicalForm == canonical)
        #expect(schema.fingerprint == fingerprint.byteSwapped)
    }

    @Test func fingerprintOfNothingIsEmpty() {
        #expect(AvroFingerprint.crc64Avro([]) == AvroFingerprint.empty)
    }

    @Test func normalizedJSONIsTheSameForDocumentsThatMeanTheSame() throws {
        let spelledOut = try AvroSchema(
            parsing: #"""
                { "namespace": "com.acme", "name": "Order", "type": "record",
                  "fields": [ { "type": {"type": "int", "logicalType": "date"}, "name": "day", "default": 0 },
                              { "name": "tags", "type": {"type": "map", "values": "string"}, "default": {"b": "2", "a": "1"} } ] }
                """#
        )
        let dotted = try AvroSchema(
            parsing: #"{"type":"record","name":"com.acme.Order","fields":[{"name":"day","type":{"logicalType":"date","type":"int"},"default":0},{"name":"tags","type":{"values":"string","type":"map"},"default":{"a":"1","b":"2"}}]}"#
        )
        #expect(spelledOut.normalizedJSON == dotted.normalizedJSON)
        #expect(
            spelledOut.normalizedJSON
                == #"{"type":"record","name":"com.acme.Order","fields":[{"name":"day","type":{"type":"int","logicalType":"date"},"default":0},{"name":"tags","type":{"type":"map","values":"string"},"default":{"a":"1","b":"2"}}]}"#
        )
    }

    @Test func normalizedJSONKeepsDocAliasesOrderAndProperties() throws {
        let document = #"""
            {"type":"record","name":"R","namespace":"n","doc":"a record","aliases":["Old","x.Older"],"owner":"team-a",
             "fields":[{"name":"f","type":{"type":"string","avro.java.string":"String"},"order":"descending","aliases":["g"],"doc":"F","default":"z","x":1},
                       {"name":"e","type":{"type":"enum","name":"E","namespace":"","symbols":["A","B"],"default":"A"}},
                       {"name":"m","type":{"type":"fixed","name":"M","size":8,"logicalType":"decimal","precision":10,"scale":3}}]}
            """#
        let schema = try AvroSchema(parsing: document)
        let expected =
            #"{"type":"record","name":"n.R","doc":"a record","aliases":["n.Old","x.Older"],"fields":[{"name":"f","type":{"type":"string","avro.java.string":"String"},"default":"z","order":"descending","aliases":["g"],"doc":"F","x":1},{"name":"e","type":{"type":"enum","name":"E","namespace":"","symbols":["A","B"],"default":"A"}},{"name":"m","type":{"type":"fixed","name":"n.M","size":8,"logicalType":"decimal","precision":10,"scale":3}}],"owner":"team-a"}"#
        #expect(schema.normalizedJSON == expected)
        #expect(try AvroSchema(parsing: schema.normalizedJSON) == schema)
    }

    @Test func normalizedJSONRoundTripsRecursiveTypes() throws {
        let schema = try AvroSchema(
            parsing: #"{"type":"record","name":"LongList","namespace":"com.x","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","LongList"],"default":null}]}"#
        )
        #expect(try AvroSchema(parsing: schema.normalizedJSON) == schema)
        #expect(schema.normalizedJSON.contains(#"["null","com.x.LongList"]"#))
    }
}
