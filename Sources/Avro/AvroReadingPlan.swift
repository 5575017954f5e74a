/// How to read data written with one schema as another (spec, "Schema Resolution"), worked
/// out once per writer/reader pair so each decode only follows it.
///
/// The plan settles everything the two schemas decide: numeric promotions (int → long,
/// float, double; long → float, double; float → double), string ⇄ bytes, the reader field
/// each writer field lands in (by name or reader alias) or that it is skipped, the defaults
/// of reader fields the writer lacks, which reader branch each writer union branch goes to
/// (the first of the same type, else the first a promotion reaches), the reader index of each writer enum
/// symbol (or the reader's default). What only the data decides — a writer branch or symbol
/// the reader cannot take — is an error when that data is met.
///
/// - Thread-safety: immutable once built; `Sendable`, share it across threads.
public struct AvroReadingPlan: Sendable {
    /// The schema the data was written with.
    public let writer: AvroSchema
    /// The schema the values come out in.
    public let reader: AvroSchema
    let root: AvroReadNode

    /// A plan reading data written with `writer` as `reader`.
    /// - Throws: `AvroSchemaError` naming the reader field where the two cannot resolve.
    public init(writer: AvroSchema, reader: AvroSchema) throws(AvroSchemaError) {
        var builder = AvroPlanBuilder(writerTypes: writer.namedTypes, readerTypes: reader.namedTypes)
        self.writer = writer
        self.reader = reader
        self.root = try builder.node(writer: writer, reader: reader, location: .root)
    }

    /// A plan reading data with the schema it was written with.
    public init(schema: AvroSchema) {
        var builder = AvroPlanBuilder(writerTypes: schema.namedTypes, readerTypes: schema.namedTypes)
        self.writer = schema
        self.reader = schema
        do {
            self.root = try builder.node(writer: schema, reader: schema, location: .root)
        } catch {
            preconditionFailure("a schema always resolves against itself: \(error)")
        }
    }

    /// Decodes one value that fills `bytes` exactly.
    /// - Throws: `AvroCodecError` with the byte offset (and field path) where decoding failed.
    public func decode(_ bytes: [UInt8], limits: AvroDecodingLimits = .default) throws(AvroCodecError) -> AvroValue {
        let result = bytes.withUnsafeBytes { buffer -> Result<AvroValue, AvroCodecError> in
            var reader = AvroByteReader(buffer, limits: limits)
            do throws(AvroCodecError) {
                let value = try reader.read(root, depth: 0)
                guard reader.remaining == 0 else { throw reader.error(.trailingBytes(reader.remaining)) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes one value from the front of `buffer`, returning it and the bytes it used.
    public func decodePrefix(_ buffer: UnsafeRawBufferPointer, limits: AvroDecodingLimits = .default) throws(AvroCodecError) -> (AvroValue, Int) {
        var reader = AvroByteReader(buffer, limits: limits)
        let value = try reader.read(root, depth: 0)
        return (value, reader.position)
    }
}

extension AvroSchema {
    /// Decodes one value written with this schema that fills `bytes` exactly.
    public func decode(_ bytes: [UInt8], limits: AvroDecodingLimits = .default) throws(AvroCodecError) -> AvroValue {
        try AvroReadingPlan(schema: self).decode(bytes, limits: limits)
    }
}

/// One step of a reading plan: what the writer wrote here and what the reader makes of it.
enum AvroReadNode: Sendable {
    case null, boolean, int, long, float, double, bytes, string
    case intAsLong, intAsFloat, intAsDouble, longAsFloat, longAsDouble, floatAsDouble
    /// Writer bytes read as a reader string (must be UTF-8), and the reverse.
    case bytesAsString, stringAsBytes
    case fixed(size: Int)
    /// A reader decimal on bytes or fixed (read as bytes or fixed; decoders into Swift types scale it).
    case decimalBytes(scale: Int)
    case decimalFixed(size: Int, scale: Int)
    /// Writer symbol index → reader symbol index (`nil`: the reader lacks it and has no default).
    case enumeration(readerIndex: [Int?], symbols: [String], readerSymbols: [String])
    indirect case array(AvroReadNode)
    indirect case map(AvroReadNode)
    case record(AvroRecordReadPlan)
    /// Per writer branch: the reader branch (`nil` when the reader is no union) and its node,
    /// or `nil` when the reader cannot take that branch.
    case writerUnion([AvroUnionBranchPlan?])
    /// A writer value that is not a union, read into reader branch `branch`.
    indirect case readerUnion(branch: Int, AvroReadNode)
}

/// Where one writer union branch goes in the reader.
struct AvroUnionBranchPlan: Sendable {
    let readerBranch: Int?
    let node: AvroReadNode
    let writerDescription: String
}

/// The plan for one writer record read as one reader record.
///
/// - Invariant: after the builder finishes, `steps` covers every writer field in order and
///   `defaults` every reader field no step fills.
/// - Thread-safety: mutated only by the builder, before the plan is shared; read-only after.
final class AvroRecordReadPlan: @unchecked Sendable {
    enum Step: Sendable {
        case read(slot: Int, AvroReadNode, name: String)
        case skip(AvroReadNode, name: String)

        /// The node of the writer field the step reads or skips.
        var node: AvroReadNode {
            switch self {
            case .read(_, let node, _), .skip(let node, _): node
            }
        }
    }

    var steps: [Step] = [] {
        didSet { stepNodes = steps.map(\.node) }
    }
    /// Each step's node, by step (what the decoders index on their hot path).
    var stepNodes: [AvroReadNode] = []
    var defaults: [(slot: Int, value: AvroValue)] = []
    var readerFieldCount = 0
    /// The reader's field names, by slot.
    var readerFieldNames: [String] = []
    /// Reader slot by field name.
    var slotByName: [String: Int] = [:]
    /// The step that reads each reader slot, or -1 when the slot takes its default.
    var stepBySlot: [Int] = []
    /// Each reader field's default in binary, with the reader's own node to read it, when it has one.
    var defaultBytesBySlot: [[UInt8]?] = []
    var defaultNodeBySlot: [AvroReadNode?] = []
    /// True when steps read every reader slot in order with nothing skipped or defaulted.
    var isInOrder = false
    /// The reader record's unqualified name.
    var recordSchemaName = ""

    /// The hot-path tables, copied out once the plan is complete (`freeze()`): reader field
    /// names and steps by slot, nodes by step. Decoders read them through these pointers, which
    /// costs no reference counting per field. Owned by the plan; freed with it.
    private(set) var frozenNames = UnsafeMutableBufferPointer<String>(start: nil, count: 0)
    private(set) var frozenStepBySlot = UnsafeMutableBufferPointer<Int>(start: nil, count: 0)
    private(set) var frozenNodes = UnsafeMutableBufferPointer<AvroReadNode>(start: nil, count: 0)

    /// Copies the tables out. - Precondition: called once, when the steps are complete.
    func freeze() {
        precondition(frozenNames.baseAddress == nil, "a record plan is frozen once")
        frozenNames = .allocate(capacity: readerFieldNames.count)
        _ = frozenNames.initialize(from: readerFieldNames)
        frozenStepBySlot = .allocate(capacity: stepBySlot.count)
        _ = frozenStepBySlot.initialize(from: stepBySlot)
        frozenNodes = .allocate(capacity: stepNodes.count)
        _ = frozenNodes.initialize(from: stepNodes)
    }

    deinit {
        if frozenNames.baseAddress != nil {
            frozenNames.deinitialize()
            frozenNames.deallocate()
            frozenStepBySlot.deallocate()
            frozenNodes.deinitialize()
            frozenNodes.deallocate()
        }
    }
}

/// Builds reading plans; one per plan. Record pairs are memoized so recursive types give a
/// finite, cyclic plan.
struct AvroPlanBuilder {
    struct Pair: Hashable {
        let writer: String
        let reader: String
    }

    let writerTypes: [String: AvroSchema]
    let readerTypes: [String: AvroSchema]
    var records: [Pair: AvroRecordReadPlan] = [:]

    static func resolve(_ schema: AvroSchema, in table: [String: AvroSchema]) -> AvroSchema {
        let physical = schema.physical
        if case .reference(let name) = physical {
            guard let definition = table[name] else { preconditionFailure("reference to undefined type '\(name)'") }
            return definition.physical
        }
        return physical
    }

    static func namesMatch(_ writer: AvroName, _ reader: AvroName, readerAliases: [AvroName]) -> Bool {
        writer.name == reader.name || readerAliases.contains { $0.fullName == writer.fullName }
    }

    /// Whether the writer's schema matches the reader's at the top (spec's "match" rules), as
    /// union branch selection decides.
    func matches(writer: AvroSchema, reader: AvroSchema) -> Bool {
        let writer = Self.resolve(writer, in: writerTypes)
        let reader = Self.resolve(reader, in: readerTypes)
        switch (writer, reader) {
        case (.union, _), (_, .union):
            // Unions inside arrays and maps are matched branch by branch when read.
            return true
        case (.null, .null), (.boolean, .boolean), (.int, .int), (.long, .long), (.float, .float), (.double, .double),
            (.bytes, .bytes), (.string, .string), (.int, .long), (.int, .float), (.int, .double), (.long, .float),
            (.long, .double), (.float, .double), (.string, .bytes), (.bytes, .string):
            return true
        case (.array(let writerItems), .array(let readerItems)): return matches(writer: writerItems, reader: readerItems)
        case (.map(let writerValues), .map(let readerValues)): return matches(writer: writerValues, reader: readerValues)
        case (.record(let w), .record(let r)): return Self.namesMatch(w.name, r.name, readerAliases: r.aliases)
        case (.enumeration(let w), .enumeration(let r)): return Self.namesMatch(w.name, r.name, readerAliases: r.aliases)
        case (.fixed(let w), .fixed(let r)): return w.size == r.size && Self.namesMatch(w.name, r.name, readerAliases: r.aliases)
        default: return false
        }
    }

    /// The reader branch a writer value goes to: the first of the same type (the same name, for
    /// named types), else the first that matches with a promotion, as Apache's resolver picks.
    func branch(for writer: AvroSchema, in readerBranches: [AvroSchema]) -> Int? {
        let resolvedWriter = Self.resolve(writer, in: writerTypes)
        let exact = readerBranches.firstIndex { branch in
            let resolvedReader = Self.resolve(branch, in: readerTypes)
            switch (resolvedWriter, resolvedReader) {
            case (.record(let w), .record(let r)): return w.name.name == r.name.name
            case (.enumeration(let w), .enumeration(let r)): return w.name.name == r.name.name
            case (.fixed(let w), .fixed(let r)): return w.name.name == r.name.name && w.size == r.size
            case (.array, .array), (.map, .map): return matches(writer: resolvedWriter, reader: resolvedReader)
            default: return resolvedWriter.typeName == resolvedReader.typeName && resolvedWriter.namedTypeName == nil
            }
        }
        return exact ?? readerBranches.firstIndex { matches(writer: writer, reader: $0) }
    }

    /// The logical type of `schema`, looking through a reference.
    static func logicalType(_ schema: AvroSchema, in table: [String: AvroSchema]) -> AvroLogicalType? {
        if case .reference(let name) = schema.physical { return table[name]?.logicalType }
        return schema.logicalType
    }

    mutating func node(writer: AvroSchema, reader: AvroSchema, location: AvroSchemaLocation) throws(AvroSchemaError) -> AvroReadNode {
        let readerLogical = Self.logicalType(reader, in: readerTypes)
        let writer = Self.resolve(writer, in: writerTypes)
        let reader = Self.resolve(reader, in: readerTypes)
        switch (writer, reader) {
        case (.union(let writerBranches), _):
            var plans: [AvroUnionBranchPlan?] = []
            for writerBranch in writerBranches {
                let description = writerBranch.namedTypeName?.fullName ?? writerBranch.typeName
                var plan: AvroUnionBranchPlan?
                if case .union(let readerBranches) = reader {
                    if let index = branch(for: writerBranch, in: readerBranches),
                        let branchNode = try? node(writer: writerBranch, reader: readerBranches[index], location: location.branch(index))
                    {
                        plan = AvroUnionBranchPlan(readerBranch: index, node: branchNode, writerDescription: description)
                    }
                } else if matches(writer: writerBranch, reader: reader),
                    let branchNode = try? node(writer: writerBranch, reader: reader, location: location)
                {
                    plan = AvroUnionBranchPlan(readerBranch: nil, node: branchNode, writerDescription: description)
                }
                plans.append(plan)
            }
            return .writerUnion(plans)
        case (_, .union(let readerBranches)):
            guard let index = branch(for: writer, in: readerBranches) else {
                throw location.error("the reader's union has no branch for the writer's \(writer.namedTypeName?.fullName ?? writer.typeName)")
            }
            return .readerUnion(branch: index, try node(writer: writer, reader: readerBranches[index], location: location.branch(index)))
        case (.null, .null): return .null
        case (.boolean, .boolean): return .boolean
        case (.int, .int): return .int
        case (.long, .long): return .long
        case (.float, .float): return .float
        case (.double, .double): return .double
        case (.bytes, .bytes):
            if case .decimal(_, let scale)? = readerLogical, scale <= 18 { return .decimalBytes(scale: scale) }
            return .bytes
        case (.string, .string): return .string
        case (.int, .long): return .intAsLong
        case (.int, .float): return .intAsFloat
        case (.int, .double): return .intAsDouble
        case (.long, .float): return .longAsFloat
        case (.long, .double): return .longAsDouble
        case (.float, .double): return .floatAsDouble
        case (.bytes, .string): return .bytesAsString
        case (.string, .bytes): return .stringAsBytes
        case (.array(let writerItems), .array(let readerItems)):
            return .array(try node(writer: writerItems, reader: readerItems, location: location.items))
        case (.map(let writerValues), .map(let readerValues)):
            return .map(try node(writer: writerValues, reader: readerValues, location: location.values))
        case (.fixed(let w), .fixed(let r)):
            guard Self.namesMatch(w.name, r.name, readerAliases: r.aliases) else {
                throw location.error("the reader's fixed '\(r.name)' does not match the writer's '\(w.name)'")
            }
            guard w.size == r.size else { throw location.error("the reader's fixed '\(r.name)' has size \(r.size), the writer's \(w.size)") }
            if case .decimal(_, let scale)? = readerLogical, scale <= 18 { return .decimalFixed(size: r.size, scale: scale) }
            return .fixed(size: r.size)
        case (.enumeration(let w), .enumeration(let r)):
            guard Self.namesMatch(w.name, r.name, readerAliases: r.aliases) else {
                throw location.error("the reader's enum '\(r.name)' does not match the writer's '\(w.name)'")
            }
            let defaultIndex = r.defaultSymbol.flatMap { r.symbols.firstIndex(of: $0) }
            let mapping = w.symbols.map { symbol in r.symbols.firstIndex(of: symbol) ?? defaultIndex }
            return .enumeration(readerIndex: mapping, symbols: w.symbols, readerSymbols: r.symbols)
        case (.record(let w), .record(let r)):
            guard Self.namesMatch(w.name, r.name, readerAliases: r.aliases) else {
                throw location.error("the reader's record '\(r.name)' does not match the writer's '\(w.name)'")
            }
            return .record(try recordPlan(writer: w, reader: r, location: location))
        default:
            throw location.error("the reader's \(reader.typeName) cannot read the writer's \(writer.namedTypeName?.fullName ?? writer.typeName)")
        }
    }

    mutating func recordPlan(writer: AvroRecordSchema, reader: AvroRecordSchema, location: AvroSchemaLocation) throws(AvroSchemaError) -> AvroRecordReadPlan {
        let pair = Pair(writer: writer.name.fullName, reader: reader.name.fullName)
        if let plan = records[pair] { return plan }
        let plan = AvroRecordReadPlan()
        records[pair] = plan
        plan.readerFieldCount = reader.fields.count
        plan.recordSchemaName = reader.name.name
        plan.readerFieldNames = reader.fields.map(\.name)
        plan.slotByName = Dictionary(uniqueKeysWithValues: reader.fields.enumerated().map { ($1.name, $0) })
        plan.stepBySlot = Array(repeating: -1, count: reader.fields.count)
        plan.defaultBytesBySlot = Array(repeating: nil, count: reader.fields.count)
        plan.defaultNodeBySlot = Array(repeating: nil, count: reader.fields.count)
        var filled = Set<Int>()
        for writerField in writer.fields {
            let slot =
                reader.fields.firstIndex { $0.name == writerField.name }
                ?? reader.fields.firstIndex { $0.aliases.contains(writerField.name) }
            if let slot, !filled.contains(slot) {
                filled.insert(slot)
                plan.stepBySlot[slot] = plan.steps.count
                let fieldNode = try node(writer: writerField.type, reader: reader.fields[slot].type, location: location.field(reader.fields[slot].name))
                plan.steps.append(.read(slot: slot, fieldNode, name: reader.fields[slot].name))
            } else {
                // Skipping follows the writer's own shape, resolved in the writer's names only.
                var writerOnly = AvroPlanBuilder(writerTypes: writerTypes, readerTypes: writerTypes)
                let fieldNode = try writerOnly.node(writer: writerField.type, reader: writerField.type, location: location.field(writerField.name))
                plan.steps.append(.skip(fieldNode, name: writerField.name))
            }
        }
        // Every reader default in binary, read by the reader's own node: what decoders into Swift
        // types use for a missing writer field, and encoders for a field the value leaves out.
        var readerOnly = AvroPlanBuilder(writerTypes: readerTypes, readerTypes: readerTypes)
        for (slot, readerField) in reader.fields.enumerated() {
            guard let json = readerField.defaultValue,
                let value = try? AvroValue(json: json, schema: readerField.type, types: readerTypes, unionsWrapped: false)
            else { continue }
            var writer = AvroByteWriter()
            guard (try? value.write(to: &writer, schema: readerField.type, types: readerTypes, path: "")) != nil else { continue }
            plan.defaultBytesBySlot[slot] = writer.bytes
            plan.defaultNodeBySlot[slot] = try readerOnly.node(writer: readerField.type, reader: readerField.type, location: location.field(readerField.name))
        }
        for (slot, readerField) in reader.fields.enumerated() where !filled.contains(slot) {
            let fieldLocation = location.field(readerField.name)
            guard let json = readerField.defaultValue else {
                throw fieldLocation.error("the reader's field has no default and the writer lacks it")
            }
            do {
                let value = try AvroValue(json: json, schema: readerField.type, types: readerTypes, unionsWrapped: false)
                plan.defaults.append((slot: slot, value: value))
            } catch {
                throw fieldLocation.error("default \(json.compactText) does not fit the field: \(error)")
            }
        }
        plan.freeze()
        plan.isInOrder =
            plan.defaults.isEmpty
            && plan.steps.enumerated().allSatisfy { position, step in
                if case .read(let slot, _, _) = step { return slot == position }
                return false
            }
        return plan
    }
}
