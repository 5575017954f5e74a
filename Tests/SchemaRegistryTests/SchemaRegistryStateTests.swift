import LogStorage
import SchemaRegistry
import StreamCore
import Testing

/// The registry's state machine over a real log on the simulated disk: ids, versions, identity,
/// deletes, levels, refusals, and the state rebuilt from `__schemas` after a reopen.
@Suite("SchemaRegistry")
struct SchemaRegistryStateTests {
    @Test("a registration gets id and version 1; registering it again answers the same and writes nothing")
    func registerIsIdempotent() throws {
        let fixture = try RegistryFixture()
        let first = try fixture.registry.register(subject: "orders-value", schema: orderV1)
        #expect((first.id, first.version, first.isNew) == (1, 1, true))
        let end = try fixture.log.partition(.init(SchemaRegistry.topicName, .init(0))).logEndOffset
        // The same schema, written differently (whitespace, attribute order): the same identity.
        let respelled = #"{"fields":[{"type":"string","name":"order_id"},{"name":"customer_id","type":"string"},{"name":"timestamp","type":"string"}],"name":"OrderCreated","type":"record"}"#
        let again = try fixture.registry.register(subject: "orders-value", schema: respelled)
        #expect((again.id, again.version, again.isNew) == (1, 1, false))
        #expect(try fixture.log.partition(.init(SchemaRegistry.topicName, .init(0))).logEndOffset == end)
    }

    @Test("the same schema in two subjects has one id; a new schema takes the next id")
    func oneIDPerSchema() throws {
        let fixture = try RegistryFixture()
        let a = try fixture.registry.register(subject: "a", schema: orderV1)
        let b = try fixture.registry.register(subject: "b", schema: orderV1)
        let v2 = try fixture.registry.register(subject: "a", schema: orderV2)
        #expect(a.id == b.id && b.version == 1)
        #expect(v2.id == a.id + 1 && v2.version == 2)
        #expect(try fixture.registry.subjectVersions(ofID: a.id).map { "\($0.subject)/\($0.version)" } == ["a/1", "b/1"])
        #expect(try fixture.registry.version(.latest, of: "a").id == v2.id)
        #expect(fixture.registry.subjectNames() == ["a", "b"])
    }

    @Test("BACKWARD (the default) accepts v2 and refuses an incompatible schema with 409 and the reasons")
    func compatibilityRefusal() throws {
        let fixture = try RegistryFixture()
        _ = try fixture.registry.register(subject: "orders-value", schema: orderV1)
        #expect(try fixture.registry.incompatibilities(of: orderV2, subject: "orders-value", against: .latest).isEmpty)
        let problems = try fixture.registry.incompatibilities(of: orderIncompatible, subject: "orders-value", against: nil)
        #expect(problems.contains { $0.contains("READER_FIELD_MISSING_DEFAULT_VALUE") && $0.contains("currency") }, "\(problems)")
        #expect(problems.contains { $0.contains("TYPE_MISMATCH") }, "\(problems)")
        #expect(throws: SchemaRegistryError.self) { try fixture.registry.register(subject: "orders-value", schema: orderIncompatible) }
        do {
            _ = try fixture.registry.register(subject: "orders-value", schema: orderIncompatible)
        } catch {
            #expect(error.code == .incompatibleSchema && error.code.httpStatus == 409)
            #expect(error.message.contains("incompatible with an earlier schema for subject \"orders-value\""))
        }
        #expect(try fixture.registry.versions(of: "orders-value").map(\.version) == [1])
        // NONE on the subject lets it through; the global level is untouched.
        try fixture.registry.setLevel(.none, subject: "orders-value")
        #expect(try fixture.registry.register(subject: "orders-value", schema: orderIncompatible).version == 2)
        #expect(fixture.registry.effectiveLevel(subject: "other") == .backward)
    }

    @Test("an invalid schema, another schema type, an empty subject and an oversized schema are refused")
    func refusals() throws {
        let fixture = try RegistryFixture()
        #expect(throws: SchemaRegistryError(.invalidSchema, "Invalid schema: schemaType PROTOBUF is not supported; this registry serves AVRO")) {
            try fixture.registry.register(subject: "s", schema: orderV1, schemaType: "PROTOBUF")
        }
        for (subject, schema, code) in [
            ("s", #"{"type": "recrod"}"#, SchemaRegistryError.Code.invalidSchema),
            ("", orderV1, .invalidSubject),
            ("s", String(repeating: " ", count: SchemaRegistry.schemaBytesMax) + orderV1, .schemaTooLarge),
        ] {
            do {
                _ = try fixture.registry.register(subject: subject, schema: schema)
                Issue.record("registered \(schema.prefix(40)) under '\(subject)'")
            } catch {
                #expect(error.code == code)
            }
        }
        #expect(fixture.registry.subjectNames(includeDeleted: true).isEmpty)
    }

    @Test("soft deletes hide versions; permanent deletes need a soft one first; ids are never reused")
    func deletes() throws {
        let fixture = try RegistryFixture()
        let v1 = try fixture.registry.register(subject: "s", schema: orderV1)
        _ = try fixture.registry.register(subject: "s", schema: orderV2)
        #expect(throws: SchemaRegistryError.self) { try fixture.registry.deleteVersion(.number(1), of: "s", permanent: true) }
        #expect(try fixture.registry.deleteVersion(.number(1), of: "s", permanent: false) == 1)
        #expect(try fixture.registry.versions(of: "s").map(\.version) == [2])
        #expect(try fixture.registry.versions(of: "s", includeDeleted: true).map(\.version) == [1, 2])
        #expect(try fixture.registry.schema(id: v1.id).contains("OrderCreated"), "a soft-deleted version is still found by id")
        do { _ = try fixture.registry.deleteVersion(.number(1), of: "s", permanent: false) } catch { #expect(error.code == .versionSoftDeleted) }
        do { _ = try fixture.registry.deleteSubject("s", permanent: true) } catch { #expect(error.code == .subjectNotSoftDeleted) }
        #expect(try fixture.registry.deleteSubject("s", permanent: false) == [2])
        do { _ = try fixture.registry.versions(of: "s") } catch { #expect(error.code == .subjectNotFound) }
        do { _ = try fixture.registry.deleteSubject("s", permanent: false) } catch { #expect(error.code == .subjectSoftDeleted) }
        #expect(try fixture.registry.deleteSubject("s", permanent: true) == [1, 2])
        do { _ = try fixture.registry.schema(id: v1.id) } catch { #expect(error.code == .schemaNotFound) }
        // Hard-deleted everywhere, then registered again: a new id, and so after a reopen too.
        let again = try fixture.registry.register(subject: "s", schema: orderV1)
        #expect(again.id == 3 && again.version == 1)
        try fixture.reopen()
        #expect(try fixture.registry.register(subject: "t", schema: eventSchema(1)).id == 4)
    }

    @Test("a subject of large versions is deleted in one batch")
    func largeSubjectDeletion() throws {
        let fixture = try RegistryFixture()
        let doc = String(repeating: "d", count: 400 * 1024)
        for n in 1...3 {
            let schema = #"{"type": "record", "name": "Event", "doc": "\#(doc)", "fields": [{"name": "extra\#(n)", "type": "string", "default": ""}]}"#
            _ = try fixture.registry.register(subject: "big", schema: schema)
        }
        #expect(try fixture.registry.deleteSubject("big", permanent: false) == [1, 2, 3])
        #expect(try fixture.registry.deleteSubject("big", permanent: true) == [1, 2, 3])
        try fixture.reopen()
        #expect(fixture.registry.subjectNames(includeDeleted: true).isEmpty)
    }

    @Test("a schema soft-deleted in a subject and registered again comes back as a new version with its id")
    func reRegisterSoftDeleted() throws {
        let fixture = try RegistryFixture()
        let first = try fixture.registry.register(subject: "s", schema: orderV1)
        _ = try fixture.registry.deleteVersion(.latest, of: "s", permanent: false)
        let again = try fixture.registry.register(subject: "s", schema: orderV1)
        #expect((again.id, again.version, again.isNew) == (first.id, 2, true))
    }

    @Test("levels: global default BACKWARD, a subject's own level, removal falls back to the global")
    func levels() throws {
        let fixture = try RegistryFixture()
        #expect(fixture.registry.configuredLevel(subject: nil) == .backward)
        try fixture.registry.setLevel(.full, subject: nil)
        try fixture.registry.setLevel(.forwardTransitive, subject: "s")
        #expect(fixture.registry.effectiveLevel(subject: "s") == .forwardTransitive)
        #expect(fixture.registry.configuredLevel(subject: "t") == nil)
        #expect(fixture.registry.effectiveLevel(subject: "t") == .full)
        try fixture.reopen()
        #expect(fixture.registry.effectiveLevel(subject: "s") == .forwardTransitive)
        #expect(try fixture.registry.removeLevel(subject: "s") == .forwardTransitive)
        #expect(fixture.registry.effectiveLevel(subject: "s") == .full)
        do { _ = try fixture.registry.removeLevel(subject: "s") } catch { #expect(error.code == .subjectNotFound) }
        #expect(throws: SchemaRegistryError.invalidCompatibilityLevel("sideways")) { try CompatibilityLevel(parsing: "sideways") }
        #expect(try CompatibilityLevel(parsing: "full_transitive") == .fullTransitive)
    }

    @Test("a reopened registry is the same state, rebuilt from __schemas alone")
    func replayAfterReopen() throws {
        let fixture = try RegistryFixture()
        for n in 1...20 { _ = try fixture.registry.register(subject: "events-\(n % 3)", schema: eventSchema(n)) }
        _ = try fixture.registry.register(subject: "orders", schema: orderV1)
        _ = try fixture.registry.deleteVersion(.number(1), of: "events-0", permanent: false)
        try fixture.registry.setLevel(.none, subject: "events-1")
        let before = fixture.registry.snapshot
        try fixture.reopen()
        #expect(fixture.registry.snapshot == before)
        #expect(before.highWaterID == 21)
    }

    @Test("versions: latest, -1, numbers; anything else is 42202")
    func versionSelectors() throws {
        #expect(try VersionSelector(parsing: "latest") == .latest)
        #expect(try VersionSelector(parsing: "-1") == .latest)
        #expect(try VersionSelector(parsing: "7") == .number(7))
        for bad in ["0", "-2", "abc", "2147483648", ""] {
            #expect(throws: SchemaRegistryError.invalidVersion(bad)) { try VersionSelector(parsing: bad) }
        }
    }

    @Test("__schemas records round-trip in Confluent's JSON, with byte-stable keys")
    func recordFormat() throws {
        let entry = SubjectVersion(subject: "a \"quoted\"\nsubject", version: 3, id: 9, schema: orderV1, deleted: true)
        let records: [SchemaRecord] = [
            .version(entry), .versionRemoved(subject: "s", version: 2), .level(subject: nil, .full), .level(subject: "s", .none),
            .levelRemoved(subject: "s"), .idHighWater(42),
        ]
        for record in records {
            let (key, value) = record.encoded
            #expect(SchemaRecord.decode(key: key, value: value) == record)
        }
        #expect(String(decoding: SchemaRecord.version(entry).encoded.key, as: UTF8.self)
            == #"{"keytype":"SCHEMA","subject":"a \"quoted\"\nsubject","version":3,"magic":1}"#)
        #expect(SchemaRecord.versionRemoved(subject: entry.subject, version: 3).encoded.key == SchemaRecord.version(entry).encoded.key)
        #expect(String(decoding: SchemaRecord.level(subject: nil, .full).encoded.key, as: UTF8.self) == #"{"keytype":"CONFIG","subject":null,"magic":0}"#)
        // Confluent's other key types are skipped, not misread.
        #expect(SchemaRecord.decode(key: Array(#"{"keytype":"NOOP","magic":0}"#.utf8), value: nil) == nil)
        #expect(SchemaRecord.decode(key: Array(#"{"keytype":"SCHEMA","subject":"s","version":true,"magic":1}"#.utf8), value: nil) == nil)
    }
}
