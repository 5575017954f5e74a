import Testing

@testable import Avro

@Suite struct AvroCompatibilityTests {
    func schema(_ document: String) throws -> AvroSchema { try AvroSchema(parsing: document) }

    func record(_ fields: String, name: String = "R") -> String {
        #"{"type":"record","name":"\#(name)","fields":[\#(fields)]}"#
    }

    @Test func v2WithADefaultedAmountIsBackwardAndForwardCompatible() throws {
        let v1 = try schema(SeedSchemas.orderCreated)
        let v2 = try schema(SeedSchemas.orderCreatedV2)
        #expect(AvroCompatibility.incompatibilities(reader: v2, writer: v1).isEmpty)
        #expect(AvroCompatibility.incompatibilities(reader: v1, writer: v2).isEmpty)
        for level in AvroCompatibilityLevel.allCases {
            #expect(AvroCompatibility.incompatibilities(of: v2, against: [v1], level: level).isEmpty, "\(level)")
        }
    }

    @Test func aNewFieldWithoutDefaultBreaksBackward() throws {
        let v1 = try schema(SeedSchemas.orderCreated)
        let v2 = try schema(
            #"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"},{"name":"timestamp","type":"string"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}}]}"#
        )
        let found = AvroCompatibility.incompatibilities(of: v2, against: [v1], level: .backward)
        #expect(
            found == [
                AvroIncompatibility(
                    kind: .readerFieldMissingDefaultValue, path: "/fields/3",
                    message: "reader field 'amount' has no default and the writer lacks it"
                )
            ]
        )
        #expect(AvroCompatibility.incompatibilities(of: v2, against: [v1], level: .forward).isEmpty)
        #expect(AvroCompatibility.incompatibilities(of: v2, against: [v1], level: .full).count == 1)
        #expect(AvroCompatibility.incompatibilities(of: v2, against: [v1], level: .none).isEmpty)
    }

    @Test func transitiveModesCheckEveryVersion() throws {
        let v1 = try schema(record(#"{"name":"a","type":"int"}"#))
        let v2 = try schema(record(#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#))
        // v3 drops the default of b: it reads v2 (which has b) but not v1.
        let v3 = try schema(record(#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#))
        #expect(AvroCompatibility.incompatibilities(of: v3, against: [v1, v2], level: .backward).isEmpty)
        #expect(AvroCompatibility.incompatibilities(of: v3, against: [v1, v2], level: .backwardTransitive).map(\.kind) == [.readerFieldMissingDefaultValue])
        #expect(AvroCompatibility.incompatibilities(of: v3, against: [v1, v2], level: .fullTransitive).map(\.kind) == [.readerFieldMissingDefaultValue])
    }

    @Test(arguments: [
        ("\"long\"", "\"int\"", true), ("\"float\"", "\"long\"", true), ("\"double\"", "\"float\"", true),
        ("\"int\"", "\"long\"", false), ("\"string\"", "\"bytes\"", true), ("\"bytes\"", "\"string\"", true),
        ("\"float\"", "\"double\"", false), ("[\"null\",\"long\"]", "\"int\"", true), ("[\"null\",\"string\"]", "\"int\"", false),
        ("\"long\"", "[\"int\",\"long\"]", true), ("\"int\"", "[\"int\",\"long\"]", false),
        ("[\"int\",\"string\"]", "[\"int\"]", true), ("[\"int\"]", "[\"int\",\"string\"]", false),
    ])
    func promotionsAndUnions(reader: String, writer: String, compatible: Bool) throws {
        let found = AvroCompatibility.incompatibilities(reader: try schema(reader), writer: try schema(writer))
        #expect(found.isEmpty == compatible, "\(found)")
    }

    @Test func namesThePathAndTheRuleBroken() throws {
        let reader = try schema(record(#"{"name":"a","type":"int"},{"name":"inner","type":\#(record(#"{"name":"x","type":"int"}"#, name: "I"))}"#))
        let writer = try schema(record(#"{"name":"a","type":"string"},{"name":"inner","type":\#(record(#"{"name":"x","type":"long"}"#, name: "J"))}"#))
        let found = AvroCompatibility.incompatibilities(reader: reader, writer: writer)
        #expect(found.map(\.kind) == [.typeMismatch, .nameMismatch, .typeMismatch])
        #expect(found.map(\.path) == ["/fields/0/type", "/fields/1/type/name", "/fields/1/type/fields/0/type"])
        #expect(found[0].message == "field 'a': reader type int is not compatible with writer type string")
        #expect(found[2].message == "field 'inner.x': reader type int is not compatible with writer type long")
    }

    @Test func enumsFixedAndAliases() throws {
        let readerEnum = try schema(#"{"type":"enum","name":"E","symbols":["A","B"]}"#)
        let writerEnum = try schema(#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#)
        let found = AvroCompatibility.incompatibilities(reader: readerEnum, writer: writerEnum)
        #expect(found.map(\.kind) == [.missingEnumSymbols])
        #expect(found.map(\.path) == ["/symbols"])
        let defaulted = try schema(#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#)
        #expect(AvroCompatibility.incompatibilities(reader: defaulted, writer: writerEnum).isEmpty)

        let fixed4 = try schema(#"{"type":"fixed","name":"F","size":4}"#)
        let fixed8 = try schema(#"{"type":"fixed","name":"F","size":8}"#)
        #expect(AvroCompatibility.incompatibilities(reader: fixed4, writer: fixed8).map(\.kind) == [.fixedSizeMismatch])

        let renamed = try schema(#"{"type":"record","name":"New","aliases":["Old"],"fields":[{"name":"b","aliases":["a"],"type":"int"}]}"#)
        let old = try schema(#"{"type":"record","name":"Old","fields":[{"name":"a","type":"int"}]}"#)
        #expect(AvroCompatibility.incompatibilities(reader: renamed, writer: old).isEmpty)
        #expect(AvroCompatibility.incompatibilities(reader: old, writer: renamed).map(\.kind) == [.nameMismatch, .readerFieldMissingDefaultValue])
    }

    @Test func recursiveSchemasTerminate() throws {
        let list = try schema(#"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#)
        let wider = try schema(#"{"type":"record","name":"L","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","L"]}]}"#)
        #expect(AvroCompatibility.incompatibilities(reader: wider, writer: list).isEmpty)
        #expect(!AvroCompatibility.incompatibilities(reader: list, writer: wider).isEmpty)
    }
}
