/// Typed reads and writes by field name, for the layers above the codec.
///
/// ```swift
/// var response = KafkaStruct.response(.metadata)
/// response.set("throttleTimeMs", 0)
/// var topic = response.makeElement("topics")
/// topic.set("name", request.string("name"))
/// response.set("topics", [topic])
/// ```
///
/// Field names and types are fixed by the schema, so a misspelt name or a wrong type is a
/// programming error (`precondition`). Null is data: the non-optional reads (`string`,
/// `bytes`, `array`, …) are only for fields that are never nullable in any version, so they
/// can never meet a null a client sent; nullable fields are read with the `nullable…` reads.
extension KafkaStruct {
    /// A request body of `api` with every field at its default.
    package static func request(_ api: KafkaAPI) -> KafkaStruct { KafkaStruct(defaultsOf: api.requestSchema.body) }

    /// A response body of `api` with every field at its default.
    package static func response(_ api: KafkaAPI) -> KafkaStruct { KafkaStruct(defaultsOf: api.responseSchema.body) }

    /// A new element of the struct array (or the struct) `name`, every field at its default.
    package func makeElement(_ name: String) -> KafkaStruct {
        let field = schema.fields[schema.index(of: name)]
        switch field.type {
        case .structure(let element), .array(of: .structure(let element)):
            return KafkaStruct(defaultsOf: element)
        default:
            preconditionFailure("\(schema.name).\(name) is a \(field.type.kafkaName), not a struct or struct array")
        }
    }

    // MARK: Reads

    /// The int8 field `name`.
    package func int8(_ name: String) -> Int8 {
        guard case .int8(let value) = self[name] else { mismatch(name, "int8") }
        return value
    }

    /// The int16 field `name`.
    package func int16(_ name: String) -> Int16 {
        guard case .int16(let value) = self[name] else { mismatch(name, "int16") }
        return value
    }

    /// The int32 field `name`.
    package func int32(_ name: String) -> Int32 {
        guard case .int32(let value) = self[name] else { mismatch(name, "int32") }
        return value
    }

    /// The int64 field `name`.
    package func int64(_ name: String) -> Int64 {
        guard case .int64(let value) = self[name] else { mismatch(name, "int64") }
        return value
    }

    /// The uint16 field `name`.
    package func uint16(_ name: String) -> UInt16 {
        guard case .uint16(let value) = self[name] else { mismatch(name, "uint16") }
        return value
    }

    /// The uint32 field `name`.
    package func uint32(_ name: String) -> UInt32 {
        guard case .uint32(let value) = self[name] else { mismatch(name, "uint32") }
        return value
    }

    /// The float64 field `name`.
    package func float64(_ name: String) -> Double {
        guard case .float64(let value) = self[name] else { mismatch(name, "float64") }
        return value
    }

    /// The bool field `name`.
    package func bool(_ name: String) -> Bool {
        guard case .bool(let value) = self[name] else { mismatch(name, "bool") }
        return value
    }

    /// The uuid field `name`.
    package func uuid(_ name: String) -> KafkaUUID {
        guard case .uuid(let value) = self[name] else { mismatch(name, "uuid") }
        return value
    }

    /// The string field `name`, which is never nullable.
    package func string(_ name: String) -> String {
        requireNeverNullable(name)
        guard case .string(let value?) = self[name] else { mismatch(name, "string") }
        return value
    }

    /// The string field `name`, null where the client sent null.
    package func nullableString(_ name: String) -> String? {
        guard case .string(let value) = self[name] else { mismatch(name, "string") }
        return value
    }

    /// The bytes field `name`, which is never nullable.
    package func bytes(_ name: String) -> [UInt8] {
        requireNeverNullable(name)
        guard case .bytes(let value?) = self[name] else { mismatch(name, "bytes") }
        return value
    }

    /// The bytes field `name`, null where the client sent null.
    package func nullableBytes(_ name: String) -> [UInt8]? {
        guard case .bytes(let value) = self[name] else { mismatch(name, "bytes") }
        return value
    }

    /// The records field `name` (a record-batch blob, unparsed), null where it was null.
    package func records(_ name: String) -> [UInt8]? {
        guard case .records(let value) = self[name] else { mismatch(name, "records") }
        return value
    }

    /// The struct array `name`, which is never nullable.
    package func array(_ name: String) -> [KafkaStruct] {
        requireNeverNullable(name)
        return nullableArray(name) ?? []
    }

    /// The struct array `name`, null where the client sent null.
    package func nullableArray(_ name: String) -> [KafkaStruct]? {
        guard case .array(let elements) = self[name] else { mismatch(name, "array") }
        return elements.map { elements in
            elements.map { element in
                guard case .structure(let value?) = element else { mismatch(name, "struct array") }
                return value
            }
        }
    }

    /// The int32 array `name` (never nullable).
    package func int32Array(_ name: String) -> [Int32] {
        scalars(name) { if case .int32(let value) = $0 { value } else { nil } }
    }

    /// The int64 array `name` (never nullable).
    package func int64Array(_ name: String) -> [Int64] {
        scalars(name) { if case .int64(let value) = $0 { value } else { nil } }
    }

    /// The string array `name` (never nullable).
    package func stringArray(_ name: String) -> [String] {
        scalars(name) { if case .string(let value?) = $0 { value } else { nil } }
    }

    /// The nested struct `name`.
    package func structure(_ name: String) -> KafkaStruct {
        guard case .structure(let value?) = self[name] else { mismatch(name, "struct") }
        return value
    }

    // MARK: Writes

    /// Sets the integer field `name` (whatever its width) to `value`.
    ///
    /// - Precondition: the field is an integer field and `value` fits its width.
    package mutating func set(_ name: String, _ value: some BinaryInteger) {
        let index = schema.index(of: name)
        let converted: KafkaValue? =
            switch schema.fields[index].type {
            case .int8: Int8(exactly: value).map(KafkaValue.int8)
            case .int16: Int16(exactly: value).map(KafkaValue.int16)
            case .int32: Int32(exactly: value).map(KafkaValue.int32)
            case .int64: Int64(exactly: value).map(KafkaValue.int64)
            case .uint16: UInt16(exactly: value).map(KafkaValue.uint16)
            case .uint32: UInt32(exactly: value).map(KafkaValue.uint32)
            default: mismatch(name, "integer")
            }
        guard let converted else {
            preconditionFailure("\(value) does not fit \(schema.name).\(name), a \(schema.fields[index].type.kafkaName)")
        }
        self[fieldAt: index] = converted
    }

    /// Sets the bool field `name`.
    package mutating func set(_ name: String, _ value: Bool) { self[name] = .bool(value) }

    /// Sets the float64 field `name`.
    package mutating func set(_ name: String, float64 value: Double) { self[name] = .float64(value) }

    /// Sets the uuid field `name`.
    package mutating func set(_ name: String, _ value: KafkaUUID) { self[name] = .uuid(value) }

    /// Sets the string field `name` (nil for null).
    package mutating func set(_ name: String, _ value: String?) { self[name] = .string(value) }

    /// Sets the bytes or records field `name` (nil for null).
    package mutating func set(_ name: String, bytes value: [UInt8]?) {
        let index = schema.index(of: name)
        if case .records = schema.fields[index].type {
            self[fieldAt: index] = .records(value)
        } else {
            self[fieldAt: index] = .bytes(value)
        }
    }

    /// Sets the struct array `name` (nil for null).
    package mutating func set(_ name: String, _ elements: [KafkaStruct]?) {
        self[name] = .array(elements.map { $0.map { KafkaValue.structure($0) } })
    }

    /// Sets the nested struct `name`.
    package mutating func set(_ name: String, _ value: KafkaStruct) { self[name] = .structure(value) }

    /// Sets the integer array `name`, converting to its element width.
    ///
    /// - Precondition: `name` is an integer array and every value fits its element width.
    package mutating func set<Element: BinaryInteger>(_ name: String, _ elements: [Element]) {
        let index = schema.index(of: name)
        guard case .array(of: let elementType) = schema.fields[index].type else { mismatch(name, "integer array") }
        self[fieldAt: index] = .array(elements.map { value -> KafkaValue in
            let converted: KafkaValue? =
                switch elementType {
                case .int8: Int8(exactly: value).map(KafkaValue.int8)
                case .int16: Int16(exactly: value).map(KafkaValue.int16)
                case .int32: Int32(exactly: value).map(KafkaValue.int32)
                case .int64: Int64(exactly: value).map(KafkaValue.int64)
                case .uint16: UInt16(exactly: value).map(KafkaValue.uint16)
                case .uint32: UInt32(exactly: value).map(KafkaValue.uint32)
                default: mismatch(name, "integer array")
                }
            guard let converted else { preconditionFailure("\(value) does not fit an element of \(schema.name).\(name)") }
            return converted
        })
    }

    /// Sets the string array `name`.
    package mutating func set(_ name: String, _ elements: [String]) {
        self[name] = .array(elements.map { KafkaValue.string($0) })
    }

    /// Sets the nullable field `name` to null.
    ///
    /// - Precondition: the field is a string, bytes, records, array or struct field.
    package mutating func setNull(_ name: String) {
        let index = schema.index(of: name)
        let null: KafkaValue =
            switch schema.fields[index].type {
            case .string: .string(nil)
            case .bytes: .bytes(nil)
            case .records: .records(nil)
            case .array: .array(nil)
            case .structure: .structure(nil)
            default: mismatch(name, "nullable type")
            }
        self[fieldAt: index] = null
    }

    // MARK: Helpers

    private func scalars<Element>(_ name: String, _ unwrap: (KafkaValue) -> Element?) -> [Element] {
        requireNeverNullable(name)
        guard case .array(let elements) = self[name] else { mismatch(name, "array") }
        return (elements ?? []).map { element in
            guard let value = unwrap(element) else { mismatch(name, "array of that type") }
            return value
        }
    }

    private func requireNeverNullable(_ name: String) {
        precondition(
            !schema.fields[schema.index(of: name)].isNullableInSomeVersion,
            "\(schema.name).\(name) is nullable in some version: read it with a nullable… accessor")
    }

    private func mismatch(_ name: String, _ expected: String) -> Never {
        preconditionFailure("\(schema.name).\(name) is a \(schema.fields[schema.index(of: name)].type.kafkaName), not \(expected)")
    }
}
