@testable import Avro

/// The documents the cross-check and the golden tests share: the specification's examples
/// and the seed's schemas.
enum AvroSpecExamples {
    static let documents: [String] = [
        #"{"type": "record", "name": "LongList", "aliases": ["LinkedLongs"], "fields" : [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "LongList"]}]}"#,
        #"{"type": "enum", "name": "Suit", "symbols" : ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"]}"#,
        #"{"type": "array", "items" : "string", "default": []}"#,
        #"{"type": "map", "values" : "long", "default": {}}"#,
        #"{"type": "fixed", "size": 16, "name": "md5"}"#,
        #"["null", "string"]"#,
        #"{"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}"#,
        #"{"type": "record", "name": "test", "fields" : [{"name": "a", "type": "long"}, {"name": "b", "type": "string"}]}"#,
        #"{"type": "string", "logicalType": "uuid"}"#,
        #"{"type": "int", "logicalType": "date"}"#,
        #"{"type": "fixed", "size": 12, "name": "interval", "logicalType": "duration"}"#,
        #"""
        {"type": "record", "name": "Example", "doc": "A simple name (attribute) and no namespace attribute: use the null namespace (\"\"); the fully qualified name is \"Example\".",
         "fields": [
          {"name": "inheritNull", "type": {"type": "enum", "name": "Simple", "doc": "A simple name (attribute) and no namespace attribute: inherit the null namespace of the enclosing type 'Example'. The fully qualified name is \"Simple\".", "symbols": ["a", "b"]}},
          {"name": "explicitNamespace", "type": {"type": "fixed", "name": "Simple", "namespace": "explicit", "doc": "A simple name (attribute) and a namespace (attribute); the fully qualified name is 'explicit.Simple' (this is a different type than of the 'inheritNull' field).", "size": 12}},
          {"name": "fullName", "type": {"type": "record", "name": "a.full.Name", "namespace": "ignored", "doc": "A name attribute with a fullname, so the namespace attribute is ignored. The fully qualified name is 'a.full.Name', and the namespace is 'a.full'.",
            "fields": [{"name": "inheritNamespace", "type": {"type": "enum", "name": "Understanding", "doc": "A simple name (attribute) and no namespace attribute: inherit the namespace of the enclosing type 'a.full.Name'. The fully qualified name is 'a.full.Understanding'.", "symbols": ["d", "e"]}}]}},
          {"name": "inheritNullNamespace", "type": "Simple"},
          {"name": "fullUnderstanding", "type": "a.full.Understanding"}]}
        """#,
        SeedSchemas.orderCreated,
        SeedSchemas.orderCreatedV2,
    ]
}

/// A value rendered for the corpus file: Avro's JSON encoding and the binary bytes in hex.
struct AvroCorpusValue {
    let json: String
    let hex: String
}

extension Array where Element == UInt8 {
    var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self { out.append(contentsOf: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The corpus the cross-check sends to the reference libraries: cases (a schema, its
/// canonical form and fingerprint, values, and reader schemas with the values Sluice resolves
/// to) and compatibility pairs with Sluice's verdict.
struct AvroReferenceCorpus {
    var cases: [AvroJSON] = []
    var compat: [AvroJSON] = []
    var decimals: [AvroJSON] = []
    /// The seed's v2 records behind `decimals`, with the bytes Sluice's struct encoder gave them.
    var decimalRecords: [(OrderCreated, [UInt8])] = []
    var problems: [String] = []

    static func fingerprintHex(_ fingerprint: UInt64) -> String {
        withUnsafeBytes(of: fingerprint.littleEndian) { Array($0) }.hex
    }

    mutating func addCase(id: String, document: String, valueCount: Int, seed: UInt64, readers: [(String, String)]) {
        let schema: AvroSchema
        do {
            schema = try AvroSchema(parsing: document)
        } catch {
            problems.append("\(id): Sluice rejects the document: \(error)")
            return
        }
        var generator = AvroValueGenerator(seed: seed, schema: schema)
        var values: [AvroValue] = []
        var rendered: [AvroJSON] = []
        for _ in 0..<valueCount {
            let value = generator.value(schema)
            do {
                let bytes = try value.binaryEncoded(schema: schema)
                let json = try value.jsonText(schema: schema)
                // Our own round trips first: binary and JSON both give the value back.
                let decoded = try schema.decode(bytes)
                if decoded != value { problems.append("\(id): binary round trip changed \(value) to \(decoded)") }
                let fromJSON = try AvroValue(jsonText: json, schema: schema)
                if fromJSON != value, !value.containsNaN { problems.append("\(id): JSON round trip changed \(value) to \(fromJSON)") }
                values.append(value)
                rendered.append(.object([AvroJSONMember("json", .string(json)), AvroJSONMember("hex", .string(bytes.hex))]))
            } catch {
                problems.append("\(id): \(value): \(error)")
            }
        }
        var readerCases: [AvroJSON] = []
        for (mutation, readerDocument) in readers {
            do {
                let reader = try AvroSchema(parsing: readerDocument)
                let plan = try AvroReadingPlan(writer: schema, reader: reader)
                var resolved: [AvroJSON] = []
                for value in values {
                    let bytes = try value.binaryEncoded(schema: schema)
                    resolved.append(.string(try plan.decode(bytes).jsonText(schema: reader)))
                }
                readerCases.append(
                    .object([
                        AvroJSONMember("mutation", .string(mutation)), AvroJSONMember("schema", .string(readerDocument)),
                        AvroJSONMember("values", .array(resolved)),
                    ])
                )
            } catch {
                problems.append("\(id) reader \(mutation): \(error)")
            }
        }
        cases.append(
            .object([
                AvroJSONMember("id", .string(id)), AvroJSONMember("schema", .string(document)),
                AvroJSONMember("canonical", .string(schema.parsingCanonicalForm)),
                AvroJSONMember("fingerprint", .string(Self.fingerprintHex(schema.fingerprint))),
                AvroJSONMember("values", .array(rendered)), AvroJSONMember("readers", .array(readerCases)),
            ])
        )
    }

    mutating func addCompatibilityPair(reader: String, writer: String, mutation: String) {
        guard let readerSchema = try? AvroSchema(parsing: reader), let writerSchema = try? AvroSchema(parsing: writer) else { return }
        let found = AvroCompatibility.incompatibilities(reader: readerSchema, writer: writerSchema)
        compat.append(
            .object([
                AvroJSONMember("reader", .string(reader)), AvroJSONMember("writer", .string(writer)),
                AvroJSONMember("mutation", .string(mutation)), AvroJSONMember("compatible", .bool(found.isEmpty)),
                AvroJSONMember("kinds", .array(found.map { .string($0.kind.rawValue) })),
            ])
        )
    }

    /// The spec's examples and the seed's, then `randomSchemas` seeded random documents with
    /// values, compatible readers for resolution, and compatibility pairs both ways.
    static func build(randomSchemas: Int, seed: UInt64) -> AvroReferenceCorpus {
        var corpus = AvroReferenceCorpus()
        for (index, document) in AvroSpecExamples.documents.enumerated() {
            corpus.addCase(id: "spec \(index)", document: document, valueCount: 8, seed: seed &+ UInt64(index), readers: [])
        }
        corpus.addCase(
            id: "seed v1 read as v2", document: SeedSchemas.orderCreated, valueCount: 8, seed: seed,
            readers: [("v2", SeedSchemas.orderCreatedV2)]
        )
        corpus.addDecimalRecords()
        corpus.addCompatibilityPair(reader: SeedSchemas.orderCreatedV2, writer: SeedSchemas.orderCreated, mutation: "seed v2 reads v1")
        corpus.addCompatibilityPair(reader: SeedSchemas.orderCreated, writer: SeedSchemas.orderCreatedV2, mutation: "seed v1 reads v2")
        for index in 0..<randomSchemas {
            let caseSeed = seed &+ 1000 &+ UInt64(index)
            var generator = AvroSchemaGenerator(seed: caseSeed)
            let document = generator.document()
            let text = document.compactText
            var readers: [(String, String)] = []
            for (position, mutation) in AvroSchemaMutation.allCases.enumerated() {
                guard let mutated = mutation.apply(to: document, choosing: index + position), mutated != document else { continue }
                let readerText = mutated.compactText
                guard let reader = try? AvroSchema(parsing: readerText), let writer = try? AvroSchema(parsing: text) else { continue }
                corpus.addCompatibilityPair(reader: readerText, writer: text, mutation: "\(mutation.rawValue) reads original")
                corpus.addCompatibilityPair(reader: text, writer: readerText, mutation: "original reads \(mutation.rawValue)")
                // fastavro sends a writer union branch to the first reader branch a promotion
                // reaches (string → bytes in ["bytes","string"]); Sluice, as Apache's Java
                // library, to the branch of the same type first. Such unions are left out of
                // the resolution values (AvroReadingPlanTests pins Sluice's choice).
                if AvroCompatibility.incompatibilities(reader: reader, writer: writer).isEmpty, !reader.hasPromotingUnion,
                    !writer.hasPromotingUnion
                {
                    readers.append((mutation.rawValue, readerText))
                }
            }
            corpus.addCase(id: "random \(caseSeed)", document: text, valueCount: 6, seed: caseSeed, readers: readers)
        }
        return corpus
    }

    /// OrderCreated v2 records through the struct encoder, with amounts of every sign and size
    /// (negative powers of two among them), for fastavro's decimal logical type.
    mutating func addDecimalRecords() {
        guard let v2 = try? AvroSchema(parsing: SeedSchemas.orderCreatedV2) else { return }
        let encoder = AvroBinaryEncoder(schema: v2)
        let amounts: [Int64] = [0, 1, -1, 99, -100, 127, 128, -128, -129, 255, 256, -32768, -32769, 8_388_607, -8_388_608, 123_456_789_012, -999_999_999_999]
        var records: [AvroJSON] = []
        for (index, unscaled) in amounts.enumerated() {
            let order = OrderCreated(
                orderID: "o-\(index)", customerID: "c-\(index % 3)", timestamp: "2026-12-02T05:00:\(10 + index)Z",
                amount: AvroDecimal(unscaled: unscaled, scale: 2)
            )
            guard let bytes = try? encoder.encode(order) else {
                problems.append("the struct encoder refused \(order)")
                continue
            }
            decimalRecords.append((order, bytes))
            let fields = AvroJSON.object([
                AvroJSONMember("order_id", .string(order.orderID)), AvroJSONMember("customer_id", .string(order.customerID)),
                AvroJSONMember("timestamp", .string(order.timestamp)), AvroJSONMember("amount", .string(order.amount.description)),
            ])
            records.append(.object([AvroJSONMember("json", .string(fields.compactText)), AvroJSONMember("hex", .string(bytes.hex))]))
        }
        decimals.append(.object([AvroJSONMember("schema", .string(SeedSchemas.orderCreatedV2)), AvroJSONMember("records", .array(records))]))
    }

    var fileText: String {
        AvroJSON.object([
            AvroJSONMember("cases", .array(cases)), AvroJSONMember("compat", .array(compat)), AvroJSONMember("decimals", .array(decimals)),
        ]).compactText
    }
}

extension AvroSchema {
    /// Whether some union in the tree has a branch that another branch promotes to.
    var hasPromotingUnion: Bool {
        let types = namedTypes
        var seen: Set<String> = []
        func walk(_ schema: AvroSchema) -> Bool {
            switch schema.physical {
            case .union(let branches):
                let names = Set(branches.map { AvroPlanBuilder.resolve($0, in: types).typeName })
                let promoting: [(String, String)] = [
                    ("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
                    ("float", "double"), ("string", "bytes"),
                ]
                if promoting.contains(where: { names.contains($0.0) && names.contains($0.1) }) { return true }
                return branches.contains(where: walk)
            case .record(let record):
                guard seen.insert(record.name.fullName).inserted else { return false }
                return record.fields.contains { walk($0.type) }
            case .array(let items): return walk(items)
            case .map(let values): return walk(values)
            default: return false
            }
        }
        return walk(self)
    }
}

extension AvroValue {
    /// Whether a NaN float or double is inside (NaN never equals itself).
    var containsNaN: Bool {
        switch self {
        case .float(let value): value.isNaN
        case .double(let value): value.isNaN
        case .record(let values), .array(let values): values.contains { $0.containsNaN }
        case .map(let entries): entries.contains { $0.value.containsNaN }
        case .union(_, let value): value.containsNaN
        default: false
        }
    }
}
