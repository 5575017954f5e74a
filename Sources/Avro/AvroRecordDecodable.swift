/// A Swift type that reads its Avro record's fields itself, by name, without Swift's `Decoder`
/// machinery: the fast path for event types, like the specific records Apache Avro generates.
///
/// ```swift
/// struct OrderCreated: AvroRecordCodable {
///     var orderID: String, amount: AvroDecimal
///     init(avroFields fields: AvroRecordFields) throws {
///         orderID = try fields.string("order_id")
///         amount = try fields.decimal("amount")
///     }
///     func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
///         try fields.write(orderID, "order_id")
///         try fields.write(amount, "amount")
///     }
/// }
/// ```
///
/// `AvroBinaryDecoder.decode(_:from:)` takes this path by itself when the root type conforms
/// (it looks the conformance up once per type), so the `.avro` serde uses it with no change.
/// The values are those of the `Decodable` path: fields resolve against the writer's schema by
/// name (a field the writer lacks takes the reader's default, the writer's extra fields are
/// skipped), with the same promotions and errors.
///
/// - Invariant: reading fields in the reader schema's order costs one string comparison per
///   field; a field read out of order is found by name (as in the `Decodable` path). Fields the
///   type does not read are skipped.
public protocol AvroRecordDecodable: Decodable {
    /// Reads the value's fields from `fields`, which is valid only during the call.
    init(avroFields fields: AvroRecordFields) throws
}

/// A type whose Avro records are read and written by its own field code; see
/// ``AvroRecordDecodable`` and ``AvroRecordEncodable``.
public typealias AvroRecordCodable = AvroRecordDecodable & AvroRecordEncodable

/// The fields of the record being decoded, each read by its reader-schema name.
///
/// - Precondition: used only inside the `init(avroFields:)` it is handed to (it holds its
///   decoder unretained).
public struct AvroRecordFields {
    /// Unmanaged and borrowed as a guaranteed reference: reading a field retains nothing.
    let decoder: Unmanaged<AvroBinaryDecoder>
    let level: Int

    init(decoder: AvroBinaryDecoder, level: Int) {
        self.decoder = .passUnretained(decoder)
        self.level = level
    }

    @inline(__always)
    func read<V>(_ name: String, _ read: (AvroBinaryDecoder, AvroReadNode) throws -> V) throws -> V {
        try decoder._withUnsafeGuaranteedRef { decoder in try decoder.field(level, name) { try read(decoder, $0) } }
    }

    /// Field `name` as a string (an Avro string, bytes, or an enum's symbol).
    public func string(_ name: String) throws -> String { try read(name) { try $0.readString($1) } }

    /// Field `name` as a 64-bit integer (an Avro long or int).
    public func long(_ name: String) throws -> Int64 { try read(name) { try $0.readInt64($1) } }

    /// Field `name` as an `Int` (an Avro long or int).
    public func int(_ name: String) throws -> Int { try avroExactInteger(try long(name), Int.self) }

    /// Field `name` as an `Int32`; a long outside its range is an error.
    public func int32(_ name: String) throws -> Int32 { try avroExactInteger(try long(name), Int32.self) }

    /// Field `name` as a `Double` (an Avro double, or a float, long or int promoted).
    public func double(_ name: String) throws -> Double { try read(name) { try $0.readDouble($1) } }

    /// Field `name` as a `Float` (an Avro float, or a long or int promoted).
    public func float(_ name: String) throws -> Float { try read(name) { try $0.readFloat($1) } }

    /// Field `name` as a `Bool`.
    public func boolean(_ name: String) throws -> Bool { try read(name) { try $0.readBool($1) } }

    /// Field `name` as bytes (Avro bytes, fixed, or a string's UTF-8).
    public func bytes(_ name: String) throws -> [UInt8] { try read(name) { try $0.readBytes($1) } }

    /// Field `name` as a decimal (the `decimal` logical type on bytes or fixed).
    public func decimal(_ name: String) throws -> AvroDecimal { try read(name) { try $0.readDecimal($1) } }

    /// Field `name` as a nested record read by its own field code.
    public func record<R: AvroRecordDecodable>(_ type: R.Type, _ name: String) throws -> R {
        try read(name) { try $0.decodeRecord(R.self, node: $1) }
    }

    /// Field `name` as any `Decodable` (an optional, an array, a map, an enum…), through the
    /// `Decodable` path.
    public func decode<V: Decodable>(_ type: V.Type, _ name: String) throws -> V {
        try read(name) { try $0.decodeValue(V.self, node: $1) }
    }
}

extension AvroRecordDecodable {
    /// Decodes the decoder's root value as a `Self`, returned as `T`, for a caller that holds
    /// only the existential type.
    /// - Precondition: `T` is `Self` (the decoder checks the type's identity).
    static func avroDecodeRoot<T>(from decoder: AvroBinaryDecoder, as type: T.Type) throws -> T {
        let value =
            if let level = decoder.rootRecordLevel {
                try decoder.decodeRecord(Self.self, level: level)
            } else {
                try decoder.decodeRecord(Self.self, node: decoder.plan.root)
            }
        return unsafeBitCast(consume value, to: T.self)
    }
}

extension AvroBinaryDecoder {
    /// `type` as an `AvroRecordDecodable`, or nil; looked up once per root type.
    @inline(__always)
    func recordDecodableType<T>(_ type: T.Type) -> (any AvroRecordDecodable.Type)? {
        let identity = ObjectIdentifier(T.self)
        if checkedRootType != identity {
            rootRecordDecodable = T.self as? any AvroRecordDecodable.Type
            checkedRootType = identity
        }
        return rootRecordDecodable
    }

    /// Decodes an `R` by its own field code from the reader's position as `node` (a record, or
    /// a union with one) says, leaving the position after it.
    func decodeRecord<R: AvroRecordDecodable>(_ type: R.Type, node: AvroReadNode) throws -> R {
        let recordNode = try unwrapUnion(node)
        guard case .record(let recordPlan) = recordNode else { throw mismatch(R.self, recordNode) }
        return try decodeRecord(R.self, level: RecordLevel(plan: recordPlan))
    }

    /// Decodes an `R` by its own field code from the reader's position, opening `template`'s
    /// record there, leaving the position after it.
    @inline(__always)
    func decodeRecord<R: AvroRecordDecodable>(_ type: R.Type, level template: RecordLevel) throws -> R {
        guard depth < limits.depthMax else { throw reader.error(.depthOverLimit(limit: limits.depthMax)) }
        depth += 1
        defer { depth -= 1 }
        var level = template
        level.base = offsets.count
        level.cursor = reader.position
        offsets.append(repeating: 0, count: level.nodes.count)
        levels.append(level)
        let value = try R(avroFields: AvroRecordFields(decoder: self, level: levels.count - 1))
        try finishRecord()
        return consume value
    }
}
