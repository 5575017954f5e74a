@testable import Avro

/// Changes to a record schema document that give a reader schema for it. The first group
/// is what schema resolution allows (a compatible reader); the second what it forbids, at
/// least in one direction, for compatibility pairs with both verdicts.
enum AvroSchemaMutation: String, CaseIterable, Sendable {
    case removeField, addDefaultedField, promoteField, wrapInUnion, reorderFields, addEnumSymbol, renameFieldWithAlias
    case addFieldWithoutDefault, narrowField, removeEnumSymbol, resizeFixed, renameRecord, dropUnionBranch

    /// (bytes → string is left out: random bytes are seldom UTF-8, and reading them as a string fails.)
    static let compatible: [AvroSchemaMutation] = [
        .removeField, .addDefaultedField, .promoteField, .wrapInUnion, .reorderFields, .addEnumSymbol, .renameFieldWithAlias,
    ]

    /// The mutated document, or nil when the change does not apply to it.
    func apply(to document: AvroJSON, choosing pick: Int) -> AvroJSON? {
        guard case .object(var members) = document, document["type"] == .string("record"),
            case .array(var fields)? = document["fields"]
        else { return nil }
        func fieldType(_ index: Int) -> AvroJSON? { fields[index]["type"] }
        func replaceField(_ index: Int, _ change: (inout [AvroJSONMember]) -> Void) {
            guard case .object(var fieldMembers) = fields[index] else { return }
            change(&fieldMembers)
            fields[index] = .object(fieldMembers)
        }
        func setType(_ fieldMembers: inout [AvroJSONMember], _ type: AvroJSON) {
            fieldMembers = fieldMembers.filter { $0.key != "default" }.map { $0.key == "type" ? AvroJSONMember("type", type) : $0 }
        }
        let candidates = Array(fields.indices)
        func first(where predicate: (AvroJSON) -> Bool) -> Int? {
            let matching = candidates.filter { fieldType($0).map(predicate) ?? false }
            return matching.isEmpty ? nil : matching[pick % matching.count]
        }
        func isDefinition(_ type: AvroJSON, _ kind: String) -> Bool { type["type"] == .string(kind) && type["name"] != nil }
        switch self {
        case .removeField:
            guard !fields.isEmpty else { return nil }
            fields.remove(at: pick % fields.count)
        case .addDefaultedField:
            fields.append(
                pick % 2 == 0
                    ? #"{"name":"added","type":["null","string"],"default":null}"#.asJSON
                    : #"{"name":"added","type":"int","default":42}"#.asJSON
            )
        case .promoteField:
            let promotions: [String: [String]] = [
                "int": ["long", "float", "double"], "long": ["float", "double"], "float": ["double"], "string": ["bytes"],
            ]
            guard let index = first(where: { if case .string(let name) = $0 { return promotions[name] != nil } else { return false } }),
                case .string(let name)? = fieldType(index), let targets = promotions[name]
            else { return nil }
            replaceField(index) { setType(&$0, .string(targets[pick % targets.count])) }
        case .wrapInUnion:
            guard let index = first(where: { if case .array = $0 { return false } else { return $0 != .string("null") } }),
                let type = fieldType(index)
            else { return nil }
            replaceField(index) { field in
                field = field.map { $0.key == "type" ? AvroJSONMember("type", .array([type, .string("null")])) : $0 }
            }
        case .reorderFields:
            guard fields.count > 1 else { return nil }
            fields.reverse()
        case .addEnumSymbol, .removeEnumSymbol:
            guard let index = first(where: { isDefinition($0, "enum") }), case .object(var enumMembers)? = fieldType(index),
                case .array(var symbols)? = fieldType(index)?["symbols"]
            else { return nil }
            if self == .addEnumSymbol {
                symbols.append(.string("SX"))
            } else {
                guard symbols.count > 1, fieldType(index)?["default"] == nil else { return nil }
                symbols.removeLast()
            }
            enumMembers = enumMembers.map { $0.key == "symbols" ? AvroJSONMember("symbols", .array(symbols)) : $0 }
            replaceField(index) { setType(&$0, .object(enumMembers)) }
        case .renameFieldWithAlias:
            guard !fields.isEmpty else { return nil }
            let index = pick % fields.count
            replaceField(index) { field in
                guard case .string(let name)? = AvroJSON.object(field)["name"] else { return }
                field = field.map { $0.key == "name" ? AvroJSONMember("name", .string("renamed_\(name)")) : $0 }
                field.append(AvroJSONMember("aliases", .array([.string(name)])))
            }
        case .addFieldWithoutDefault:
            fields.append(#"{"name":"required","type":"string"}"#.asJSON)
        case .narrowField:
            let narrowings: [String: String] = ["long": "int", "double": "float", "string": "int", "int": "string", "boolean": "int"]
            guard let index = first(where: { if case .string(let name) = $0 { return narrowings[name] != nil } else { return false } }),
                case .string(let name)? = fieldType(index)
            else { return nil }
            replaceField(index) { setType(&$0, .string(narrowings[name]!)) }
        case .resizeFixed:
            guard let index = first(where: { isDefinition($0, "fixed") }), case .object(let fixedMembers)? = fieldType(index),
                case .integer(let size)? = fieldType(index)?["size"]
            else { return nil }
            let resized = fixedMembers.filter { !["logicalType", "precision", "scale"].contains($0.key) }
                .map { $0.key == "size" ? AvroJSONMember("size", .integer(size + 1)) : $0 }
            replaceField(index) { setType(&$0, .object(resized)) }
        case .renameRecord:
            members = members.map { $0.key == "name" ? AvroJSONMember("name", .string("Renamed")) : $0 }
        case .dropUnionBranch:
            guard let index = first(where: { if case .array(let branches) = $0 { return branches.count > 1 } else { return false } }),
                case .array(var branches)? = fieldType(index)
            else { return nil }
            branches.removeLast()
            replaceField(index) { setType(&$0, .array(branches)) }
        }
        members = members.map { $0.key == "fields" ? AvroJSONMember("fields", .array(fields)) : $0 }
        return .object(members)
    }
}
