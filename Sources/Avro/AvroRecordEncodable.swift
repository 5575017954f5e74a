/// A Swift type that writes its Avro record's fields itself, by name and in the schema's
/// order, without Swift's `Encoder` machinery; see ``AvroRecordDecodable`` for an example.
///
/// `AvroBinaryEncoder.encode(_:)` takes this path by itself when the root type conforms and
/// the schema's root is a record. The bytes are those of the `Encodable` path: a field the
/// value does not write is written as the null branch of its union, else as its default, else
/// encoding fails.
///
/// - Invariant: fields are written in the schema's order. A field written after one that comes
///   later in the schema, twice, or one the schema lacks, is an error naming it.
public protocol AvroRecordEncodable: Encodable {
    /// Writes the value's fields to `fields`, which is valid only during the call.
    func encode(avroFields fields: inout AvroRecordFieldWriter) throws
}

/// Writes the fields of one record in the schema's order, each named as the schema names it.
///
/// - Precondition: used only inside the `encode(avroFields:)` it is handed to (it holds its
///   encoder and the record's plan unretained).
public struct AvroRecordFieldWriter {
    /// Unmanaged and borrowed as a guaranteed reference: writing a field retains nothing.
    let unmanagedEncoder: Unmanaged<AvroBinaryEncoder>
    unowned(unsafe) let plan: AvroRecordReadPlan
    /// The plan's field names and nodes by slot (the encoder's plan reads every slot in order),
    /// held here so that the hot path touches no reference.
    let names: UnsafeMutableBufferPointer<String>
    let nodes: UnsafeMutableBufferPointer<AvroReadNode>
    /// The slot of the next field the schema expects.
    var expectedSlot = 0

    init(encoder: AvroBinaryEncoder, plan: AvroRecordReadPlan) {
        unmanagedEncoder = .passUnretained(encoder)
        self.plan = plan
        names = plan.frozenNames
        nodes = plan.frozenNodes
    }

    /// Runs `body` with the encoder, borrowed without a retain.
    @inline(__always)
    func withEncoder<V>(_ body: (AvroBinaryEncoder) throws -> V) rethrows -> V {
        try unmanagedEncoder._withUnsafeGuaranteedRef(body)
    }

    var encoder: AvroBinaryEncoder { unmanagedEncoder.takeUnretainedValue() }

    /// The node of field `name`, after writing every field the value left out before it.
    @inline(__always)
    mutating func node(_ name: String) throws -> AvroReadNode {
        if expectedSlot < names.count, names[expectedSlot] == name {
            expectedSlot += 1
            return nodes[expectedSlot - 1]
        }
        return try nodeOutOfOrder(name)
    }

    /// `node(_:)` for a field that is not the one the schema expects next.
    mutating func nodeOutOfOrder(_ name: String) throws -> AvroReadNode {
        let plan = plan
        guard let slot = plan.slotByName[name] else {
            throw EncodingError.invalidValue(name, EncodingError.Context(codingPath: [], debugDescription: "the schema has no field '\(name)'"))
        }
        guard slot > expectedSlot else {
            throw EncodingError.invalidValue(
                name,
                EncodingError.Context(
                    codingPath: [], debugDescription: "field '\(name)' is written twice or after a field the schema puts after it"
                )
            )
        }
        while expectedSlot < slot {
            try encoder.writeMissingField(plan, slot: expectedSlot)
            expectedSlot += 1
        }
        expectedSlot += 1
        return nodes[slot]
    }

    /// Writes the fields the value left out after the last one it wrote.
    mutating func finish() throws {
        while expectedSlot < names.count {
            try encoder.writeMissingField(plan, slot: expectedSlot)
            expectedSlot += 1
        }
    }

    /// Writes field `name`, a string (or an enum's symbol, or bytes as the schema says).
    public mutating func write(_ value: String, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeString(value, node) }
    }

    /// Writes field `name`, an Avro long or int (an int out of its range is an error).
    public mutating func write(_ value: Int64, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeInteger(value, node) }
    }

    /// Writes field `name`, an Avro long or int.
    public mutating func write(_ value: Int, _ name: String) throws { try write(Int64(value), name) }

    /// Writes field `name`, an Avro long or int.
    public mutating func write(_ value: Int32, _ name: String) throws { try write(Int64(value), name) }

    /// Writes field `name`, an Avro double or float.
    public mutating func write(_ value: Double, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeDouble(value, node) }
    }

    /// Writes field `name`, an Avro float or double.
    public mutating func write(_ value: Float, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeFloat(value, node) }
    }

    /// Writes field `name`, a boolean.
    public mutating func write(_ value: Bool, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeBool(value, node) }
    }

    /// Writes field `name`, Avro bytes or a fixed of the value's size.
    public mutating func write(_ value: [UInt8], _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeBytes(value, node) }
    }

    /// Writes field `name`, a decimal rescaled to the schema's scale (an error if it does not fit).
    public mutating func write(_ value: AvroDecimal, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.writeDecimal(value, node) }
    }

    /// Writes field `name`, a nested record written by its own field code.
    public mutating func record<R: AvroRecordEncodable>(_ value: R, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.encodeRecord(value, node: node) }
    }

    /// Writes field `name`, any `Encodable` (an optional, an array, a map, an enum…), through
    /// the `Encodable` path.
    public mutating func encode<V: Encodable>(_ value: V, _ name: String) throws {
        let node = try node(name)
        try withEncoder { try $0.encodeValue(value, node: node) }
    }
}

extension AvroRecordEncodable {
    /// Encodes the `Self` at `address` as `node` says, for a caller that holds only the
    /// existential type.
    static func avroEncodeRecord(at address: UnsafeRawPointer, to encoder: AvroBinaryEncoder, node: AvroReadNode) throws {
        try encoder.encodeRecord(address.assumingMemoryBound(to: Self.self).pointee, node: node)
    }
}

extension AvroBinaryEncoder {
    /// Encodes a root value: by its own field code when its type is an `AvroRecordEncodable`
    /// (looked up once per root type), else through `Encodable`.
    @inline(__always)
    func encodeRoot<T: Encodable>(_ value: T) throws {
        let identity = ObjectIdentifier(T.self)
        if checkedRootType != identity {
            rootRecordEncodable = T.self as? any AvroRecordEncodable.Type
            checkedRootType = identity
        }
        guard let recordType = rootRecordEncodable else { return try encodeValue(value, node: root) }
        try withUnsafePointer(to: value) { address in
            try recordType.avroEncodeRecord(at: UnsafeRawPointer(address), to: self, node: root)
        }
    }

    /// Encodes `value` by its own field code when `node` is a record; a union (whose branch
    /// is chosen by the value's type) goes through `Encodable`.
    func encodeRecord<R: AvroRecordEncodable>(_ value: R, node: AvroReadNode) throws {
        guard case .record(let plan) = node else { return try encodeValue(value, node: node) }
        var fields = AvroRecordFieldWriter(encoder: self, plan: plan)
        try value.encode(avroFields: &fields)
        try fields.finish()
    }
}
