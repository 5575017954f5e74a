import StreamCore

@testable import Avro

/// Seeded random schema documents (as JSON), random values for them, and reader schemas
/// derived from a writer by changes that schema resolution allows (or, for compatibility
/// pairs, forbids). Every document is valid Avro 1.12 that fastavro and Apache's `avro` parse.
struct AvroSchemaGenerator {
    var random: SeededRandom
    var nameCounter = 0
    /// Named types defined so far in the current document: full name → its JSON.
    var named: [String: AvroJSON] = [:]
    var namedOrder: [String] = []

    init(seed: UInt64) {
        random = SeededRandom(seed: seed)
    }

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ probability: Double) -> Bool { random.chance(probability) }

    mutating func freshName(_ prefix: String) -> String {
        nameCounter += 1
        return "\(prefix)\(nameCounter)"
    }

    /// A document whose top is a record (most of the time) or any type.
    mutating func document() -> AvroJSON {
        named = [:]
        namedOrder = []
        nameCounter = 0
        if chance(0.85) { return record(depth: 0, namespace: nil) }
        return type(depth: 1, namespace: nil)
    }

    mutating func record(depth: Int, namespace: String?) -> AvroJSON {
        let name = freshName("R")
        var members: [AvroJSONMember] = [AvroJSONMember("type", .string("record")), AvroJSONMember("name", .string(name))]
        var ownNamespace = namespace
        if depth == 0 ? chance(0.5) : chance(0.2) {
            ownNamespace = depth == 0 ? pick(["com.acme", "org.example.events", "x"]) : pick(["n1", "n2.sub"])
            members.append(AvroJSONMember("namespace", .string(ownNamespace!)))
        }
        if chance(0.2) { members.append(AvroJSONMember("doc", .string("record \(name)"))) }
        let fullName = ownNamespace.map { "\($0).\(name)" } ?? name
        var fields: [AvroJSON] = []
        for index in 0..<int(depth == 0 ? 1...7 : 0...4) {
            let fieldType = type(depth: depth + 1, namespace: ownNamespace)
            var field: [AvroJSONMember] = [AvroJSONMember("name", .string("f\(index)")), AvroJSONMember("type", fieldType)]
            if chance(0.3), let value = defaultJSON(fieldType, namespace: ownNamespace) { field.append(AvroJSONMember("default", value)) }
            if chance(0.1) { field.append(AvroJSONMember("doc", .string("field \(index)"))) }
            fields.append(.object(field))
        }
        members.append(AvroJSONMember("fields", .array(fields)))
        let json = AvroJSON.object(members)
        named[fullName] = json
        namedOrder.append(fullName)
        return json
    }

    mutating func type(depth: Int, namespace: String?) -> AvroJSON {
        var choices = ["primitive", "primitive", "primitive", "logical", "enum", "fixed", "array", "map", "union", "union"]
        if depth < 3 { choices.append(contentsOf: ["record", "record"]) }
        // A type in the null namespace cannot be named from inside a namespace (the name would
        // resolve in the enclosing namespace), so only namespaced types are referenced there.
        let referable = namedOrder.filter { namespace == nil || $0.contains(".") }
        if !referable.isEmpty { choices.append("reference") }
        if depth > 4 { choices = ["primitive"] }
        switch pick(choices) {
        case "logical":
            return pick([
                #"{"type":"int","logicalType":"date"}"#, #"{"type":"int","logicalType":"time-millis"}"#,
                #"{"type":"long","logicalType":"time-micros"}"#, #"{"type":"long","logicalType":"timestamp-millis"}"#,
                #"{"type":"long","logicalType":"timestamp-micros"}"#, #"{"type":"long","logicalType":"local-timestamp-millis"}"#,
                #"{"type":"long","logicalType":"local-timestamp-micros"}"#, #"{"type":"string","logicalType":"uuid"}"#,
                #"{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}"#,
            ]).asJSON
        case "enum":
            let name = freshName("E")
            let symbols = (0..<int(1...5)).map { AvroJSON.string("S\($0)") }
            var members = [AvroJSONMember("type", .string("enum")), AvroJSONMember("name", .string(name)), AvroJSONMember("symbols", .array(symbols))]
            if chance(0.3), case .string(let first) = symbols[0] { members.append(AvroJSONMember("default", .string(first))) }
            let json = AvroJSON.object(members)
            register(name, namespace, json)
            return json
        case "fixed":
            let name = freshName("F")
            let size = pick([0, 1, 4, 12, 16])
            var members = [AvroJSONMember("type", .string("fixed")), AvroJSONMember("name", .string(name)), AvroJSONMember("size", .integer(Int64(size)))]
            if size == 12, chance(0.5) { members.append(AvroJSONMember("logicalType", .string("duration"))) }
            if size == 16, chance(0.5) { members.append(AvroJSONMember("logicalType", .string("uuid"))) }
            if size == 4, chance(0.5) {
                members.append(contentsOf: [AvroJSONMember("logicalType", .string("decimal")), AvroJSONMember("precision", .integer(9)), AvroJSONMember("scale", .integer(3))])
            }
            let json = AvroJSON.object(members)
            register(name, namespace, json)
            return json
        case "array":
            return .object([AvroJSONMember("type", .string("array")), AvroJSONMember("items", type(depth: depth + 1, namespace: namespace))])
        case "map":
            return .object([AvroJSONMember("type", .string("map")), AvroJSONMember("values", type(depth: depth + 1, namespace: namespace))])
        case "union":
            var branches: [AvroJSON] = []
            var keys: Set<String> = []
            if chance(0.6) {
                branches.append(.string("null"))
                keys.insert("null")
            }
            for _ in 0..<int(1...3) {
                let (savedNamed, savedOrder) = (named, namedOrder)
                let branch = type(depth: depth + 1, namespace: namespace)
                guard let key = unionKey(branch, namespace: namespace), keys.insert(key).inserted else {
                    // The branch is dropped, and with it the types it defined.
                    (named, namedOrder) = (savedNamed, savedOrder)
                    continue
                }
                branches.append(branch)
            }
            if branches.isEmpty { branches.append(.string("int")) }
            return .array(branches)
        case "record":
            return record(depth: depth, namespace: namespace)
        case "reference":
            return .string(pick(referable))
        default:
            return .string(pick(["null", "boolean", "int", "long", "float", "double", "bytes", "string", "string", "int", "long"]))
        }
    }

    mutating func register(_ name: String, _ namespace: String?, _ json: AvroJSON) {
        let fullName = namespace.map { "\($0).\(name)" } ?? name
        named[fullName] = json
        namedOrder.append(fullName)
    }

    /// The key that must be unique among a union's branches, or nil for a nested union.
    func unionKey(_ branch: AvroJSON, namespace: String?) -> String? {
        switch branch {
        case .array: return nil
        case .string(let name): return named[name] != nil ? "named:\(name)" : name
        case .object:
            guard case .string(let type)? = branch["type"] else { return nil }
            if ["record", "enum", "fixed"].contains(type), case .string(let name)? = branch["name"] {
                var space = namespace
                if case .string(let explicit)? = branch["namespace"] { space = explicit }
                return "named:" + (space.map { "\($0).\(name)" } ?? name)
            }
            return type
        default: return nil
        }
    }

    /// A default for a field of `type`, when one is simple to write (first union branch).
    func defaultJSON(_ type: AvroJSON, namespace: String?) -> AvroJSON? {
        switch type {
        case .string(let name):
            switch name {
            case "null": return .null
            case "boolean": return .bool(true)
            case "int", "long": return .integer(-3)
            case "float", "double": return .number(1.5)
            case "bytes": return .string("\u{0}\u{FF}a")
            case "string": return .string("dé")
            default: return named[name].flatMap { defaultJSON($0, namespace: namespace) }
            }
        case .array(let branches): return branches.first.flatMap { defaultJSON($0, namespace: namespace) }
        case .object:
            switch type["type"] {
            case .string("enum"):
                if case .array(let symbols)? = type["symbols"] { return symbols.last }
                return nil
            case .string("array"): return .array([])
            case .string("map"): return .object([])
            case .string("fixed"):
                if case .integer(let size)? = type["size"] { return .string(String(repeating: "\u{7}", count: Int(size))) }
                return nil
            case .string("record"):
                guard case .array(let fields)? = type["fields"] else { return nil }
                var members: [AvroJSONMember] = []
                for field in fields {
                    guard case .string(let name)? = field["name"], let fieldType = field["type"],
                        let value = defaultJSON(fieldType, namespace: namespace)
                    else { return nil }
                    members.append(AvroJSONMember(name, value))
                }
                return .object(members)
            case .string(let primitive): return defaultJSON(.string(primitive), namespace: namespace)
            default: return nil
            }
        default: return nil
        }
    }
}

extension String {
    /// This text parsed as JSON. - Precondition: it is valid JSON.
    var asJSON: AvroJSON {
        do { return try AvroJSON(parsing: self) } catch { preconditionFailure("invalid JSON in a test: \(error)") }
    }
}

/// Random values of a schema, bounded in size and depth.
struct AvroValueGenerator {
    var random: SeededRandom
    let types: [String: AvroSchema]

    init(seed: UInt64, schema: AvroSchema) {
        random = SeededRandom(seed: seed)
        types = schema.namedTypes
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func long() -> Int64 {
        switch int(0...3) {
        case 0: return Int64(int(-64...64))
        case 1: return Int64.random(in: Int64.min...Int64.max, using: &random)
        case 2: return [Int64.min, Int64.max, 0, -1][int(0...3)]
        default: return Int64(int(-1_000_000...1_000_000))
        }
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }

    mutating func string() -> String {
        let alphabet: [String] = ["a", "b", "Z", "0", " ", "é", "ß", "中", "😀", "\"", "\\", "\n", "\u{1}", "/"]
        return (0..<int(0...12)).map { _ in alphabet[int(0...alphabet.count - 1)] }.joined()
    }

    mutating func value(_ schema: AvroSchema, depth: Int = 0) -> AvroValue {
        switch AvroPlanBuilder.resolve(schema, in: types) {
        case .null: return .null
        case .boolean: return .boolean(int(0...1) == 1)
        case .int: return .int(Int32(truncatingIfNeeded: long()))
        case .long: return .long(long())
        case .float: return .float([Float(0), -1.5, 3.25, Float(int(-1000...1000)) / 8, .greatestFiniteMagnitude][int(0...4)])
        case .double: return .double([0, -1.5, 1e300, Double(long()) / 1024, 0.1][int(0...4)])
        case .bytes: return .bytes(bytes(int(0...10)))
        case .string: return .string(string())
        case .fixed(let fixed): return .fixed(bytes(fixed.size))
        case .enumeration(let enumeration): return .enumeration(int(0...enumeration.symbols.count - 1))
        case .array(let items):
            return .array((0..<(depth > 3 ? 0 : int(0...3))).map { _ in value(items, depth: depth + 1) })
        case .map(let values):
            return .map((0..<(depth > 3 ? 0 : int(0...3))).map { index in AvroMapEntry("k\(index)\(string())", value(values, depth: depth + 1)) })
        case .record(let record): return .record(record.fields.map { value($0.type, depth: depth + 1) })
        case .union(let branches):
            let nullIndex = branches.firstIndex { AvroPlanBuilder.resolve($0, in: types) == .null }
            let index = depth > 3 ? (nullIndex ?? 0) : int(0...branches.count - 1)
            return .union(index, value(branches[index], depth: depth + 1))
        default: preconditionFailure("resolve returns physical schemas")
        }
    }
}
