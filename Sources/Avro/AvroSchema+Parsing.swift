extension AvroSchema {
    /// Parses a schema document (JSON text) per Avro 1.12; named types resolve within the document.
    ///
    /// Names, namespaces, symbols and field names are checked against the specification's
    /// grammar, named types may not be redefined, unions may not hold two branches of one
    /// unnamed type or a union, and every default must fit its field's type (a union's default
    /// may match any branch, as Avro 1.12 allows). A `logicalType` that is unknown or invalid
    /// for its physical type is kept as a property, as the specification says to ignore it.
    ///
    /// - Throws: `AvroSchemaError` naming the field path and the reason, e.g.
    ///   `field 'amount': unknown type 'dobule'`.
    public init(parsing json: String) throws(AvroSchemaError) {
        let document: AvroJSON
        do {
            document = try AvroJSON(parsing: json)
        } catch {
            throw AvroSchemaError(path: "schema", reason: "invalid JSON at byte \(error.offset): \(error.reason)")
        }
        try self.init(json: document)
    }

    /// Parses a schema from an already-parsed JSON document.
    public init(json document: AvroJSON) throws(AvroSchemaError) {
        var parser = AvroSchemaParser()
        let schema = try parser.parse(document, namespace: nil, location: .root)
        try AvroDefaultValidator(table: schema.namedTypes).validate(schema, location: .root)
        self = schema
    }
}

/// Where the parser is in a document, for errors: a dotted field path (`address.street`), with
/// `[]` for array items, `{}` for map values and `<n>` for union branch n.
struct AvroSchemaLocation {
    var text: String
    var insideField: Bool

    static let root = AvroSchemaLocation(text: "", insideField: false)

    func field(_ name: String) -> AvroSchemaLocation {
        AvroSchemaLocation(text: insideField || !text.isEmpty ? "\(text).\(name)" : name, insideField: true)
    }
    var items: AvroSchemaLocation { AvroSchemaLocation(text: text + "[]", insideField: insideField) }
    var values: AvroSchemaLocation { AvroSchemaLocation(text: text + "{}", insideField: insideField) }
    func branch(_ index: Int) -> AvroSchemaLocation { AvroSchemaLocation(text: text + "<\(index)>", insideField: insideField) }

    /// `field 'a.b'`, `schema` or `schema []`.
    var path: String {
        if insideField { return "field '\(text)'" }
        return text.isEmpty ? "schema" : "schema \(text)"
    }

    func error(_ reason: String) -> AvroSchemaError { AvroSchemaError(path: path, reason: reason) }
}

/// The specification's primitive type names.
let avroPrimitiveSchemas: [String: AvroSchema] = [
    "null": .null, "boolean": .boolean, "int": .int, "long": .long,
    "float": .float, "double": .double, "bytes": .bytes, "string": .string,
]

/// Whether `name` matches `[A-Za-z_][A-Za-z0-9_]*`.
func isValidAvroName(_ name: String) -> Bool {
    guard let first = name.utf8.first else { return false }
    func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || byte == UInt8(ascii: "_")
    }
    guard isLetter(first) else { return false }
    return name.utf8.allSatisfy { isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
}

/// Whether `namespace` is dot-separated valid names.
func isValidAvroNamespace(_ namespace: String) -> Bool {
    namespace.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isValidAvroName(String($0)) }
}

/// The largest decimal precision a fixed of `size` bytes holds: ⌊log10(2^(8·size−1) − 1)⌋.
func avroDecimalPrecisionMax(fixedSize size: Int) -> Int {
    guard size > 0 else { return 0 }
    // 2^k is never a power of ten, so ⌊log10(2^k − 1)⌋ = ⌊k·log10 2⌋; exact digits for small sizes.
    if size > 64 { return Int((Double(8 * size - 1) * 0.30102999566398120).rounded(.down)) }
    // Digits of 2^(8·size−1) − 1, computed in base 10 without overflow.
    var digits: [UInt8] = [1]
    for _ in 0..<(8 * size - 1) {
        var carry: UInt8 = 0
        for position in digits.indices {
            let doubled = digits[position] * 2 + carry
            digits[position] = doubled % 10
            carry = doubled / 10
        }
        if carry > 0 { digits.append(carry) }
    }
    // 2^k − 1 has as many digits as 2^k (a power of two never ends in 0), minus one for ⌊log10⌋.
    return digits.count - 1
}

/// Builds `AvroSchema` trees from JSON, tracking the named types defined so far. One per document.
struct AvroSchemaParser {
    var defined: Set<String> = []

    mutating func parse(_ json: AvroJSON, namespace: String?, location: AvroSchemaLocation) throws(AvroSchemaError) -> AvroSchema {
        switch json {
        case .string(let name):
            return try resolve(name, namespace: namespace, location: location)
        case .array(let branches):
            return try parseUnion(branches, namespace: namespace, location: location)
        case .object(let members):
            return try parseObject(json, members: members, namespace: namespace, location: location)
        default:
            throw location.error("a schema must be a string, an object or an array, not \(json.kindDescription)")
        }
    }

    func resolve(_ name: String, namespace: String?, location: AvroSchemaLocation) throws(AvroSchemaError) -> AvroSchema {
        if let primitive = avroPrimitiveSchemas[name] { return primitive }
        if !name.contains("."), let namespace, defined.contains("\(namespace).\(name)") {
            return .reference("\(namespace).\(name)")
        }
        if defined.contains(name) { return .reference(name) }
        throw location.error("unknown type '\(name)'")
    }

    mutating func parseUnion(_ branches: [AvroJSON], namespace: String?, location: AvroSchemaLocation) throws(AvroSchemaError) -> AvroSchema {
        var parsed: [AvroSchema] = []
        var seen: Set<String> = []
        for (index, branch) in branches.enumerated() {
            let schema = try parse(branch, namespace: namespace, location: location.branch(index))
            if case .union = schema.physical { throw location.error("a union may not directly contain another union") }
            let key = schema.namedTypeName?.fullName ?? schema.typeName
            guard seen.insert(key).inserted else { throw location.error("union has more than one '\(key)' branch") }
            parsed.append(schema)
        }
        return .union(parsed)
    }

    func string(_ object: AvroJSON, _ key: String, location: AvroSchemaLocation, what: String) throws(AvroSchemaError) -> String? {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value else {
            throw location.error("\(what) '\(key)' must be a string, not \(value.kindDescription)")
        }
        return text
    }

    func properties(_ members: [AvroJSONMember], excluding reserved: Set<String>) -> [AvroJSONMember] {
        // Values keep sorted keys too, so equal schemas compare equal whatever the spelling.
        members.filter { !reserved.contains($0.key) }.map { AvroJSONMember($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key }
    }

    mutating func parseObject(
        _ object: AvroJSON, members: [AvroJSONMember], namespace: String?, location: AvroSchemaLocation
    ) throws(AvroSchemaError) -> AvroSchema {
        guard let typeValue = object["type"] else { throw location.error("missing 'type'") }
        guard case .string(let type) = typeValue else {
            // {"type": {...}} and {"type": [...]} wrap a schema; only a field's type may be one.
            throw location.error("'type' must be a string, not \(typeValue.kindDescription)")
        }
        switch type {
        case "record", "error":
            return try parseRecord(object, members: members, namespace: namespace, location: location)
        case "enum":
            return try parseEnum(object, members: members, namespace: namespace, location: location)
        case "fixed":
            return try parseFixed(object, members: members, namespace: namespace, location: location)
        case "array":
            guard let items = object["items"] else { throw location.error("array has no 'items'") }
            let schema = AvroSchema.array(try parse(items, namespace: namespace, location: location.items))
            return annotate(schema, properties(members, excluding: ["type", "items"]))
        case "map":
            guard let values = object["values"] else { throw location.error("map has no 'values'") }
            let schema = AvroSchema.map(try parse(values, namespace: namespace, location: location.values))
            return annotate(schema, properties(members, excluding: ["type", "values"]))
        default:
            guard let primitive = avroPrimitiveSchemas[type] else {
                // {"type": "com.acme.Money"} names a defined type.
                return try resolve(type, namespace: namespace, location: location)
            }
            let (logical, reserved) = logicalType(of: object, on: primitive, fixedSize: nil)
            let extra = properties(members, excluding: reserved.union(["type"]))
            let schema = logical.map { AvroSchema.logical($0, primitive) } ?? primitive
            return annotate(schema, extra)
        }
    }

    func annotate(_ schema: AvroSchema, _ properties: [AvroJSONMember]) -> AvroSchema {
        properties.isEmpty ? schema : .annotated(schema, properties: properties)
    }

    /// The valid logical type of `object` over `physical`, and the attributes it consumes.
    func logicalType(of object: AvroJSON, on physical: AvroSchema, fixedSize: Int?) -> (AvroLogicalType?, Set<String>) {
        guard case .string(let name)? = object["logicalType"] else { return (nil, []) }
        let logical: AvroLogicalType?
        var consumed: Set<String> = ["logicalType"]
        switch (name, physical) {
        case ("decimal", .bytes), ("decimal", .fixed):
            guard case .integer(let precision)? = object["precision"], precision > 0, precision <= Int64(Int32.max) else {
                return (nil, [])
            }
            var scale: Int64 = 0
            if let scaleValue = object["scale"] {
                guard case .integer(let value) = scaleValue, value >= 0 else { return (nil, []) }
                scale = value
            }
            guard scale <= precision else { return (nil, []) }
            if let fixedSize, Int(precision) > avroDecimalPrecisionMax(fixedSize: fixedSize) { return (nil, []) }
            logical = .decimal(precision: Int(precision), scale: Int(scale))
            consumed.formUnion(["precision", "scale"])
        case ("big-decimal", .bytes): logical = .bigDecimal
        case ("uuid", .string): logical = .uuid
        case ("uuid", .fixed): logical = fixedSize == 16 ? .uuid : nil
        case ("date", .int): logical = .date
        case ("time-millis", .int): logical = .timeMillis
        case ("time-micros", .long): logical = .timeMicros
        case ("timestamp-millis", .long): logical = .timestampMillis
        case ("timestamp-micros", .long): logical = .timestampMicros
        case ("timestamp-nanos", .long): logical = .timestampNanos
        case ("local-timestamp-millis", .long): logical = .localTimestampMillis
        case ("local-timestamp-micros", .long): logical = .localTimestampMicros
        case ("local-timestamp-nanos", .long): logical = .localTimestampNanos
        case ("duration", .fixed): logical = fixedSize == 12 ? .duration : nil
        default: logical = nil
        }
        return logical == nil ? (nil, []) : (logical, consumed)
    }

    mutating func parseName(
        _ object: AvroJSON, kind: String, namespace: String?, location: AvroSchemaLocation
    ) throws(AvroSchemaError) -> (AvroName, [AvroName], String?) {
        guard let name = try string(object, "name", location: location, what: kind) else {
            throw location.error("\(kind) has no 'name'")
        }
        let explicitNamespace = try string(object, "namespace", location: location, what: kind)
        let fullName: AvroName
        if name.contains(".") {
            fullName = AvroName(fullName: name)
        } else {
            fullName = AvroName(name: name, namespace: explicitNamespace ?? namespace)
        }
        guard isValidAvroName(fullName.name) else { throw location.error("invalid \(kind) name '\(name)'") }
        if let space = fullName.namespace, !isValidAvroNamespace(space) {
            throw location.error("invalid namespace '\(space)' of \(kind) '\(name)'")
        }
        if fullName.namespace == nil, avroPrimitiveSchemas[fullName.name] != nil {
            throw location.error("\(kind) may not be named after the primitive type '\(fullName.name)'")
        }
        guard defined.insert(fullName.fullName).inserted else {
            throw location.error("redefinition of the named type '\(fullName.fullName)'")
        }
        var aliases: [AvroName] = []
        if let value = object["aliases"] {
            guard case .array(let entries) = value else { throw location.error("'aliases' of \(kind) '\(name)' must be an array") }
            for entry in entries {
                guard case .string(let alias) = entry else {
                    throw location.error("'aliases' of \(kind) '\(name)' must hold strings")
                }
                let aliasName = alias.contains(".") ? AvroName(fullName: alias) : AvroName(name: alias, namespace: fullName.namespace)
                guard isValidAvroName(aliasName.name), aliasName.namespace.map(isValidAvroNamespace) ?? true else {
                    throw location.error("invalid alias '\(alias)' of \(kind) '\(name)'")
                }
                aliases.append(aliasName)
            }
        }
        let doc = try string(object, "doc", location: location, what: kind)
        return (fullName, aliases, doc)
    }

    mutating func parseRecord(
        _ object: AvroJSON, members: [AvroJSONMember], namespace: String?, location: AvroSchemaLocation
    ) throws(AvroSchemaError) -> AvroSchema {
        let (name, aliases, doc) = try parseName(object, kind: "record", namespace: namespace, location: location)
        guard let fieldsValue = object["fields"] else { throw location.error("record '\(name)' has no 'fields'") }
        guard case .array(let fieldObjects) = fieldsValue else {
            throw location.error("'fields' of record '\(name)' must be an array, not \(fieldsValue.kindDescription)")
        }
        var fields: [AvroField] = []
        var fieldNames: Set<String> = []
        for (position, fieldObject) in fieldObjects.enumerated() {
            guard case .object(let fieldMembers) = fieldObject else {
                throw location.error("field \(position) of record '\(name)' must be an object")
            }
            guard let fieldName = try string(fieldObject, "name", location: location, what: "field") else {
                throw location.error("field \(position) of record '\(name)' has no 'name'")
            }
            let fieldLocation = location.field(fieldName)
            guard isValidAvroName(fieldName) else { throw fieldLocation.error("invalid field name '\(fieldName)'") }
            guard fieldNames.insert(fieldName).inserted else {
                throw fieldLocation.error("duplicate field '\(fieldName)' in record '\(name)'")
            }
            guard let typeValue = fieldObject["type"] else { throw fieldLocation.error("missing 'type'") }
            let type = try parse(typeValue, namespace: name.namespace, location: fieldLocation)
            var order = AvroFieldOrder.ascending
            if let orderText = try string(fieldObject, "order", location: fieldLocation, what: "field") {
                guard let parsed = AvroFieldOrder(rawValue: orderText) else {
                    throw fieldLocation.error("invalid order '\(orderText)' (ascending, descending or ignore)")
                }
                order = parsed
            }
            var fieldAliases: [String] = []
            if let value = fieldObject["aliases"] {
                guard case .array(let entries) = value else { throw fieldLocation.error("'aliases' must be an array") }
                for entry in entries {
                    guard case .string(let alias) = entry, isValidAvroName(alias) else {
                        throw fieldLocation.error("invalid alias \(entry.compactText)")
                    }
                    fieldAliases.append(alias)
                }
            }
            let fieldDoc = try string(fieldObject, "doc", location: fieldLocation, what: "field")
            fields.append(
                AvroField(
                    name: fieldName, type: type, defaultValue: fieldObject["default"]?.sortedKeys, order: order, aliases: fieldAliases,
                    doc: fieldDoc,
                    properties: properties(fieldMembers, excluding: ["name", "type", "default", "order", "aliases", "doc"])
                )
            )
        }
        let extra = properties(members, excluding: ["type", "name", "namespace", "doc", "aliases", "fields"])
        return .record(AvroRecordSchema(name: name, aliases: aliases, doc: doc, fields: fields, properties: extra))
    }

    mutating func parseEnum(
        _ object: AvroJSON, members: [AvroJSONMember], namespace: String?, location: AvroSchemaLocation
    ) throws(AvroSchemaError) -> AvroSchema {
        let (name, aliases, doc) = try parseName(object, kind: "enum", namespace: namespace, location: location)
        guard let symbolsValue = object["symbols"] else { throw location.error("enum '\(name)' has no 'symbols'") }
        guard case .array(let entries) = symbolsValue else { throw location.error("'symbols' of enum '\(name)' must be an array") }
        var symbols: [String] = []
        var seen: Set<String> = []
        for entry in entries {
            guard case .string(let symbol) = entry, isValidAvroName(symbol) else {
                throw location.error("invalid symbol \(entry.compactText) in enum '\(name)'")
            }
            guard seen.insert(symbol).inserted else { throw location.error("duplicate symbol '\(symbol)' in enum '\(name)'") }
            symbols.append(symbol)
        }
        var defaultSymbol: String?
        if let value = object["default"] {
            guard case .string(let symbol) = value, seen.contains(symbol) else {
                throw location.error("default \(value.compactText) of enum '\(name)' is not one of its symbols")
            }
            defaultSymbol = symbol
        }
        let extra = properties(members, excluding: ["type", "name", "namespace", "doc", "aliases", "symbols", "default"])
        return .enumeration(
            AvroEnumSchema(name: name, aliases: aliases, doc: doc, symbols: symbols, defaultSymbol: defaultSymbol, properties: extra)
        )
    }

    mutating func parseFixed(
        _ object: AvroJSON, members: [AvroJSONMember], namespace: String?, location: AvroSchemaLocation
    ) throws(AvroSchemaError) -> AvroSchema {
        let (name, aliases, doc) = try parseName(object, kind: "fixed", namespace: namespace, location: location)
        guard let sizeValue = object["size"] else { throw location.error("fixed '\(name)' has no 'size'") }
        guard case .integer(let size) = sizeValue, size >= 0, size <= Int64(Int32.max) else {
            throw location.error("'size' of fixed '\(name)' must be a non-negative integer, not \(sizeValue.compactText)")
        }
        let placeholder = AvroSchema.fixed(AvroFixedSchema(name: name, size: Int(size)))
        let (logical, consumed) = logicalType(of: object, on: placeholder, fixedSize: Int(size))
        let extra = properties(members, excluding: consumed.union(["type", "name", "namespace", "doc", "aliases", "size"]))
        let fixed = AvroSchema.fixed(AvroFixedSchema(name: name, aliases: aliases, doc: doc, size: Int(size), properties: extra))
        return logical.map { .logical($0, fixed) } ?? fixed
    }
}
