extension AvroSchema {
    /// The whole schema as compact JSON (no whitespace, attributes in a fixed order, defaults, aliases,
    /// doc, logicalType and other properties kept): two documents that mean the same schema give the same
    /// string. The schema registry uses it as a schema's identity and returns it as the `schema` string.
    ///
    /// Attribute order: `type`, `name` (the full name; `"namespace":""` only where a type in
    /// the null namespace sits inside a namespaced one), `doc`, `aliases` (full names), then
    /// `fields` / `symbols` / `items` / `values` / `size`, the enum `default`, `logicalType`,
    /// `precision`, `scale`, then other properties by key. A field: `name`, `type`, `default`,
    /// `order` (unless ascending), `aliases`, `doc`, other properties by key. Object keys inside
    /// defaults and property values are sorted. Parsing the result gives back an equal schema.
    public var normalizedJSON: String {
        var out = ""
        writeNormalized(to: &out, enclosingNamespace: nil)
        return out
    }

    func writeNormalized(to out: inout String, enclosingNamespace: String?) {
        switch self {
        case .null, .boolean, .int, .long, .float, .double, .bytes, .string:
            out += "\"\(typeName)\""
        case .reference(let fullName):
            AvroJSON.writeString(fullName, to: &out)
        case .record(let record):
            AvroSchema.writeNameHeader("record", record.name, record.doc, record.aliases, enclosingNamespace, to: &out)
            out += ",\"fields\":["
            for (position, field) in record.fields.enumerated() {
                if position > 0 { out += "," }
                out += "{\"name\":"
                AvroJSON.writeString(field.name, to: &out)
                out += ",\"type\":"
                field.type.writeNormalized(to: &out, enclosingNamespace: record.name.namespace)
                if let value = field.defaultValue {
                    out += ",\"default\":"
                    value.sortedKeys.write(to: &out)
                }
                if field.order != .ascending { out += ",\"order\":\"\(field.order.rawValue)\"" }
                if !field.aliases.isEmpty {
                    out += ",\"aliases\":"
                    AvroJSON.array(field.aliases.map(AvroJSON.string)).write(to: &out)
                }
                if let doc = field.doc {
                    out += ",\"doc\":"
                    AvroJSON.writeString(doc, to: &out)
                }
                AvroSchema.writeProperties(field.properties, to: &out)
                out += "}"
            }
            out += "]"
            AvroSchema.writeProperties(record.properties, to: &out)
            out += "}"
        case .enumeration(let enumeration):
            AvroSchema.writeNameHeader("enum", enumeration.name, enumeration.doc, enumeration.aliases, enclosingNamespace, to: &out)
            out += ",\"symbols\":"
            AvroJSON.array(enumeration.symbols.map(AvroJSON.string)).write(to: &out)
            if let symbol = enumeration.defaultSymbol {
                out += ",\"default\":"
                AvroJSON.writeString(symbol, to: &out)
            }
            AvroSchema.writeProperties(enumeration.properties, to: &out)
            out += "}"
        case .fixed(let fixed):
            writeFixed(fixed, logical: nil, to: &out, enclosingNamespace: enclosingNamespace)
        case .array(let items):
            writeContainer("array", "items", items, properties: [], to: &out, enclosingNamespace: enclosingNamespace)
        case .map(let values):
            writeContainer("map", "values", values, properties: [], to: &out, enclosingNamespace: enclosingNamespace)
        case .union(let branches):
            out += "["
            for (position, branch) in branches.enumerated() {
                if position > 0 { out += "," }
                branch.writeNormalized(to: &out, enclosingNamespace: enclosingNamespace)
            }
            out += "]"
        case .logical(let logical, let underlying):
            if case .fixed(let fixed) = underlying {
                writeFixed(fixed, logical: logical, to: &out, enclosingNamespace: enclosingNamespace)
            } else {
                AvroSchema.writeAnnotatedPrimitive(underlying, logical: logical, properties: [], to: &out)
            }
        case .annotated(let underlying, let properties):
            switch underlying {
            case .array(let items):
                writeContainer("array", "items", items, properties: properties, to: &out, enclosingNamespace: enclosingNamespace)
            case .map(let values):
                writeContainer("map", "values", values, properties: properties, to: &out, enclosingNamespace: enclosingNamespace)
            case .logical(let logical, let primitive):
                AvroSchema.writeAnnotatedPrimitive(primitive, logical: logical, properties: properties, to: &out)
            default:
                AvroSchema.writeAnnotatedPrimitive(underlying, logical: nil, properties: properties, to: &out)
            }
        }
    }

    func writeContainer(
        _ type: String, _ key: String, _ element: AvroSchema, properties: [AvroJSONMember], to out: inout String,
        enclosingNamespace: String?
    ) {
        out += "{\"type\":\"\(type)\",\"\(key)\":"
        element.writeNormalized(to: &out, enclosingNamespace: enclosingNamespace)
        AvroSchema.writeProperties(properties, to: &out)
        out += "}"
    }

    func writeFixed(_ fixed: AvroFixedSchema, logical: AvroLogicalType?, to out: inout String, enclosingNamespace: String?) {
        AvroSchema.writeNameHeader("fixed", fixed.name, fixed.doc, fixed.aliases, enclosingNamespace, to: &out)
        out += ",\"size\":\(fixed.size)"
        if let logical { AvroSchema.writeLogical(logical, to: &out) }
        AvroSchema.writeProperties(fixed.properties, to: &out)
        out += "}"
    }

    static func writeAnnotatedPrimitive(_ primitive: AvroSchema, logical: AvroLogicalType?, properties: [AvroJSONMember], to out: inout String) {
        out += "{\"type\":\"\(primitive.typeName)\""
        if let logical { writeLogical(logical, to: &out) }
        writeProperties(properties, to: &out)
        out += "}"
    }

    static func writeLogical(_ logical: AvroLogicalType, to out: inout String) {
        out += ",\"logicalType\":\"\(logical.name)\""
        if case .decimal(let precision, let scale) = logical {
            out += ",\"precision\":\(precision),\"scale\":\(scale)"
        }
    }

    static func writeNameHeader(
        _ type: String, _ name: AvroName, _ doc: String?, _ aliases: [AvroName], _ enclosingNamespace: String?, to out: inout String
    ) {
        out += "{\"type\":\"\(type)\",\"name\":"
        AvroJSON.writeString(name.fullName, to: &out)
        if name.namespace == nil, enclosingNamespace != nil { out += ",\"namespace\":\"\"" }
        if let doc {
            out += ",\"doc\":"
            AvroJSON.writeString(doc, to: &out)
        }
        if !aliases.isEmpty {
            out += ",\"aliases\":"
            AvroJSON.array(aliases.map { .string($0.fullName) }).write(to: &out)
        }
    }

    static func writeProperties(_ properties: [AvroJSONMember], to out: inout String) {
        for property in properties.sorted(by: { $0.key < $1.key }) {
            out += ","
            AvroJSON.writeString(property.key, to: &out)
            out += ":"
            property.value.sortedKeys.write(to: &out)
        }
    }
}

extension AvroJSON {
    /// This value with every object's members sorted by key, recursively.
    public var sortedKeys: AvroJSON {
        switch self {
        case .array(let elements): .array(elements.map(\.sortedKeys))
        case .object(let members):
            .object(members.map { AvroJSONMember($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key })
        default: self
        }
    }
}
