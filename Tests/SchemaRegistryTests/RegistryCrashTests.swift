import LogStorage
import SchemaRegistry
import Simulation
import Testing

/// Registrations under a crash at every mutating step of the simulated disk (unsynced writes
/// lost): after the restart every acknowledged registration is there with its id and version,
/// and no id names two schemas nor one schema two ids.
@Suite("SchemaRegistry crashes")
struct RegistryCrashTests {
    /// Registers eight schemas over three subjects (one of them twice, so a registration takes an
    /// existing id); returns what was acknowledged before the disk went down.
    private static func scenario(_ registry: SchemaRegistry) -> [(subject: String, schema: String, id: Int32, version: Int32)] {
        var acknowledged: [(subject: String, schema: String, id: Int32, version: Int32)] = []
        let plan = (1...8).map { n in ("subject-\(n % 3)", eventSchema(n == 8 ? 1 : n)) }
        for (subject, schema) in plan {
            guard let registration = try? registry.register(subject: subject, schema: schema) else { break }
            acknowledged.append((subject, schema, registration.id, registration.version))
        }
        return acknowledged
    }

    @Test("a crash at every step loses no acknowledged registration and never gives two schemas one id")
    func crashAtEveryStep() throws {
        let clean = SimulatedDisk(seed: 11)
        let steps: Int
        do {
            let log = try openLog(clean, clock: makeClock())
            let registry = try SchemaRegistry(log: log, rules: .avro)
            let before = clean.mutatingOperationCount
            #expect(Self.scenario(registry).count == 8)
            steps = clean.mutatingOperationCount - before
            log.close()
        }
        #expect(steps > 16, "every registration syncs: \(steps) steps")
        for k in 0..<steps {
            let disk = SimulatedDisk(seed: 11)
            let clock = makeClock()
            var log = try openLog(disk, clock: clock)
            let registry = try SchemaRegistry(log: log, rules: .avro)
            disk.crash(afterOperations: k)
            let acknowledged = Self.scenario(registry)
            #expect(disk.isCrashed, "step \(k) of \(steps) did not crash")
            log.close()
            disk.restart()
            log = try openLog(disk, clock: clock)
            let reopened = try SchemaRegistry(log: log, rules: .avro)
            for entry in acknowledged {
                let found = try reopened.version(.number(entry.version), of: entry.subject)
                #expect(found.id == entry.id, "crash at step \(k): \(entry.subject) v\(entry.version)")
                #expect(try reopened.schema(id: entry.id) == reopened.identity(of: entry.schema))
            }
            let held = reopened.snapshot.subjects.values.flatMap(\.values)
            var schemaByID: [Int32: String] = [:]
            var idBySchema: [String: Int32] = [:]
            for entry in held {
                #expect(schemaByID.updateValue(entry.schema, forKey: entry.id).map { $0 == entry.schema } ?? true, "crash at step \(k): id \(entry.id) names two schemas")
                #expect(idBySchema.updateValue(entry.id, forKey: entry.schema).map { $0 == entry.id } ?? true, "crash at step \(k): a schema has two ids")
            }
            // The registry goes on from where the log is: the next schema takes a fresh id.
            let next = try reopened.register(subject: "after", schema: eventSchema(99))
            #expect(schemaByID[next.id] == nil)
            log.close()
        }
    }
}
