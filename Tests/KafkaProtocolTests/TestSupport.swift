import Foundation
import KafkaProtocol
import StreamCore

/// Builds values of a struct schema at a version: every field the version has gets a value
/// other than its default (nulls only where the version allows them), arrays get one to three
/// elements, strings include multi-byte UTF-8.
struct RandomValueBuilder {
    var random: SeededRandom
    let version: Int16
    let flexible: Bool

    mutating func value(of schema: KafkaStructSchema) -> KafkaStruct {
        var value = KafkaStruct(defaultsOf: schema)
        for (index, field) in schema.fields.enumerated() where field.versions.contains(version) {
            let nullable = field.nullableVersions.contains(version)
            var candidate = self.value(of: field.type, nullable: nullable)
            // A non-default value shows that the field really travels; retry the rare collision.
            for _ in 0..<4 where candidate == field.defaultValue {
                candidate = self.value(of: field.type, nullable: nullable)
            }
            value[fieldAt: index] = candidate
        }
        return value
    }

    mutating func value(of type: KafkaFieldType, nullable: Bool) -> KafkaValue {
        if nullable && Int.random(in: 0..<5, using: &random) == 0 {
            switch type {
            case .string: return .string(nil)
            case .bytes: return .bytes(nil)
            case .records: return .records(nil)
            case .array: return .array(nil)
            case .structure: return .structure(nil)
            default: break
            }
        }
        switch type {
        case .int8: return .int8(Int8.random(in: .min ... .max, using: &random))
        case .int16: return .int16(Int16.random(in: .min ... .max, using: &random))
        case .int32: return .int32(Int32.random(in: .min ... .max, using: &random))
        case .int64: return .int64(Int64.random(in: .min ... .max, using: &random))
        case .uint16: return .uint16(UInt16.random(in: 1 ... .max, using: &random))
        case .uint32: return .uint32(UInt32.random(in: 1 ... .max, using: &random))
        case .float64: return .float64(Double.random(in: -1e9...1e9, using: &random))
        case .bool: return .bool(Bool.random(using: &random))
        case .uuid: return .uuid(KafkaUUID(high: random.next(), low: random.next()))
        case .string: return .string(text())
        case .bytes: return .bytes(bytes(Int.random(in: 0...40, using: &random)))
        case .records: return .records(bytes(Int.random(in: 0...200, using: &random)))
        case .array(let element):
            let count = Int.random(in: 1...3, using: &random)
            return .array((0..<count).map { _ in value(of: element, nullable: false) })
        case .structure(let schema):
            return .structure(value(of: schema))
        }
    }

    mutating func text() -> String {
        let alphabet = ["a", "orders", "-", "_", "é", "日本", "🚀", "payment-service", "0"]
        return (0..<Int.random(in: 1...4, using: &random)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }.joined()
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
}

/// Every (schema, version) pair of the table, requests and responses, for parameterized tests.
let everyMessageVersion: [(KafkaAPI, KafkaMessageSchema.Kind, Int16)] = KafkaAPI.allCases.flatMap { api in
    [(KafkaMessageSchema.Kind.request, api.requestSchema), (.response, api.responseSchema)].flatMap { kind, schema in
        (schema.validVersions.lowest...schema.validVersions.highest).map { (api, kind, $0) }
    }
}

extension KafkaAPI {
    func schema(_ kind: KafkaMessageSchema.Kind) -> KafkaMessageSchema {
        kind == .request ? requestSchema : responseSchema
    }
}

/// A captured frame from `Vectors/<client>/NNN-<Api>-v<version>-<request|response>.bin`.
struct GoldenFrame: CustomStringConvertible, Sendable {
    let client: String
    let file: String
    let api: KafkaAPI
    let version: Int16
    let isRequest: Bool
    let bytes: [UInt8]

    var description: String { "\(client)/\(file)" }

    static let clients = ["kafka-python", "confluent-kafka", "aiokafka", "kcat"]

    /// Every captured frame, in file-name order per client.
    static let all: [GoldenFrame] = {
        guard let root = Bundle.module.url(forResource: "Vectors", withExtension: nil) else { return [] }
        var frames: [GoldenFrame] = []
        for client in clients {
            let directory = root.appendingPathComponent(client)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
            for name in names where name.hasSuffix(".bin") {
                // NNN-Api-vV-kind.bin
                let parts = name.dropLast(4).split(separator: "-")
                guard parts.count == 4, let version = Int16(parts[2].dropFirst()),
                      let api = KafkaAPI.allCases.first(where: { $0.description == parts[1] }),
                      let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
                else { continue }
                frames.append(GoldenFrame(
                    client: client, file: name, api: api, version: version, isRequest: parts[3] == "request", bytes: [UInt8](data)))
            }
        }
        return frames
    }()
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func bytes(hex text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
