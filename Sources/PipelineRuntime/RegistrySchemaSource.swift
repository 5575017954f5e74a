import Sluice
package import Avro
package import LogStorage
package import SchemaRegistry
import StreamCore

/// The ``AvroSchemaSource`` over a data directory's schema registry (`__schemas`): what the
/// runtime binds pipelines' Avro serdes to.
///
/// Either over a registry the process already holds (`pipeline serve`, so the pipeline sees what
/// clients register at once), or over the log, opening the registry at the first lookup (so a
/// pipeline without Avro never creates `__schemas`). Schemas are parsed once per id and kept:
/// an id always names the same schema.
///
/// - Invariant: `parsed[id]` is the registry's schema `id`, parsed.
/// Thread-safety: safe from any thread (one lock around the caches and the lazy open).
package final class RegistrySchemaSource: AvroSchemaSource, @unchecked Sendable {
    private let log: LogManager?
    private let lock = Lock()
    private var opened: SchemaRegistry?
    private var parsed: [Int32: AvroSchema] = [:]

    /// Over `registry`, held by the caller.
    package init(registry: SchemaRegistry) {
        log = nil
        opened = registry
    }

    /// Over `log`'s registry, opened when first needed.
    package init(log: LogManager) {
        self.log = log
    }

    /// The registry, opened on first use.
    package func registry() throws -> SchemaRegistry {
        lock.lock(); defer { lock.unlock() }
        return try openedRegistry()
    }

    private func openedRegistry() throws -> SchemaRegistry {
        if let opened { return opened }
        guard let log else { preconditionFailure("a source without a log holds its registry") }
        let registry = try SchemaRegistry(log: log, rules: .avro)
        opened = registry
        return registry
    }

    package func schema(id: Int32) throws -> AvroSchema? {
        lock.lock(); defer { lock.unlock() }
        if let known = parsed[id] { return known }
        let text: String
        do {
            text = try openedRegistry().schema(id: id)
        } catch let error as SchemaRegistryError where error.code == .schemaNotFound {
            return nil
        }
        let schema = try AvroSchema(parsing: text)
        parsed[id] = schema
        return schema
    }

    package func id(registering schema: AvroSchema, subject: String) throws -> Int32 {
        let registry = try self.registry()
        return try registry.register(subject: subject, schema: schema.normalizedJSON).id
    }

    /// Why `value` may not go to a topic that requires `subject` (``TopicConfig/valueSubject``),
    /// or nil when it may: it must be Avro in Confluent's wire format (magic byte 0, a 4-byte
    /// schema id) with an id the registry holds under `subject` (a live version). The body is not
    /// decoded. What `pipeline produce` and the server's Produce check.
    package func valueSubjectRefusal(_ value: [UInt8]?, subject: String) -> String? {
        guard let value else { return "a null value (a tombstone) is not Avro in Confluent's wire format" }
        guard value.count >= 5, value[0] == 0 else {
            if value.isEmpty { return "an empty value is not Avro in Confluent's wire format" }
            return value.count < 5
                ? "a value of \(value.count) bytes is shorter than Confluent's wire-format header (magic byte 0, 4-byte schema id)"
                : "the value is not Avro in Confluent's wire format (magic byte \(value[0]), expected 0)"
        }
        let id = Int32(bitPattern: UInt32(value[1]) << 24 | UInt32(value[2]) << 16 | UInt32(value[3]) << 8 | UInt32(value[4]))
        do {
            let versions = try registry().subjectVersions(ofID: id)
            guard versions.contains(where: { $0.subject == subject }) else {
                return "schema id \(id) is not registered under subject '\(subject)'"
            }
            return nil
        } catch let error as SchemaRegistryError where error.code == .schemaNotFound {
            return "schema id \(id) is not in the schema registry"
        } catch {
            return "schema id \(id) could not be checked: \(error)"
        }
    }
}
