/// A value of some Avro schema, in the shape the schema gives it (generic data).
///
/// Records hold their field values in the schema's field order; unions the index of the
/// branch and its value; enums the symbol's index. Logical types are carried as their physical
/// values (a decimal as its unscaled bytes, a date as days). Immutable; `Sendable`.
public indirect enum AvroValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case bytes([UInt8])
    case string(String)
    /// Field values in the record schema's field order.
    case record([AvroValue])
    /// The symbol's index in the enum schema.
    case enumeration(Int)
    /// Exactly the fixed schema's size of bytes.
    case fixed([UInt8])
    case array([AvroValue])
    /// Entries in the order they were written; keys may repeat only as written.
    case map([AvroMapEntry])
    /// The branch index in the union schema and the branch's value.
    case union(Int, AvroValue)
}

/// One key and value of a map.
public struct AvroMapEntry: Sendable, Hashable {
    /// The key.
    public let key: String
    /// The value.
    public let value: AvroValue

    /// Creates an entry.
    public init(_ key: String, _ value: AvroValue) {
        self.key = key
        self.value = value
    }
}
