/// The wire type of a field of a Kafka message, as its JSON definition names it
/// (`int32`, `string`, `[]int32`, `[]SomeStruct`, `SomeStruct`).
///
/// `records` is Kafka's record-batch blob: a byte string this layer never parses.
/// Thread-safe (immutable).
package indirect enum KafkaFieldType: Sendable {
    case int8, int16, int32, int64, uint16, uint32, float64, bool, uuid, string, bytes, records
    /// An array whose elements all have the element type.
    case array(of: KafkaFieldType)
    /// A nested struct, inline on the wire.
    case structure(KafkaStructSchema)

    /// The value a field of this type takes when its definition gives no default: zero,
    /// false, the zero UUID, the empty string or byte string, null records, the empty array,
    /// or a struct of its fields' defaults (Kafka's generator's rules).
    package var implicitDefault: KafkaValue {
        switch self {
        case .int8: .int8(0)
        case .int16: .int16(0)
        case .int32: .int32(0)
        case .int64: .int64(0)
        case .uint16: .uint16(0)
        case .uint32: .uint32(0)
        case .float64: .float64(0)
        case .bool: .bool(false)
        case .uuid: .uuid(.zero)
        case .string: .string("")
        case .bytes: .bytes([])
        case .records: .records(nil)
        case .array: .array([])
        case .structure(let schema): .structure(KafkaStruct(defaultsOf: schema))
        }
    }

    /// Whether `value` has this type (for arrays: every element has the element type; for
    /// structs: the same schema). Null is admitted here; nullability is the field's business.
    package func admits(_ value: KafkaValue) -> Bool {
        switch (self, value) {
        case (.int8, .int8), (.int16, .int16), (.int32, .int32), (.int64, .int64), (.uint16, .uint16),
             (.uint32, .uint32), (.float64, .float64), (.bool, .bool), (.uuid, .uuid), (.string, .string),
             (.bytes, .bytes), (.records, .records):
            return true
        case (.array(let element), .array(let elements)):
            return elements?.allSatisfy { element.admits($0) && !$0.isNull } ?? true
        case (.structure(let schema), .structure(let value)):
            return value.map { $0.schema === schema } ?? true
        default:
            return false
        }
    }

    /// Kafka's spelling of the type (`[]int32`, `MetadataRequestTopic`).
    package var kafkaName: String {
        switch self {
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .float64: "float64"
        case .bool: "bool"
        case .uuid: "uuid"
        case .string: "string"
        case .bytes: "bytes"
        case .records: "records"
        case .array(let element): "[]" + element.kafkaName
        case .structure(let schema): schema.name
        }
    }
}
