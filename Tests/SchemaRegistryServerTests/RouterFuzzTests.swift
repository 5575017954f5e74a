import Foundation
import LogStorage
import Logging
import SchemaRegistry
import SchemaRegistryServer
import Simulation
import StreamCore
import Testing

/// Seeded fuzzing of what the registry decodes from outside: request targets, request bodies
/// mutated from valid ones, and `__schemas` records. Nothing traps; every answer is 200 or one of
/// Confluent's error bodies; nothing refused changes the registry.
@Suite("SchemaRegistryServer fuzz")
struct RouterFuzzTests {
    static let valid = #"{"schema": "{\"type\": \"record\", \"name\": \"E\", \"fields\": [{\"name\": \"a\", \"type\": \"string\"}]}"}"#

    private static func mutate(_ bytes: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var out = bytes
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            guard !out.isEmpty else { out.append(UInt8.random(in: 0...255, using: &random)); continue }
            let at = Int.random(in: 0..<out.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: out[at] = UInt8.random(in: 0...255, using: &random)
            case 1: out.remove(at: at)
            case 2: out.insert(Array("{}[]\",:\\0-1e9".utf8).randomElement(using: &random)!, at: at)
            default: out = Array(out[..<at])
            }
        }
        return out
    }

    @Test("5,000 mutated requests: every answer is 200 or Confluent's error form, and no refused one registers anything")
    func mutatedRequests() throws {
        let disk = SimulatedDisk(seed: 21)
        var options = LogOptions()
        options.offsetsTopicPartitions = 1
        let log = try LogManager.open(
            directory: "/data", storage: disk, clock: SimulatedClock(start: Timestamp(milliseconds: 1_700_000_000_000)), options: options,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { log.close() }
        let router = SchemaRegistryRouter(registry: try SchemaRegistry(log: log, rules: .avro))
        let targets = ["/subjects/s/versions", "/subjects/s", "/compatibility/subjects/s/versions/latest?verbose=true", "/config", "/config/s"]
        var random = SeededRandom(seed: 21)
        var answered = [true: 0, false: 0]
        for round in 0..<5_000 {
            let target = targets.randomElement(using: &random)!
            let method = target.hasPrefix("/config") ? "PUT" : "POST"
            let template = Array(target.hasPrefix("/config") ? #"{"compatibility": "FULL"}"#.utf8 : Self.valid.utf8)
            let body = random.chance(0.7) ? Self.mutate(template, &random) : template
            let mutatedTarget = String(decoding: Self.mutate(Array(target.utf8), &random), as: UTF8.self)
            let requests = [RegistryRequest(method: method, target: target, body: body), RegistryRequest(method: method, target: mutatedTarget, body: body)]
            for request in requests.compactMap({ $0 }) {
                let before = router.registry.snapshot
                let answer = router.respond(to: request)
                answered[answer.status == 200, default: 0] += 1
                if answer.status != 200 {
                    let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
                    #expect(object?["error_code"] is Int && object?["message"] is String, "round \(round): \(answer.body)")
                    #expect(router.registry.snapshot == before, "round \(round): a refused request changed the registry")
                }
            }
        }
        #expect(answered[true]! > 100 && answered[false]! > 1_000, "answered: \(answered)")
    }

    @Test("20,000 mutated __schemas records decode to a record or to nothing, never trap")
    func mutatedRecords() {
        let samples: [SchemaRecord] = [
            .version(SubjectVersion(subject: "s", version: 1, id: 1, schema: #"{"type":"string"}"#)), .level(subject: "s", .full),
            .levelRemoved(subject: nil), .idHighWater(7),
        ]
        var random = SeededRandom(seed: 22)
        var decoded = 0
        for _ in 0..<20_000 {
            let (key, value) = samples.randomElement(using: &random)!.encoded
            let mutatedKey = random.chance(0.5) ? Self.mutate(key, &random) : key
            let mutatedValue = value.map { random.chance(0.7) ? Self.mutate($0, &random) : $0 }
            if SchemaRecord.decode(key: mutatedKey, value: mutatedValue) != nil { decoded += 1 }
        }
        #expect(decoded > 0 && decoded < 20_000)
    }
}
