import StreamCore
import Testing

@testable import Avro

/// Seeded fuzzing of the schema parser and the binary decoders: random and mutated input
/// never crashes, and is either refused with an error or decoded within the limits. A failing
/// seed replays from the printed number.
@Suite struct AvroFuzzTests {
    static let limits = AvroDecodingLimits(bytesLengthMax: 4096, collectionCountMax: 4096, depthMax: 32)

    static func mutate(_ input: [UInt8], random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0...5, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8(1 << Int.random(in: 0...7, using: &random))
            case 1 where !bytes.isEmpty: bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &random)...)
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where !bytes.isEmpty: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &random))
            case 4:
                // A huge varint (a length or count that claims too much).
                bytes.insert(contentsOf: [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], at: Int.random(in: 0...bytes.count, using: &random))
            default:
                let fragments: [String] = ["{", "}", "[", "]", "\"type\"", ":", ",", "\"record\"", "\"name\"", "null", "\"fields\"", "\\u0000", "1e999", "-"]
                let fragment = Array(fragments[Int.random(in: 0..<fragments.count, using: &random)].utf8)
                bytes.insert(contentsOf: fragment, at: Int.random(in: 0...bytes.count, using: &random))
            }
        }
        return bytes
    }

    @Test func theSchemaParserNeverCrashesOnMutatedDocuments() throws {
        var random = SeededRandom(seed: 20_261_202)
        var documents = AvroSpecExamples.documents
        for seed in 0..<40 {
            var generator = AvroSchemaGenerator(seed: UInt64(seed))
            documents.append(generator.document().compactText)
        }
        var accepted = 0
        for round in 0..<4000 {
            let base = Array(documents[round % documents.count].utf8)
            let text = String(decoding: Self.mutate(base, random: &random), as: UTF8.self)
            guard let schema = try? AvroSchema(parsing: text) else { continue }
            accepted += 1
            // Whatever parses has a canonical form and a normalized form that parses back to it.
            _ = schema.fingerprint
            #expect((try? AvroSchema(parsing: schema.normalizedJSON)) == schema, "round \(round): \(text)")
            #expect((try? AvroSchema(parsing: schema.parsingCanonicalForm)) != nil, "round \(round): \(text)")
        }
        #expect(accepted > 0)
        // Nesting deeper than the JSON limit is refused, not recursed into.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: AvroSchemaError.self) { try AvroSchema(parsing: deep) }
        let deepObjects = String(repeating: #"{"type":"array","items":"#, count: 20_000) + #""int""# + String(repeating: "}", count: 20_000)
        #expect(throws: AvroSchemaError.self) { try AvroSchema(parsing: deepObjects) }
    }

    @Test func randomBytesNeverCrashTheParser() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? AvroSchema(parsing: String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func theDecodersNeverCrashOnMutatedBytes() throws {
        var random = SeededRandom(seed: 99)
        var decoded = 0
        var refused = 0
        for seed in 0..<60 {
            var generator = AvroSchemaGenerator(seed: UInt64(seed) &+ 5000)
            guard let schema = try? AvroSchema(parsing: generator.document().compactText) else { continue }
            var values = AvroValueGenerator(seed: UInt64(seed), schema: schema)
            let plan = AvroReadingPlan(schema: schema)
            for _ in 0..<40 {
                let bytes = try values.value(schema).binaryEncoded(schema: schema)
                let mutated = Self.mutate(bytes, random: &random)
                do {
                    let value = try plan.decode(mutated, limits: Self.limits)
                    decoded += 1
                    // What decodes re-encodes to the same bytes (the codec is a bijection on valid input,
                    // but for block encodings and non-minimal varints, which re-encode shorter).
                    let again = try value.binaryEncoded(schema: schema)
                    #expect(again.count <= mutated.count, "seed \(seed)")
                } catch {
                    refused += 1
                }
            }
        }
        #expect(decoded > 0 && refused > 0, "decoded \(decoded), refused \(refused)")
    }

    @Test func theStructDecoderNeverCrashesOnMutatedBytes() throws {
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let encoder = AvroBinaryEncoder(schema: v2)
        let decoder = AvroBinaryDecoder(schema: v2, limits: Self.limits)
        var random = SeededRandom(seed: 4)
        var refused = 0
        for index in 0..<5000 {
            let order = OrderCreated(orderID: "o-\(index)", customerID: "c-\(index % 7)", timestamp: "t\(index)", amount: AvroDecimal(unscaled: Int64(index) * 37 - 900, scale: 2))
            let bytes = try encoder.encode(order)
            #expect(try decoder.decode(OrderCreated.self, from: bytes) == order)
            let mutated = Self.mutate(bytes, random: &random)
            let byCodable = try? decoder.decode(OrderCreated.self, from: mutated)
            if byCodable == nil { refused += 1 }
            // The field-code path reads exactly what the `Decodable` path reads, or refuses the same bytes.
            #expect((try? decoder.decode(OrderCreatedRecord.self, from: mutated)) == byCodable.map(OrderCreatedRecord.init), "\(mutated.hex)")
        }
        #expect(refused > 0)
    }
}
