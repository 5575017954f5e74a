/// Checks every field default of a parsed schema against its field's type (spec: "Default
/// values"), once all named types are known so recursive references resolve.
struct AvroDefaultValidator {
    let table: [String: AvroSchema]

    func validate(_ schema: AvroSchema, location: AvroSchemaLocation) throws(AvroSchemaError) {
        var visited: Set<String> = []
        try walk(schema, location: location, visited: &visited)
    }

    func walk(_ schema: AvroSchema, location: AvroSchemaLocation, visited: inout Set<String>) throws(AvroSchemaError) {
        switch schema {
        case .record(let record):
            guard visited.insert(record.name.fullName).inserted else { return }
            for field in record.fields {
                let fieldLocation = location.field(field.name)
                if let value = field.defaultValue, !isValid(value, for: field.type, depth: 0) {
                    throw fieldLocation.error("default \(value.compactText) is not a valid \(describe(field.type))")
                }
                try walk(field.type, location: fieldLocation, visited: &visited)
            }
        case .array(let items): try walk(items, location: location.items, visited: &visited)
        case .map(let values): try walk(values, location: location.values, visited: &visited)
        case .union(let branches):
            for (index, branch) in branches.enumerated() { try walk(branch, location: location.branch(index), visited: &visited) }
        case .logical(_, let underlying), .annotated(let underlying, _): try walk(underlying, location: location, visited: &visited)
        default: break
        }
    }

    func describe(_ schema: AvroSchema) -> String {
        if case .union(let branches) = schema.physical { return "[" + branches.map(describe).joined(separator: ",") + "]" }
        return schema.typeName
    }

    func resolved(_ schema: AvroSchema) -> AvroSchema {
        if case .reference(let name) = schema.physical, let definition = table[name] { return definition.physical }
        return schema.physical
    }

    /// Whether `value` is the JSON encoding of a value of `schema` (spec, "Default values").
    func isValid(_ value: AvroJSON, for schema: AvroSchema, depth: Int) -> Bool {
        guard depth < AvroJSON.parsingDepthMax else { return false }
        switch (resolved(schema), value) {
        case (.null, .null): return true
        case (.boolean, .bool): return true
        case (.int, .integer(let number)): return Int32(exactly: number) != nil
        case (.long, .integer): return true
        case (.float, .integer), (.float, .number), (.double, .integer), (.double, .number): return true
        case (.float, .string(let text)), (.double, .string(let text)): return ["NaN", "Infinity", "-Infinity"].contains(text)
        case (.bytes, .string(let text)): return text.unicodeScalars.allSatisfy { $0.value <= 0xFF }
        case (.fixed(let fixed), .string(let text)):
            return text.unicodeScalars.allSatisfy { $0.value <= 0xFF } && text.unicodeScalars.count == fixed.size
        case (.string, .string): return true
        case (.enumeration(let enumeration), .string(let symbol)): return enumeration.symbols.contains(symbol)
        case (.array(let items), .array(let elements)): return elements.allSatisfy { isValid($0, for: items, depth: depth + 1) }
        case (.map(let values), .object(let members)): return members.allSatisfy { isValid($0.value, for: values, depth: depth + 1) }
        case (.record(let record), .object):
            return record.fields.allSatisfy { field in
                if let member = value[field.name] { return isValid(member, for: field.type, depth: depth + 1) }
                return field.defaultValue != nil
            }
        case (.union(let branches), _): return branches.contains { isValid(value, for: $0, depth: depth + 1) }
        default: return false
        }
    }
}
