/// The compatibility modes Confluent Schema Registry offers for a subject.
public enum AvroCompatibilityLevel: String, CaseIterable, Sendable, Codable {
    case none = "NONE"
    case backward = "BACKWARD"
    case backwardTransitive = "BACKWARD_TRANSITIVE"
    case forward = "FORWARD"
    case forwardTransitive = "FORWARD_TRANSITIVE"
    case full = "FULL"
    case fullTransitive = "FULL_TRANSITIVE"
}

/// Apache Avro's SchemaCompatibility.SchemaIncompatibilityType names.
public enum AvroIncompatibilityKind: String, Sendable, Hashable {
    case nameMismatch = "NAME_MISMATCH"
    case fixedSizeMismatch = "FIXED_SIZE_MISMATCH"
    case missingEnumSymbols = "MISSING_ENUM_SYMBOLS"
    case readerFieldMissingDefaultValue = "READER_FIELD_MISSING_DEFAULT_VALUE"
    case typeMismatch = "TYPE_MISMATCH"
    case missingUnionBranch = "MISSING_UNION_BRANCH"
}

/// One reason data written with a writer schema cannot be read with a reader schema.
public struct AvroIncompatibility: Sendable, Hashable, CustomStringConvertible {
    /// The rule broken, named as Apache Avro names it.
    public let kind: AvroIncompatibilityKind
    /// JSON-pointer-like location in the reader schema, as Apache's: `/fields/1/type`.
    public let path: String
    /// What is wrong, naming the field, e.g. `reader field 'amount' has no default and the writer lacks it`.
    public let message: String

    /// Creates an incompatibility.
    public init(kind: AvroIncompatibilityKind, path: String, message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(kind.rawValue) at \(path): \(message)" }
}

/// Schema compatibility as Apache Avro's `SchemaCompatibility` decides it, and the subject
/// modes of Confluent Schema Registry on top. Stateless; every function is thread-safe.
public enum AvroCompatibility {
    /// Whether data written with `writer` can be read with `reader` (Apache's ReaderWriterCompatibilityChecker); empty means compatible.
    ///
    /// Same rules as Apache's: equal types recurse (records by field, reader fields found in
    /// the writer by name or alias, else needing a default; names equal unqualified or by a
    /// reader alias; enums need every writer symbol unless the reader has a default; fixed
    /// sizes equal; a writer union needs every branch readable); different types allow the
    /// promotions int→long→float→double, string↔bytes, each branch of a writer union, and a
    /// reader union with some branch that reads the writer. Logical types are not compared.
    public static func incompatibilities(reader: AvroSchema, writer: AvroSchema) -> [AvroIncompatibility] {
        var checker = AvroCompatibilityChecker(readerTypes: reader.namedTypes, writerTypes: writer.namedTypes)
        return checker.check(reader: reader, writer: writer, location: [""], fields: [])
    }

    /// Confluent Schema Registry semantics: `existing` is the subject's versions, oldest first. BACKWARD: new reads the latest;
    /// FORWARD: the latest reads new; FULL: both; *_TRANSITIVE: against every existing version; NONE: always compatible.
    public static func incompatibilities(
        of new: AvroSchema, against existing: [AvroSchema], level: AvroCompatibilityLevel
    ) -> [AvroIncompatibility] {
        let against: ArraySlice<AvroSchema>
        switch level {
        case .none: return []
        case .backward, .forward, .full: against = existing.suffix(1)
        case .backwardTransitive, .forwardTransitive, .fullTransitive: against = existing[...]
        }
        var found: [AvroIncompatibility] = []
        for old in against.reversed() {
            switch level {
            case .backward, .backwardTransitive:
                found += incompatibilities(reader: new, writer: old)
            case .forward, .forwardTransitive:
                found += incompatibilities(reader: old, writer: new)
            case .full, .fullTransitive:
                found += incompatibilities(reader: new, writer: old)
                found += incompatibilities(reader: old, writer: new)
            case .none:
                break
            }
        }
        return found
    }
}

/// One reader/writer comparison: the two schemas' named types, and the record pairs being
/// compared (a pair met again while in progress is compatible, as Apache's memo makes it).
struct AvroCompatibilityChecker {
    struct Pair: Hashable {
        let reader: String
        let writer: String
    }

    let readerTypes: [String: AvroSchema]
    let writerTypes: [String: AvroSchema]
    var memo: [Pair: [AvroIncompatibility]?] = [:]

    static func resolve(_ schema: AvroSchema, in table: [String: AvroSchema]) -> AvroSchema {
        let physical = schema.physical
        if case .reference(let name) = physical {
            guard let definition = table[name] else { preconditionFailure("reference to undefined type '\(name)'") }
            return definition.physical
        }
        return physical
    }

    static func pointer(_ location: [String]) -> String {
        location.count <= 1 ? "/" : location.joined(separator: "/")
    }

    static func fieldPrefix(_ fields: [String]) -> String {
        fields.isEmpty ? "" : "field '\(fields.joined(separator: "."))': "
    }

    mutating func check(reader: AvroSchema, writer: AvroSchema, location: [String], fields: [String]) -> [AvroIncompatibility] {
        let reader = Self.resolve(reader, in: readerTypes)
        let writer = Self.resolve(writer, in: writerTypes)
        if case .record(let readerRecord) = reader, case .record(let writerRecord) = writer {
            let pair = Pair(reader: readerRecord.name.fullName, writer: writerRecord.name.fullName)
            if let cached = memo[pair] { return cached ?? [] }
            memo[pair] = .some(nil)
            let result = calculate(reader: reader, writer: writer, location: location, fields: fields)
            memo[pair] = .some(result)
            return result
        }
        return calculate(reader: reader, writer: writer, location: location, fields: fields)
    }

    func mismatch(_ reader: AvroSchema, _ writer: AvroSchema, _ location: [String], _ fields: [String]) -> [AvroIncompatibility] {
        [
            AvroIncompatibility(
                kind: .typeMismatch, path: Self.pointer(location),
                message: Self.fieldPrefix(fields)
                    + "reader type \(reader.typeName) is not compatible with writer type \(writer.typeName)"
            )
        ]
    }

    mutating func calculate(reader: AvroSchema, writer: AvroSchema, location: [String], fields: [String]) -> [AvroIncompatibility] {
        switch (reader, writer) {
        case (.null, .null), (.boolean, .boolean), (.int, .int), (.long, .long), (.float, .float), (.double, .double),
            (.bytes, .bytes), (.string, .string):
            return []
        case (.array(let readerItems), .array(let writerItems)):
            return check(reader: readerItems, writer: writerItems, location: location + ["items"], fields: fields)
        case (.map(let readerValues), .map(let writerValues)):
            return check(reader: readerValues, writer: writerValues, location: location + ["values"], fields: fields)
        case (.fixed(let readerFixed), .fixed(let writerFixed)):
            var found = checkNames(readerFixed.name, readerFixed.aliases, writerFixed.name, location, fields)
            if readerFixed.size != writerFixed.size {
                found.append(
                    AvroIncompatibility(
                        kind: .fixedSizeMismatch, path: Self.pointer(location + ["size"]),
                        message: Self.fieldPrefix(fields)
                            + "fixed '\(readerFixed.name)' has size \(readerFixed.size), the writer's \(writerFixed.size)"
                    )
                )
            }
            return found
        case (.enumeration(let readerEnum), .enumeration(let writerEnum)):
            var found = checkNames(readerEnum.name, readerEnum.aliases, writerEnum.name, location, fields)
            let readerSymbols = Set(readerEnum.symbols)
            let missing = writerEnum.symbols.filter { !readerSymbols.contains($0) }.sorted()
            if !missing.isEmpty, readerEnum.defaultSymbol.map(readerSymbols.contains) != true {
                found.append(
                    AvroIncompatibility(
                        kind: .missingEnumSymbols, path: Self.pointer(location + ["symbols"]),
                        message: Self.fieldPrefix(fields)
                            + "enum '\(readerEnum.name)' lacks the writer's symbols \(missing.joined(separator: ", ")) and has no default"
                    )
                )
            }
            return found
        case (.record(let readerRecord), .record(let writerRecord)):
            var found = checkNames(readerRecord.name, readerRecord.aliases, writerRecord.name, location, fields)
            for (position, readerField) in readerRecord.fields.enumerated() {
                let fieldLocation = location + ["fields", String(position)]
                let fieldPath = fields + [readerField.name]
                let writerField =
                    writerRecord.fields.first { $0.name == readerField.name }
                    ?? readerField.aliases.lazy.compactMap { alias in writerRecord.fields.first { $0.name == alias } }.first
                if let writerField {
                    found += check(reader: readerField.type, writer: writerField.type, location: fieldLocation + ["type"], fields: fieldPath)
                } else if readerField.defaultValue == nil {
                    if case .enumeration(let fieldEnum) = Self.resolve(readerField.type, in: readerTypes), fieldEnum.defaultSymbol != nil {
                        // Apache compares the enum with the writer's whole record here, which never matches.
                        found += check(reader: readerField.type, writer: writer, location: fieldLocation + ["type"], fields: fieldPath)
                    } else {
                        found.append(
                            AvroIncompatibility(
                                kind: .readerFieldMissingDefaultValue, path: Self.pointer(fieldLocation),
                                message: "reader field '\(fieldPath.joined(separator: "."))' has no default and the writer lacks it"
                            )
                        )
                    }
                }
            }
            return found
        case (.union, .union(let writerBranches)):
            var found: [AvroIncompatibility] = []
            for (position, writerBranch) in writerBranches.enumerated() {
                if !check(reader: reader, writer: writerBranch, location: location, fields: fields).isEmpty {
                    found.append(missingBranch(writerBranch, location + [String(position)], fields))
                }
            }
            return found
        case (_, .union(let writerBranches)):
            var found: [AvroIncompatibility] = []
            for writerBranch in writerBranches {
                found += check(reader: reader, writer: writerBranch, location: location, fields: fields)
            }
            return found
        case (.long, .int), (.float, .int), (.float, .long), (.double, .int), (.double, .long), (.double, .float),
            (.bytes, .string), (.string, .bytes):
            return []
        case (.union(let readerBranches), _):
            for readerBranch in readerBranches where check(reader: readerBranch, writer: writer, location: location, fields: fields).isEmpty {
                return []
            }
            return [missingBranch(writer, location, fields)]
        default:
            return mismatch(reader, writer, location, fields)
        }
    }

    func missingBranch(_ writer: AvroSchema, _ location: [String], _ fields: [String]) -> AvroIncompatibility {
        let writerType = writer.namedTypeName.map { "\(writer.typeName) '\($0)'" } ?? writer.typeName
        return AvroIncompatibility(
            kind: .missingUnionBranch, path: Self.pointer(location),
            message: Self.fieldPrefix(fields) + "reader union lacks the writer's \(writerType)"
        )
    }

    func checkNames(_ reader: AvroName, _ aliases: [AvroName], _ writer: AvroName, _ location: [String], _ fields: [String]) -> [AvroIncompatibility] {
        if reader.name == writer.name || aliases.contains(where: { $0.fullName == writer.fullName }) { return [] }
        return [
            AvroIncompatibility(
                kind: .nameMismatch, path: Self.pointer(location + ["name"]),
                message: Self.fieldPrefix(fields) + "reader type '\(reader)' does not match the writer's '\(writer)' by name or alias"
            )
        ]
    }
}
