/// A failure that adds headers of its own to the dead letter of its record (after the `dlq.*`
/// context every dead letter has), e.g. `dlq.schema.id`.
public protocol DeadLetterContext: Error {
    /// Header names and values, in order.
    var deadLetterHeaders: [(name: String, value: String)] { get }
}

/// The wire-format errors of ``Serde/avro(_:subject:)``: each dead-letters its record at stage
/// `decode` with `dlq.error.type` the type's name and a `dlq.schema.id` header (the id the record
/// names, `none` when it has no wire-format header).
protocol AvroWireFormatError: DeadLetterContext, CustomStringConvertible, Sendable {
    /// The schema id the record names, when it has a header.
    var schemaID: Int32? { get }
}

extension AvroWireFormatError {
    public var deadLetterHeaders: [(name: String, value: String)] { [("dlq.schema.id", schemaID.map(String.init) ?? "none")] }
}

/// A record value that is not in Confluent's wire format: shorter than its 5-byte header, or
/// whose first byte (the magic byte) is not 0.
public struct NotAvro: AvroWireFormatError {
    /// The value's length in bytes.
    public let byteCount: Int
    /// Its first byte, when it has one.
    public let magicByte: UInt8?
    public var schemaID: Int32? { nil }

    public var description: String {
        if let magicByte, byteCount >= 5 {
            return "not Avro in Confluent's wire format: magic byte \(magicByte), expected 0 (\(byteCount) bytes)"
        }
        return "not Avro in Confluent's wire format: \(byteCount) bytes, shorter than the 5-byte header (magic byte 0, 4-byte schema id)"
    }
}

/// A record whose wire-format header names a schema id the registry does not know.
public struct UnknownSchemaId: AvroWireFormatError {
    /// The id in the record's header.
    public let id: Int32
    /// The subject the reading serde belongs to.
    public let subject: String
    public var schemaID: Int32? { id }
    public var description: String { "schema id \(id) is not in the schema registry (reading '\(subject)')" }
}

/// A record whose writer schema does not resolve to the pipeline's reader schema, or whose body
/// does not decode with them.
public struct SchemaMismatch: AvroWireFormatError {
    /// The writer's schema id.
    public let id: Int32
    /// Why, naming the field where known.
    public let reason: String
    public var schemaID: Int32? { id }
    public var description: String { "the value written with schema id \(id) does not decode as the reader schema: \(reason)" }
}

/// An ``Serde/avro(_:subject:)`` serde used where no ``AvroSchemaSource`` was bound to it: the
/// runtime binds serdes of sources, sinks, tables, side outputs and repartitions; a store's
/// value serde or a serde called directly must be bound with ``Serde/bound(to:)``.
public struct AvroSerdeUnbound: Error, CustomStringConvertible, Sendable {
    /// The serde's subject.
    public let subject: String
    public var description: String {
        "the Avro serde of subject '\(subject)' has no schema source here (bind it with bound(to:); the runtime binds sources and sinks)"
    }
}

/// The schema registry could not answer (it could not be opened or read): an operating error,
/// not the record's fault. It is never dead-lettered: a source passes it through, so the
/// pipeline stops with it (its open transaction aborted) and a rerun reads the record again.
public struct SchemaSourceFailure: Error, CustomStringConvertible, Sendable {
    /// What was asked: `schema id 4`, `the id of … under 'orders-value'`.
    public let asked: String
    /// The registry's error.
    public let reason: String
    public var description: String { "the schema registry could not answer (\(asked)): \(reason)" }
}
