public import Avro
import StreamCore

/// Where an ``Serde/avro(_:subject:)`` serde finds schemas: the writer's schema of a record by
/// the id in its wire-format header, and the id its own schema has under its subject.
///
/// The runtime gives each worker one bound to the data directory's schema registry (`__schemas`;
/// in `pipeline serve`, the registry it serves); the ``PipelineTestDriver`` takes one, usually an
/// ``AvroSchemaCatalog``. Serdes cache what they get per worker, so a source is asked once per
/// schema id and worker, not per record.
///
/// Thread-safety: implementations must be safe from any thread (every worker asks).
public protocol AvroSchemaSource: AnyObject, Sendable {
    /// The schema registered under `id`, or nil when no schema has that id.
    /// - Throws: when the registry cannot be read (not when the id is unknown).
    func schema(id: Int32) throws -> AvroSchema?
    /// The global id of `schema` under `subject`, registering it there first when the subject
    /// does not hold it yet (as Confluent's serializer does with `auto.register.schemas`); the
    /// registry refuses a schema its subject's compatibility level does not allow.
    /// - Throws: the registry's refusal, naming the reasons.
    func id(registering schema: AvroSchema, subject: String) throws -> Int32
}

/// An in-memory ``AvroSchemaSource`` for the ``PipelineTestDriver`` and tools: ids are given
/// from 1 in registration order; a schema (by ``AvroSchema/normalizedJSON``) keeps its first id
/// in every subject. It checks no compatibility (the registry does).
///
/// - Invariant: an id always names the same schema.
/// Thread-safety: safe from any thread (one lock).
public final class AvroSchemaCatalog: AvroSchemaSource, @unchecked Sendable {
    private let lock = Lock()
    private var schemasByID: [Int32: AvroSchema] = [:]
    private var idsByIdentity: [String: Int32] = [:]
    private var subjects: [String: [Int32]] = [:]

    public init() {}

    /// Registers `schema` under `subject` and gives its id (the one it already has, if any).
    @discardableResult
    public func register(_ schema: AvroSchema, subject: String) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        let identity = schema.normalizedJSON
        let id: Int32
        if let known = idsByIdentity[identity] {
            id = known
        } else {
            id = Int32(schemasByID.count + 1)
            schemasByID[id] = schema
            idsByIdentity[identity] = id
        }
        if !(subjects[subject]?.contains(id) ?? false) { subjects[subject, default: []].append(id) }
        return id
    }

    /// Parses and registers a schema document; traps on a bad one (a test's own mistake).
    @discardableResult
    public func register(json: String, subject: String) -> Int32 {
        do {
            return register(try AvroSchema(parsing: json), subject: subject)
        } catch {
            preconditionFailure("not an Avro schema: \(error)")
        }
    }

    public func schema(id: Int32) -> AvroSchema? {
        lock.lock(); defer { lock.unlock() }
        return schemasByID[id]
    }

    public func id(registering schema: AvroSchema, subject: String) -> Int32 { register(schema, subject: subject) }
}
