import Avro

/// A Swift type with an Avro schema of its own: the reader schema its values are decoded as and
/// the schema they are written with. Its `CodingKeys` name the schema's fields; the mapping of
/// Swift types to Avro types is `AvroBinaryDecoder`'s (`AvroDecimal` for a decimal, an optional
/// for a union with null).
///
/// ```swift
/// struct OrderCreated: AvroRecord {
///     static let avroSchema = #"{"type":"record","name":"OrderCreated","fields":[…]}"#
///     var orderID: String
///     …
/// }
/// ```
public protocol AvroRecord: Codable {
    /// The type's schema document (Avro JSON).
    static var avroSchema: String { get }
}

extension Serde where Value: AvroRecord {
    /// Avro in Confluent's wire format, with the schema registry's subject `subject`:
    ///
    /// ```
    /// byte 0      magic, 0
    /// bytes 1-4   schema id, big-endian (the registry's global id of the writer's schema)
    /// bytes 5…    the Avro binary body
    /// ```
    ///
    /// Decoding looks the writer's schema up by the id (once per id and worker), resolves it to
    /// `Value.avroSchema` (a reading plan, built once) and decodes straight into `Value`. A value
    /// not in the wire format fails as ``NotAvro``, an id the registry does not know as
    /// ``UnknownSchemaId``, a writer schema that does not resolve or bytes that do not decode as
    /// ``SchemaMismatch``: at a source, each is dead-lettered at stage `decode` with a
    /// `dlq.schema.id` header. Encoding writes `Value.avroSchema` with its id under `subject`
    /// (registered there on first use when missing, which the subject's compatibility level may
    /// refuse: a produce-stage failure).
    ///
    /// The runtime binds the serde to the data directory's registry per worker; elsewhere bind
    /// it yourself with ``bound(to:)``.
    /// - Precondition: `Value.avroSchema` is a valid schema (checked here, once).
    public static func avro(_ type: Value.Type, subject: String) -> Serde<Value> {
        let schema: AvroSchema
        do {
            schema = try AvroSchema(parsing: Value.avroSchema)
        } catch {
            preconditionFailure("\(Value.self).avroSchema is not a valid Avro schema: \(error)")
        }
        return Serde(
            encode: { _ in throw AvroSerdeUnbound(subject: subject) },
            decode: { _ in throw AvroSerdeUnbound(subject: subject) },
            needsSchemas: true,
            bind: { schemas in
                guard let schemas else { return .avro(Value.self, subject: subject) }
                let codec = AvroWireCodec<Value>(schemas: schemas, readerSchema: schema, subject: subject)
                return Serde(encode: { try codec.encode($0) }, decode: { try codec.decode($0) })
            })
    }
}

/// One worker's Avro wire-format codec for one type: decoders per writer id (each with its
/// reading plan) and the encoder with its own id, found once.
///
/// Thread-safety: one thread (the worker's); the source it asks is thread-safe.
final class AvroWireCodec<Value: Codable> {
    static var headerBytes: Int { 5 }

    private let schemas: any AvroSchemaSource
    private let readerSchema: AvroSchema
    private let subject: String
    private var decoders: [Int32: AvroBinaryDecoder] = [:]
    private var encoder: AvroBinaryEncoder?
    private var ownID: Int32?

    init(schemas: any AvroSchemaSource, readerSchema: AvroSchema, subject: String) {
        self.schemas = schemas
        self.readerSchema = readerSchema
        self.subject = subject
    }

    /// The schema id in a wire-format header.
    /// - Throws: ``NotAvro`` when `bytes` has no header.
    static func schemaID(of bytes: [UInt8]) throws(NotAvro) -> Int32 {
        guard bytes.count >= headerBytes, bytes[0] == 0 else { throw NotAvro(byteCount: bytes.count, magicByte: bytes.first) }
        return Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }

    func decode(_ bytes: [UInt8]) throws -> Value {
        let id = try Self.schemaID(of: bytes)
        let decoder = try self.decoder(for: id)
        do {
            return try bytes.withUnsafeBytes { buffer in
                try decoder.decode(Value.self, from: UnsafeRawBufferPointer(rebasing: buffer[Self.headerBytes...]))
            }
        } catch {
            throw SchemaMismatch(id: id, reason: String(describing: error))
        }
    }

    private func decoder(for id: Int32) throws -> AvroBinaryDecoder {
        if let known = decoders[id] { return known }
        // An unknown id is not remembered: it may be registered later.
        let found: AvroSchema?
        do { found = try schemas.schema(id: id) } catch {
            throw SchemaSourceFailure(asked: "schema id \(id)", reason: String(describing: error))
        }
        guard let writer = found else { throw UnknownSchemaId(id: id, subject: subject) }
        let plan: AvroReadingPlan
        do {
            plan = try AvroReadingPlan(writer: writer, reader: readerSchema)
        } catch {
            throw SchemaMismatch(id: id, reason: "the writer's schema does not resolve to the reader's: \(error)")
        }
        let decoder = AvroBinaryDecoder(plan: plan)
        decoders[id] = decoder
        return decoder
    }

    func encode(_ value: Value) throws -> [UInt8] {
        let id: Int32
        if let ownID { id = ownID } else {
            id = try schemas.id(registering: readerSchema, subject: subject)
            ownID = id
        }
        let encoder = self.encoder ?? AvroBinaryEncoder(schema: readerSchema)
        self.encoder = encoder
        let raw = UInt32(bitPattern: id)
        var bytes: [UInt8] = [0, UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)]
        try encoder.encode(value, appendingTo: &bytes)
        return bytes
    }
}

extension Serde where Value: AvroRecord {
    /// Plain Avro binary with `Value.avroSchema`: no wire-format header, no registry. For a
    /// pipeline's own bytes — a store's values — where the writer's schema is always the type's
    /// own; much cheaper than JSON through `Codable`. Aggregations (`aggregate`, `reduce`) bind
    /// it per worker, so its encoder and decoder are made once; elsewhere each call makes them. Bytes that do not decode throw `AvroCodecError`
    /// or `DecodingError`.
    /// - Precondition: `Value.avroSchema` is a valid schema (checked here, once).
    public static func avroBinary(_ type: Value.Type) -> Serde<Value> {
        let schema: AvroSchema
        do {
            schema = try AvroSchema(parsing: Value.avroSchema)
        } catch {
            preconditionFailure("\(Value.self).avroSchema is not a valid Avro schema: \(error)")
        }
        // The plan is shared (it is Sendable); decoders and encoders are not thread-safe: a worker
        // binds its own pair, used for every record; unbound, each call makes its own.
        let plan = AvroReadingPlan(schema: schema)
        return Serde(
            encode: { value in try AvroBinaryEncoder(schema: schema).encode(value) },
            decode: { bytes in try AvroBinaryDecoder(plan: plan).decode(Value.self, from: bytes) },
            needsSchemas: false,
            bind: { _ in
                let encoder = AvroBinaryEncoder(schema: schema)
                let decoder = AvroBinaryDecoder(plan: plan)
                return Serde(encode: { try encoder.encode($0) }, decode: { try decoder.decode(Value.self, from: $0) })
            })
    }
}
