import Avro
import PipelineRuntime
import SchemaRegistry

/// JSON lines ⇄ Avro in Confluent's wire format, for `produce --avro-subject` and `consume --avro`.
///
/// Lines are Avro's JSON encoding (spec, "JSON Encoding") with two conveniences that make plain
/// JSON objects fit: a decimal on `bytes` may be a JSON number or a decimal string (`12.50`,
/// `"12.50"`; the scale's places at most), and a union value may be given bare (it goes to the
/// first non-null branch) as well as wrapped (`{"string": "x"}`). Decoded values print the same
/// way back: decimals as decimal strings, unions wrapped.
///
/// Thread-safety: immutable; `Sendable`.
struct AvroLines: Sendable {
    /// The subject, the version and its id and schema that lines are encoded with.
    let subject: String
    let version: Int32
    let id: Int32
    let schema: AvroSchema

    /// Why a line does not fit the schema, naming the field.
    struct Mismatch: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Lines of `subject`'s latest version.
    /// - Throws: `CLIError` when the subject has none, naming it.
    static func latest(of subject: String, in schemas: RegistrySchemaSource) throws -> AvroLines {
        let latest: SubjectVersion
        do { latest = try schemas.registry().version(.latest, of: subject) } catch {
            throw CLIError("--avro-subject \(subject): \(error)")
        }
        guard let schema = try schemas.schema(id: latest.id) else { throw CLIError("--avro-subject \(subject): schema \(latest.id) is missing") }
        return AvroLines(subject: subject, version: latest.version, id: latest.id, schema: schema)
    }

    /// The wire-format bytes of one JSON line (already valid JSON).
    func encode(_ line: [UInt8]) throws(Mismatch) -> [UInt8] {
        let json: AvroJSON
        do { json = try AvroJSON(parsing: String(decoding: line, as: UTF8.self)) } catch {
            throw Mismatch(reason: "\(error)")
        }
        do {
            let types = schema.namedTypes
            let value = try AvroValue(json: Self.accepting(json, schema: schema, types: types, path: ""), schema: schema)
            return Self.header(id: id) + (try value.binaryEncoded(schema: schema))
        } catch let error as AvroCodecError {
            // A JSON line has no byte offset worth naming; the field path and what is wrong are the point.
            var what = error.description
            if case .mismatch(let detail) = error.reason { what = error.path.isEmpty ? detail : "field '\(error.path)': \(detail)" }
            throw Mismatch(reason: "does not fit \(subject) version \(version) (schema id \(id)): \(what)")
        } catch let error as Mismatch {
            throw Mismatch(reason: "does not fit \(subject) version \(version) (schema id \(id)): \(error.reason)")
        } catch {
            throw Mismatch(reason: "\(error)")
        }
    }

    /// Confluent's header: magic byte 0 and the id, big-endian.
    static func header(id: Int32) -> [UInt8] {
        let raw = UInt32(bitPattern: id)
        return [0, UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)]
    }

    /// The schema id of a wire-format value, nil when it has no header.
    static func schemaID(of value: [UInt8]) -> Int32? {
        guard value.count >= 5, value[0] == 0 else { return nil }
        return Int32(bitPattern: UInt32(value[1]) << 24 | UInt32(value[2]) << 16 | UInt32(value[3]) << 8 | UInt32(value[4]))
    }

    /// A value's body (after the header) decoded with its writer's schema, as one JSON line.
    static func decode(_ value: [UInt8], writer: AvroSchema) throws -> String {
        let decoded = try writer.decode(Array(value.dropFirst(5)))
        let json = try decoded.json(schema: writer)
        return Self.printing(json, schema: writer, types: writer.namedTypes).compactText
    }

    private static func resolved(_ schema: AvroSchema, _ types: [String: AvroSchema]) -> AvroSchema {
        if case .reference(let name) = schema.physical, let definition = types[name] { return definition }
        return schema
    }

    private static func decimalScale(_ schema: AvroSchema) -> Int? {
        if case .decimal(_, let scale) = schema.logicalType, schema.physical == .bytes { return scale }
        return nil
    }

    private static func byteString(_ bytes: [UInt8]) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(Unicode.Scalar(byte)) }
        return String(text)
    }

    /// `json` with the conveniences turned into Avro's JSON encoding.
    static func accepting(_ json: AvroJSON, schema: AvroSchema, types: [String: AvroSchema], path: String) throws(Mismatch) -> AvroJSON {
        let schema = resolved(schema, types)
        if let scale = decimalScale(schema) {
            let text: String
            switch json {
            case .integer(let value): text = String(value)
            case .number(let value): text = String(value)
            case .string(let value) where value.first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) ?? false: text = value
            default: return json
            }
            guard let decimal = AvroDecimal(text, scale: scale) else {
                throw Mismatch(reason: "field '\(path)': \(text) is not a decimal with at most \(scale) places")
            }
            return .string(byteString(decimal.unscaledBytes))
        }
        switch (schema.physical, json) {
        case (.record(let record), .object(let members)):
            var out: [AvroJSONMember] = []
            for member in members {
                guard let field = record.fields.first(where: { $0.name == member.key }) else {
                    throw Mismatch(reason: "field '\(path.isEmpty ? member.key : "\(path).\(member.key)")' is not in record '\(record.name.fullName)'")
                }
                let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
                out.append(AvroJSONMember(member.key, try accepting(member.value, schema: field.type, types: types, path: fieldPath)))
            }
            return .object(out)
        case (.array(let items), .array(let elements)):
            var out: [AvroJSON] = []
            for (index, element) in elements.enumerated() { out.append(try accepting(element, schema: items, types: types, path: "\(path)[\(index)]")) }
            return .array(out)
        case (.map(let values), .object(let members)):
            var out: [AvroJSONMember] = []
            for member in members { out.append(AvroJSONMember(member.key, try accepting(member.value, schema: values, types: types, path: "\(path){\(member.key)}"))) }
            return .object(out)
        case (.union(let branches), _):
            if json == .null { return json }
            let names = branches.map { resolved($0, types) }.map { $0.namedTypeName?.fullName ?? $0.typeName }
            if case .object(let members) = json, members.count == 1, let index = names.firstIndex(of: members[0].key) {
                return .object([AvroJSONMember(members[0].key, try accepting(members[0].value, schema: branches[index], types: types, path: path))])
            }
            guard let index = branches.firstIndex(where: { resolved($0, types).physical != .null }) else { return json }
            return .object([AvroJSONMember(names[index], try accepting(json, schema: branches[index], types: types, path: path))])
        default:
            return json
        }
    }

    /// Avro's JSON encoding of a decoded value with decimals as decimal strings.
    static func printing(_ json: AvroJSON, schema: AvroSchema, types: [String: AvroSchema]) -> AvroJSON {
        let schema = resolved(schema, types)
        if let scale = decimalScale(schema), case .string(let text) = json {
            let bytes = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            if let decimal = AvroDecimal(unscaledBytes: bytes, scale: scale) { return .string(decimal.description) }
            return json
        }
        switch (schema.physical, json) {
        case (.record(let record), .object(let members)):
            return .object(members.map { member in
                guard let field = record.fields.first(where: { $0.name == member.key }) else { return member }
                return AvroJSONMember(member.key, printing(member.value, schema: field.type, types: types))
            })
        case (.array(let items), .array(let elements)):
            return .array(elements.map { printing($0, schema: items, types: types) })
        case (.map(let values), .object(let members)):
            return .object(members.map { AvroJSONMember($0.key, printing($0.value, schema: values, types: types)) })
        case (.union(let branches), .object(let members)) where members.count == 1:
            let names = branches.map { resolved($0, types) }.map { $0.namedTypeName?.fullName ?? $0.typeName }
            guard let index = names.firstIndex(of: members[0].key) else { return json }
            return .object([AvroJSONMember(members[0].key, printing(members[0].value, schema: branches[index], types: types))])
        default:
            return json
        }
    }
}
