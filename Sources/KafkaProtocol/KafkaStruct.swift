/// A value of a Kafka struct (a message body or a nested struct): one value per field of its
/// schema, by position, plus the tagged fields the decoder did not know (kept as raw bytes so
/// that re-encoding reproduces them).
///
/// A value holds every field of every version; encoding at a version writes the fields that
/// version has, and decoding sets those and leaves the others at their defaults.
///
/// - Invariant: `values[i]` has the type of `schema.fields[i]` (checked on every set).
/// Thread-safe (a value; the schema is immutable).
package struct KafkaStruct: Sendable, Equatable, CustomStringConvertible {
    /// The struct's schema.
    package let schema: KafkaStructSchema
    /// The fields' values, in the schema's field order.
    package private(set) var values: [KafkaValue]
    /// Tagged fields the schema does not know, in the order they were read.
    package var unknownTaggedFields: [KafkaTaggedField]

    /// A value with every field at its default.
    package init(defaultsOf schema: KafkaStructSchema) {
        self.schema = schema
        self.values = schema.defaultValues
        self.unknownTaggedFields = []
    }

    /// The value of the field named `name`.
    ///
    /// - Precondition: the schema has that field, and a new value has the field's type.
    package subscript(name: String) -> KafkaValue {
        get { values[schema.index(of: name)] }
        set { self[fieldAt: schema.index(of: name)] = newValue }
    }

    /// The value of the field at `index` in the schema.
    ///
    /// - Precondition: a new value has the field's type.
    package subscript(fieldAt index: Int) -> KafkaValue {
        get { values[index] }
        set {
            let field = schema.fields[index]
            precondition(field.type.admits(newValue), "\(schema.name).\(field.name) is a \(field.type.kafkaName), not \(newValue)")
            values[index] = newValue
        }
    }

    /// Sets a field the codec decoded, which has the field's type by construction (the
    /// decoder reads each field by its schema type), without the per-set type walk.
    mutating func setDecoded(_ value: KafkaValue, at index: Int) {
        values[index] = value
    }

    /// Same schema, same values, same unknown tagged fields.
    package static func == (lhs: KafkaStruct, rhs: KafkaStruct) -> Bool {
        lhs.schema === rhs.schema && lhs.values == rhs.values && lhs.unknownTaggedFields == rhs.unknownTaggedFields
    }

    /// `Name{field: value, ...}`, for test failures and logs.
    package var description: String {
        let fields = zip(schema.fields, values).map { "\($0.name): \($1)" }.joined(separator: ", ")
        return "\(schema.name){\(fields)}"
    }
}

/// A tagged field as raw bytes: its tag and its encoded value.
/// Thread-safe (a value).
package struct KafkaTaggedField: Sendable, Equatable {
    /// The field's tag.
    package var tag: UInt32
    /// The field's encoded value (without the tag and size prefix).
    package var bytes: [UInt8]

    /// A tagged field.
    package init(tag: UInt32, bytes: [UInt8]) {
        self.tag = tag
        self.bytes = bytes
    }
}
