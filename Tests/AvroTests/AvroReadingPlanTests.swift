import Testing

@testable import Avro

@Suite struct AvroReadingPlanTests {
    func resolve(_ value: AvroValue, writer: String, reader: String) throws -> AvroValue {
        let writerSchema = try AvroSchema(parsing: writer)
        let plan = try AvroReadingPlan(writer: writerSchema, reader: try AvroSchema(parsing: reader))
        return try plan.decode(try value.binaryEncoded(schema: writerSchema))
    }

    @Test func promotesNumbersAndStrings() throws {
        #expect(try resolve(.int(-7), writer: #""int""#, reader: #""long""#) == .long(-7))
        #expect(try resolve(.int(3), writer: #""int""#, reader: #""double""#) == .double(3))
        #expect(try resolve(.long(1 << 40), writer: #""long""#, reader: #""float""#) == .float(Float(1 << 40)))
        #expect(try resolve(.float(0.1), writer: #""float""#, reader: #""double""#) == .double(Double(Float(0.1))))
        #expect(try resolve(.string("é"), writer: #""string""#, reader: #""bytes""#) == .bytes([0xC3, 0xA9]))
        #expect(try resolve(.bytes([0x61]), writer: #""bytes""#, reader: #""string""#) == .string("a"))
    }

    @Test func aWriterBranchGoesToTheReaderBranchOfItsOwnTypeFirst() throws {
        // fastavro would take "bytes" (the first branch string promotes to); Apache's Java
        // library and Sluice take "string".
        #expect(try resolve(.union(1, .string("x")), writer: #"["null","string"]"#, reader: #"["bytes","string"]"#) == .union(1, .string("x")))
        #expect(try resolve(.int(5), writer: #""int""#, reader: #"["null","long","int"]"#) == .union(2, .int(5)))
        #expect(try resolve(.int(5), writer: #""int""#, reader: #"["null","long"]"#) == .union(1, .long(5)))
        #expect(try resolve(.union(1, .int(5)), writer: #"["null","int"]"#, reader: #""long""#) == .long(5))
    }

    @Test func aWriterBranchTheReaderLacksFailsWhenMet() throws {
        let writer = try AvroSchema(parsing: #"["int","string"]"#)
        let plan = try AvroReadingPlan(writer: writer, reader: try AvroSchema(parsing: #""int""#))
        #expect(try plan.decode(try AvroValue.union(0, .int(1)).binaryEncoded(schema: writer)) == .int(1))
        #expect(throws: AvroCodecError.self) { try plan.decode(try AvroValue.union(1, .string("s")).binaryEncoded(schema: writer)) }
    }

    @Test func enumsMapSymbolsAndFallBackToTheReadersDefault() throws {
        let writer = #"{"type":"enum","name":"E","symbols":["A","B","C"]}"#
        #expect(try resolve(.enumeration(1), writer: writer, reader: #"{"type":"enum","name":"E","symbols":["B","A"]}"#) == .enumeration(0))
        #expect(try resolve(.enumeration(2), writer: writer, reader: #"{"type":"enum","name":"E","symbols":["A","B","Z"],"default":"Z"}"#) == .enumeration(2))
        #expect(throws: AvroCodecError.self) {
            try resolve(.enumeration(2), writer: writer, reader: #"{"type":"enum","name":"E","symbols":["A","B"]}"#)
        }
    }

    @Test func recordsSkipDefaultAndMatchByAlias() throws {
        let writer = #"{"type":"record","name":"Old","fields":[{"name":"a","type":"int"},{"name":"gone","type":{"type":"array","items":"string"}},{"name":"b","type":"string"}]}"#
        let reader = #"{"type":"record","name":"New","aliases":["Old"],"fields":[{"name":"bee","aliases":["b"],"type":"string"},{"name":"c","type":["null","int"],"default":null},{"name":"a","type":"long"}]}"#
        let value = AvroValue.record([.int(4), .array([.string("x"), .string("y")]), .string("q")])
        #expect(try resolve(value, writer: writer, reader: reader) == .record([.string("q"), .union(0, .null), .long(4)]))
    }

    @Test func unresolvableSchemasNameTheField() throws {
        let writer = try AvroSchema(parsing: #"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#)
        let reader = try AvroSchema(parsing: #"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"amount","type":"bytes"}]}"#)
        #expect(throws: AvroSchemaError.self) { try AvroReadingPlan(writer: writer, reader: reader) }
        do {
            _ = try AvroReadingPlan(writer: writer, reader: reader)
        } catch {
            #expect(error.description == "field 'amount': the reader's field has no default and the writer lacks it")
        }
        let narrower = try AvroSchema(parsing: #"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#)
        #expect(throws: AvroSchemaError.self) { try AvroReadingPlan(writer: writer, reader: narrower) }
    }

    @Test func recursiveSchemasResolve() throws {
        let list = #"{"type":"record","name":"LongList","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","LongList"]}]}"#
        let wider = #"{"type":"record","name":"LongList","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","LongList"]}]}"#
        let value = AvroValue.record([.int(1), .union(1, .record([.int(2), .union(0, .null)]))])
        #expect(try resolve(value, writer: list, reader: wider) == .record([.long(1), .union(1, .record([.long(2), .union(0, .null)]))]))
    }
}
