/// An Avro schema (Avro 1.12 specification, "Schema Declaration").
///
/// The tree mirrors the document it was parsed from: a named type (record, enum, fixed) is
/// held whole where it is first defined and as `.reference(fullName)` wherever the document
/// names it again, so recursive types are finite values and the Parsing Canonical Form falls
/// out of a walk in document order. Logical types and extra properties wrap the physical type
/// they annotate.
///
/// - Invariant: every `.reference` names a type defined earlier in the same tree (the parser
///   guarantees it; `AvroSchema` values built by hand must keep it).
/// - Thread-safety: an immutable value; `Sendable`.
public indirect enum AvroSchema: Sendable, Hashable {
    case null
    case boolean
    case int
    case long
    case float
    case double
    case bytes
    case string
    case record(AvroRecordSchema)
    case enumeration(AvroEnumSchema)
    case fixed(AvroFixedSchema)
    /// An array of `items`.
    case array(AvroSchema)
    /// A map from strings to `values`.
    case map(AvroSchema)
    /// A union of its branches, in order.
    case union([AvroSchema])
    /// A named type defined earlier in the document, by full name.
    case reference(String)
    /// A logical type over its physical schema (int, long, bytes, string or fixed).
    case logical(AvroLogicalType, AvroSchema)
    /// Properties beyond those the specification defines, on a primitive, array, map or
    /// logical type (e.g. `"avro.java.string": "String"`), sorted by key.
    case annotated(AvroSchema, properties: [AvroJSONMember])
}

/// A full name: a name and its namespace (`com.acme.OrderCreated`).
public struct AvroName: Sendable, Hashable, CustomStringConvertible {
    /// The unqualified name (`OrderCreated`).
    public let name: String
    /// The namespace, `nil` for the null namespace.
    public let namespace: String?

    /// Creates a name from its parts.
    public init(name: String, namespace: String?) {
        self.name = name
        self.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Splits a full name at its last dot (`a.b.C` → `C` in `a.b`).
    public init(fullName: String) {
        if let dot = fullName.lastIndex(of: ".") {
            self.init(name: String(fullName[fullName.index(after: dot)...]), namespace: String(fullName[..<dot]))
        } else {
            self.init(name: fullName, namespace: nil)
        }
    }

    /// `namespace.name`, or `name` in the null namespace.
    public var fullName: String { namespace.map { "\($0).\(name)" } ?? name }

    public var description: String { fullName }
}

/// A record type.
public struct AvroRecordSchema: Sendable, Hashable {
    /// Its full name.
    public var name: AvroName
    /// Alternative full names a writer's record may have (schema resolution).
    public var aliases: [AvroName]
    /// Its documentation, if any.
    public var doc: String?
    /// Its fields, in order. - Invariant: names are distinct.
    public var fields: [AvroField]
    /// Other properties, sorted by key.
    public var properties: [AvroJSONMember]

    /// Creates a record type.
    public init(name: AvroName, aliases: [AvroName] = [], doc: String? = nil, fields: [AvroField], properties: [AvroJSONMember] = []) {
        self.name = name
        self.aliases = aliases
        self.doc = doc
        self.fields = fields
        self.properties = properties
    }
}

/// A field's sort order (the spec's `order` attribute).
public enum AvroFieldOrder: String, Sendable, Hashable {
    case ascending, descending, ignore
}

/// A field of a record.
public struct AvroField: Sendable, Hashable {
    /// Its name. - Invariant: a valid Avro name.
    public var name: String
    /// Its type.
    public var type: AvroSchema
    /// Its default (JSON, as the spec encodes defaults), used when a writer lacks the field.
    public var defaultValue: AvroJSON?
    /// Its sort order.
    public var order: AvroFieldOrder
    /// Alternative names a writer's field may have.
    public var aliases: [String]
    /// Its documentation, if any.
    public var doc: String?
    /// Other properties, sorted by key.
    public var properties: [AvroJSONMember]

    /// Creates a field.
    public init(
        name: String, type: AvroSchema, defaultValue: AvroJSON? = nil, order: AvroFieldOrder = .ascending,
        aliases: [String] = [], doc: String? = nil, properties: [AvroJSONMember] = []
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.order = order
        self.aliases = aliases
        self.doc = doc
        self.properties = properties
    }
}

/// An enum type.
public struct AvroEnumSchema: Sendable, Hashable {
    /// Its full name.
    public var name: AvroName
    /// Alternative full names.
    public var aliases: [AvroName]
    /// Its documentation, if any.
    public var doc: String?
    /// Its symbols, in order. - Invariant: distinct valid names.
    public var symbols: [String]
    /// The symbol a reader uses for a writer's symbol it lacks. - Invariant: one of `symbols`.
    public var defaultSymbol: String?
    /// Other properties, sorted by key.
    public var properties: [AvroJSONMember]

    /// Creates an enum type.
    public init(
        name: AvroName, aliases: [AvroName] = [], doc: String? = nil, symbols: [String], defaultSymbol: String? = nil,
        properties: [AvroJSONMember] = []
    ) {
        self.name = name
        self.aliases = aliases
        self.doc = doc
        self.symbols = symbols
        self.defaultSymbol = defaultSymbol
        self.properties = properties
    }
}

/// A fixed type: exactly `size` bytes.
public struct AvroFixedSchema: Sendable, Hashable {
    /// Its full name.
    public var name: AvroName
    /// Alternative full names.
    public var aliases: [AvroName]
    /// Its documentation, if any.
    public var doc: String?
    /// Its size in bytes. - Invariant: `size >= 0`.
    public var size: Int
    /// Other properties, sorted by key.
    public var properties: [AvroJSONMember]

    /// Creates a fixed type.
    public init(name: AvroName, aliases: [AvroName] = [], doc: String? = nil, size: Int, properties: [AvroJSONMember] = []) {
        self.name = name
        self.aliases = aliases
        self.doc = doc
        self.size = size
        self.properties = properties
    }
}

/// The logical types of Avro 1.12 ("Logical Types"). A `logicalType` attribute that is
/// unknown or invalid for its physical type is kept as a plain property instead, as the
/// specification requires ("must be ignored").
public enum AvroLogicalType: Sendable, Hashable {
    /// A decimal on bytes or fixed: unscaled two's-complement big-endian integer.
    /// - Invariant: `precision > 0`, `0 <= scale <= precision`.
    case decimal(precision: Int, scale: Int)
    /// A decimal of any precision on bytes, scale carried in the value (`big-decimal`).
    case bigDecimal
    /// A UUID on string (RFC 4122 text) or fixed(16).
    case uuid
    /// Days since the Unix epoch, on int.
    case date
    /// Milliseconds after midnight, on int.
    case timeMillis
    /// Microseconds after midnight, on long.
    case timeMicros
    /// Milliseconds since the Unix epoch (UTC), on long.
    case timestampMillis
    /// Microseconds since the Unix epoch (UTC), on long.
    case timestampMicros
    /// Nanoseconds since the Unix epoch (UTC), on long.
    case timestampNanos
    /// Milliseconds since the epoch in local time, on long.
    case localTimestampMillis
    /// Microseconds since the epoch in local time, on long.
    case localTimestampMicros
    /// Nanoseconds since the epoch in local time, on long.
    case localTimestampNanos
    /// Months, days and milliseconds, three little-endian u32 in a fixed(12).
    case duration

    /// The `logicalType` attribute's value.
    public var name: String {
        switch self {
        case .decimal: "decimal"
        case .bigDecimal: "big-decimal"
        case .uuid: "uuid"
        case .date: "date"
        case .timeMillis: "time-millis"
        case .timeMicros: "time-micros"
        case .timestampMillis: "timestamp-millis"
        case .timestampMicros: "timestamp-micros"
        case .timestampNanos: "timestamp-nanos"
        case .localTimestampMillis: "local-timestamp-millis"
        case .localTimestampMicros: "local-timestamp-micros"
        case .localTimestampNanos: "local-timestamp-nanos"
        case .duration: "duration"
        }
    }
}

extension AvroSchema {
    /// The physical schema: logical types and extra properties removed.
    public var physical: AvroSchema {
        switch self {
        case .logical(_, let underlying): underlying.physical
        case .annotated(let underlying, _): underlying.physical
        default: self
        }
    }

    /// The logical type on this schema, if any (looking through extra properties).
    public var logicalType: AvroLogicalType? {
        switch self {
        case .logical(let logical, _): logical
        case .annotated(let underlying, _): underlying.logicalType
        default: nil
        }
    }

    /// The name of a named type (record, enum, fixed or reference), looking through annotations.
    public var namedTypeName: AvroName? {
        switch physical {
        case .record(let record): record.name
        case .enumeration(let enumeration): enumeration.name
        case .fixed(let fixed): fixed.name
        case .reference(let fullName): AvroName(fullName: fullName)
        default: nil
        }
    }

    /// The type's name as the specification spells it: `int`, `record`, `union`, …
    public var typeName: String {
        switch physical {
        case .null: "null"
        case .boolean: "boolean"
        case .int: "int"
        case .long: "long"
        case .float: "float"
        case .double: "double"
        case .bytes: "bytes"
        case .string: "string"
        case .record: "record"
        case .enumeration: "enum"
        case .fixed: "fixed"
        case .array: "array"
        case .map: "map"
        case .union: "union"
        case .reference(let name): name
        case .logical, .annotated: preconditionFailure("physical is never logical or annotated")
        }
    }

    /// Every named type defined in this tree, by full name (first definitions only).
    public var namedTypes: [String: AvroSchema] {
        var table: [String: AvroSchema] = [:]
        collectNamedTypes(into: &table)
        return table
    }

    func collectNamedTypes(into table: inout [String: AvroSchema]) {
        switch self {
        case .record(let record):
            guard table[record.name.fullName] == nil else { return }
            table[record.name.fullName] = self
            for field in record.fields { field.type.collectNamedTypes(into: &table) }
        case .enumeration(let enumeration):
            if table[enumeration.name.fullName] == nil { table[enumeration.name.fullName] = self }
        case .fixed(let fixed):
            if table[fixed.name.fullName] == nil { table[fixed.name.fullName] = self }
        case .array(let items): items.collectNamedTypes(into: &table)
        case .map(let values): values.collectNamedTypes(into: &table)
        case .union(let branches): for branch in branches { branch.collectNamedTypes(into: &table) }
        case .logical(_, let underlying):
            // A named fixed with a logical type is kept whole, so a reference keeps the logical type.
            if case .fixed(let fixed) = underlying, table[fixed.name.fullName] == nil {
                table[fixed.name.fullName] = self
            } else {
                underlying.collectNamedTypes(into: &table)
            }
        case .annotated(let underlying, _): underlying.collectNamedTypes(into: &table)
        case .null, .boolean, .int, .long, .float, .double, .bytes, .string, .reference: break
        }
    }
}
