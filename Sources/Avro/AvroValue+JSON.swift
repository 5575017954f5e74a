extension AvroValue {
    /// Reads a value from Avro's JSON encoding (spec, "JSON Encoding"): a union other than
    /// null is `{"branch type name": value}` (a named type by its full name), bytes and fixed
    /// are strings of code points 0-255, an enum is its symbol.
    public init(json: AvroJSON, schema: AvroSchema) throws(AvroCodecError) {
        try self.init(json: json, schema: schema, types: schema.namedTypes, unionsWrapped: true)
    }

    /// Reads a value from Avro's JSON encoding in text.
    public init(jsonText: String, schema: AvroSchema) throws(AvroCodecError) {
        let json: AvroJSON
        do {
            json = try AvroJSON(parsing: jsonText)
        } catch {
            throw AvroCodecError(.mismatch("invalid JSON: \(error.reason)"), offset: error.offset)
        }
        try self.init(json: json, schema: schema)
    }

    /// The value in Avro's JSON encoding, as `init(json:schema:)` reads it.
    /// - Throws: `AvroCodecError` when the value does not fit `schema`.
    public func json(schema: AvroSchema) throws(AvroCodecError) -> AvroJSON {
        try json(schema: schema, types: schema.namedTypes, path: "")
    }

    /// The value in Avro's JSON encoding, as compact text.
    public func jsonText(schema: AvroSchema) throws(AvroCodecError) -> String {
        try json(schema: schema).compactText
    }

    /// Reads `json` as a value of `schema`: Avro's JSON encoding when `unionsWrapped`, else
    /// the spec's encoding of field defaults (a union's value bare, taken by the first branch
    /// it fits).
    init(json: AvroJSON, schema: AvroSchema, types: [String: AvroSchema], unionsWrapped: Bool, path: String = "") throws(AvroCodecError) {
        func mismatch(_ what: String) -> AvroCodecError {
            AvroCodecError(.mismatch("\(json.compactText) is not \(what)"), offset: 0, path: path)
        }
        func byteString(_ text: String) throws(AvroCodecError) -> [UInt8] {
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xFF else { throw mismatch("a string of code points 0-255") }
                bytes.append(UInt8(scalar.value))
            }
            return bytes
        }
        func floating(_ json: AvroJSON) -> Double? {
            switch json {
            case .integer(let value): Double(value)
            case .number(let value): value
            case .string("NaN"): Double.nan
            case .string("Infinity"): Double.infinity
            case .string("-Infinity"): -Double.infinity
            default: nil
            }
        }
        let physical = AvroPlanBuilder.resolve(schema, in: types)
        switch (physical, json) {
        case (.null, .null): self = .null
        case (.boolean, .bool(let value)): self = .boolean(value)
        case (.int, .integer(let value)):
            guard let int = Int32(exactly: value) else { throw mismatch("an int") }
            self = .int(int)
        case (.long, .integer(let value)): self = .long(value)
        case (.float, _):
            guard let value = floating(json) else { throw mismatch("a float") }
            self = .float(Float(value))
        case (.double, _):
            guard let value = floating(json) else { throw mismatch("a double") }
            self = .double(value)
        case (.bytes, .string(let text)): self = .bytes(try byteString(text))
        case (.string, .string(let text)): self = .string(text)
        case (.fixed(let fixed), .string(let text)):
            let bytes = try byteString(text)
            guard bytes.count == fixed.size else { throw mismatch("\(fixed.size) bytes for fixed '\(fixed.name)'") }
            self = .fixed(bytes)
        case (.enumeration(let enumeration), .string(let symbol)):
            guard let index = enumeration.symbols.firstIndex(of: symbol) else { throw mismatch("a symbol of enum '\(enumeration.name)'") }
            self = .enumeration(index)
        case (.array(let items), .array(let elements)):
            var values: [AvroValue] = []
            for (position, element) in elements.enumerated() {
                values.append(try AvroValue(json: element, schema: items, types: types, unionsWrapped: unionsWrapped, path: "\(path)[\(position)]"))
            }
            self = .array(values)
        case (.map(let valueSchema), .object(let members)):
            var entries: [AvroMapEntry] = []
            for member in members {
                let value = try AvroValue(json: member.value, schema: valueSchema, types: types, unionsWrapped: unionsWrapped, path: "\(path){\(member.key)}")
                entries.append(AvroMapEntry(member.key, value))
            }
            self = .map(entries)
        case (.record(let record), .object):
            var fields: [AvroValue] = []
            for field in record.fields {
                let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
                if let member = json[field.name] {
                    fields.append(try AvroValue(json: member, schema: field.type, types: types, unionsWrapped: unionsWrapped, path: fieldPath))
                } else if let fallback = field.defaultValue {
                    fields.append(try AvroValue(json: fallback, schema: field.type, types: types, unionsWrapped: false, path: fieldPath))
                } else {
                    throw AvroCodecError(.mismatch("missing field '\(field.name)' of record '\(record.name)'"), offset: 0, path: path)
                }
            }
            self = .record(fields)
        case (.union(let branches), _):
            if unionsWrapped {
                if json == .null, let index = branches.firstIndex(where: { $0.physical == .null }) {
                    self = .union(index, .null)
                    return
                }
                guard case .object(let members) = json, members.count == 1 else {
                    throw mismatch("a union value ({\"type\": value} or null)")
                }
                let name = members[0].key
                guard let index = branches.firstIndex(where: { AvroValue.unionBranchName($0) == name }) else {
                    throw mismatch("a union value: no branch '\(name)'")
                }
                self = .union(index, try AvroValue(json: members[0].value, schema: branches[index], types: types, unionsWrapped: true, path: path))
            } else {
                for (index, branch) in branches.enumerated() {
                    if let value = try? AvroValue(json: json, schema: branch, types: types, unionsWrapped: false, path: path) {
                        self = .union(index, value)
                        return
                    }
                }
                throw mismatch("a value of any branch of the union")
            }
        default:
            throw mismatch("a \(physical.typeName)")
        }
    }

    /// The name a union branch goes by in the JSON encoding: a named type's full name, else
    /// the type's name (`int`, `array`, `map`).
    static func unionBranchName(_ branch: AvroSchema) -> String {
        branch.namedTypeName?.fullName ?? branch.typeName
    }

    func json(schema: AvroSchema, types: [String: AvroSchema], path: String) throws(AvroCodecError) -> AvroJSON {
        func mismatch() -> AvroCodecError {
            AvroCodecError(.mismatch("the value does not fit the schema's \(schema.typeName)"), offset: 0, path: path)
        }
        func byteString(_ bytes: [UInt8]) -> AvroJSON {
            var text = String.UnicodeScalarView()
            for byte in bytes { text.append(Unicode.Scalar(byte)) }
            return .string(String(text))
        }
        switch (AvroPlanBuilder.resolve(schema, in: types), self) {
        case (.null, .null): return .null
        case (.boolean, .boolean(let value)): return .bool(value)
        case (.int, .int(let value)): return .integer(Int64(value))
        case (.long, .long(let value)): return .integer(value)
        case (.float, .float(let value)): return .number(Double(value))
        case (.double, .double(let value)): return .number(value)
        case (.bytes, .bytes(let value)): return byteString(value)
        case (.string, .string(let value)): return .string(value)
        case (.fixed(let fixed), .fixed(let value)):
            guard value.count == fixed.size else { throw mismatch() }
            return byteString(value)
        case (.enumeration(let enumeration), .enumeration(let index)):
            guard enumeration.symbols.indices.contains(index) else { throw mismatch() }
            return .string(enumeration.symbols[index])
        case (.array(let items), .array(let elements)):
            var out: [AvroJSON] = []
            for (position, element) in elements.enumerated() {
                out.append(try element.json(schema: items, types: types, path: "\(path)[\(position)]"))
            }
            return .array(out)
        case (.map(let values), .map(let entries)):
            var members: [AvroJSONMember] = []
            for entry in entries {
                members.append(AvroJSONMember(entry.key, try entry.value.json(schema: values, types: types, path: "\(path){\(entry.key)}")))
            }
            return .object(members)
        case (.record(let record), .record(let fields)):
            guard fields.count == record.fields.count else { throw mismatch() }
            var members: [AvroJSONMember] = []
            for (field, value) in zip(record.fields, fields) {
                let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
                members.append(AvroJSONMember(field.name, try value.json(schema: field.type, types: types, path: fieldPath)))
            }
            return .object(members)
        case (.union(let branches), .union(let index, let value)):
            guard branches.indices.contains(index) else { throw mismatch() }
            let inner = try value.json(schema: branches[index], types: types, path: path)
            if branches[index].physical == .null { return .null }
            return .object([AvroJSONMember(AvroValue.unionBranchName(branches[index]), inner)])
        default:
            throw mismatch()
        }
    }
}
