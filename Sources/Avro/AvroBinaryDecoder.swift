/// Decodes `Decodable` Swift values straight from Avro binary with a reading plan, no
/// intermediate `AvroValue`: a struct's `CodingKeys` name the reader schema's fields, and each
/// field is read from the bytes when the struct asks for it.
///
/// Mapping: `String` ← string (or bytes, enum symbol); `Int`, `Int64`, `Int32` ← int/long;
/// `Double`, `Float` ← float/double (with promotions); `Bool`; `[UInt8]` ← bytes/fixed;
/// `AvroDecimal` ← decimal; `Optional` ← a union with null; arrays ← array; `[String: V]` ←
/// map; a `String`-raw-value enum ← enum (the reader's symbol); nested structs ← records. A
/// reader field the writer lacks takes its default.
///
/// Fields are read in the writer's order as the struct asks for them; a field asked for out
/// of order is found by skipping over the ones before it, whose positions are remembered.
///
/// - Thread-safety: not thread-safe; one decoder per thread (the plan can be shared). Reusing
///   a decoder for many values reuses its buffers.
public final class AvroBinaryDecoder: Decoder {
    /// The reading plan values are decoded with.
    public let plan: AvroReadingPlan
    /// The bounds on lengths, counts and depth.
    public let limits: AvroDecodingLimits
    public var codingPath: [any CodingKey] { [] }
    public var userInfo: [CodingUserInfoKey: Any] { [:] }

    struct RecordLevel {
        /// Kept alive by `plan`, which the decoder holds; unowned so that copying a level costs no retain.
        unowned(unsafe) let plan: AvroRecordReadPlan
        /// The plan's frozen tables (names and steps by slot, nodes by step), held here so that
        /// reading a field touches no reference (using `plan` costs a retain and a release).
        let names: UnsafeMutableBufferPointer<String>
        let stepBySlot: UnsafeMutableBufferPointer<Int>
        let nodes: UnsafeMutableBufferPointer<AvroReadNode>
        var base = 0
        var nextStep = 0
        var cursor: Int
        var expectedSlot = 0

        /// A level for a record that starts at `cursor`, whose step offsets start at `base`.
        init(plan: AvroRecordReadPlan, base: Int = 0, cursor: Int = 0) {
            self.plan = plan
            names = plan.frozenNames
            stepBySlot = plan.frozenStepBySlot
            nodes = plan.frozenNodes
            self.base = base
            self.cursor = cursor
        }
    }

    // The decoder is used by one thread at a time (its contract), so these skip the dynamic
    // exclusivity checks a class's stored properties otherwise pay on every access.
    @exclusivity(unchecked) var reader: AvroByteReader
    /// The node of the value the current `init(from:)` decodes.
    @exclusivity(unchecked) var node: AvroReadNode
    @exclusivity(unchecked) var depth = 0
    /// The open record levels, innermost last.
    @exclusivity(unchecked) var levels = AvroDecodingStack<RecordLevel>(capacity: 8)
    /// Where each step of each open level starts in the bytes (a level's `base` is its first).
    @exclusivity(unchecked) var offsets = AvroDecodingStack<Int>(capacity: 64)
    /// The keyed container handed out for each record level, by level: made once per level and
    /// key type and reused for every record decoded there (making one costs an allocation and
    /// two runtime metadata lookups, a fifth of a small record's decode).
    @exclusivity(unchecked) var recordContainers: [AvroRecordContainerEntry?] = []
    /// Set by a container that consumed its value to the end.
    @exclusivity(unchecked) var valueEnd: Int?
    /// A level for the root record (base and cursor set when it opens), when the root is a
    /// record: the fast path opens it without reading the plan's root node (a retain).
    let rootRecordLevel: RecordLevel?
    /// The root type last decoded, and that type as an `AvroRecordDecodable` when it is one:
    /// the conformance is looked up once per root type, not per value.
    @exclusivity(unchecked) var checkedRootType: ObjectIdentifier?
    @exclusivity(unchecked) var rootRecordDecodable: (any AvroRecordDecodable.Type)?

    /// A decoder for data the plan's writer wrote, decoded as its reader.
    public init(plan: AvroReadingPlan, limits: AvroDecodingLimits = .default) {
        self.plan = plan
        self.limits = limits
        self.node = plan.root
        if case .record(let recordPlan) = plan.root {
            rootRecordLevel = RecordLevel(plan: recordPlan)
        } else {
            rootRecordLevel = nil
        }
        self.reader = AvroByteReader(UnsafeRawBufferPointer(start: nil, count: 0), limits: limits)
    }

    /// A decoder for data written and read with `schema`.
    public convenience init(schema: AvroSchema, limits: AvroDecodingLimits = .default) {
        self.init(plan: AvroReadingPlan(schema: schema), limits: limits)
    }

    /// Decodes one `T` that fills `bytes` exactly.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes one `T` that fills `buffer` exactly. The buffer is only read during the call.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: UnsafeRawBufferPointer) throws -> T {
        reader = AvroByteReader(buffer, limits: limits)
        levels.removeAll()
        offsets.removeAll()
        depth = 0
        if let recordType = recordDecodableType(T.self) {
            let value = try recordType.avroDecodeRoot(from: self, as: T.self)
            try checkConsumedAll()
            return consume value
        }
        let value = try decodeValue(type, node: plan.root)
        try checkConsumedAll()
        // `consume` moves the value out; without it unspecialized code copies it (retaining its strings).
        return consume value
    }

    /// Throws unless the value filled the buffer exactly.
    @inline(__always)
    func checkConsumedAll() throws {
        guard reader.remaining == 0 else { throw reader.error(.trailingBytes(reader.remaining)) }
    }

    func mismatch(_ expected: Any.Type, _ node: AvroReadNode) -> DecodingError {
        DecodingError.typeMismatch(
            expected, DecodingError.Context(codingPath: [], debugDescription: "the schema has \(node.kindName) at byte \(reader.position)")
        )
    }

    /// The branch node of a union value (reading its index), or `node` itself.
    @inline(__always)
    func unwrapUnion(_ node: AvroReadNode) throws -> AvroReadNode {
        var node = node
        while true {
            switch node {
            case .writerUnion(let branches):
                let start = reader.position
                let index = try reader.readLong()
                guard index >= 0, index < Int64(branches.count) else {
                    throw AvroCodecError(.unionIndexOutOfRange(index, branches: branches.count), offset: start)
                }
                guard let branch = branches[Int(index)] else {
                    throw AvroCodecError(.unresolvable("the writer's union branch \(index)"), offset: start)
                }
                node = branch.node
            case .readerUnion(_, let inner):
                node = inner
            default:
                return node
            }
        }
    }

    /// Whether the value at the reader's position is null, without consuming it.
    func peekNil(_ node: AvroReadNode) throws -> Bool {
        let start = reader.position
        defer { reader.position = start }
        return try unwrapUnion(node).isNull
    }

    @inline(__always)
    func readString(_ node: AvroReadNode) throws -> String {
        switch node {
        case .string, .bytesAsString: return try reader.readString()
        case .enumeration(let readerIndex, let symbols, let readerSymbols):
            let start = reader.position
            let index = try reader.readLong()
            guard index >= 0, index < Int64(readerIndex.count) else {
                throw AvroCodecError(.enumIndexOutOfRange(index, symbols: readerIndex.count), offset: start)
            }
            guard let mapped = readerIndex[Int(index)] else {
                throw AvroCodecError(.unresolvable("the writer's symbol '\(symbols[Int(index)])'"), offset: start)
            }
            return readerSymbols[mapped]
        case .writerUnion, .readerUnion: return try readString(try unwrapUnion(node))
        default: throw mismatch(String.self, node)
        }
    }

    @inline(__always)
    func readInt64(_ node: AvroReadNode) throws -> Int64 {
        switch node {
        case .long: return try reader.readLong()
        case .int, .intAsLong: return Int64(try reader.readInt())
        case .writerUnion, .readerUnion: return try readInt64(try unwrapUnion(node))
        default: throw mismatch(Int64.self, node)
        }
    }

    func readDouble(_ node: AvroReadNode) throws -> Double {
        switch node {
        case .double: return try reader.readDouble()
        case .float, .floatAsDouble: return Double(try reader.readFloat())
        case .intAsDouble: return Double(try reader.readInt())
        case .longAsDouble: return Double(try reader.readLong())
        case .intAsFloat: return Double(Float(try reader.readInt()))
        case .longAsFloat: return Double(Float(try reader.readLong()))
        case .writerUnion, .readerUnion: return try readDouble(try unwrapUnion(node))
        default: throw mismatch(Double.self, node)
        }
    }

    func readFloat(_ node: AvroReadNode) throws -> Float {
        switch node {
        case .float: return try reader.readFloat()
        case .intAsFloat: return Float(try reader.readInt())
        case .longAsFloat: return Float(try reader.readLong())
        case .writerUnion, .readerUnion: return try readFloat(try unwrapUnion(node))
        default: throw mismatch(Float.self, node)
        }
    }

    func readBool(_ node: AvroReadNode) throws -> Bool {
        switch node {
        case .boolean: return try reader.readBoolean()
        case .writerUnion, .readerUnion: return try readBool(try unwrapUnion(node))
        default: throw mismatch(Bool.self, node)
        }
    }

    func readBytes(_ node: AvroReadNode) throws -> [UInt8] {
        switch node {
        case .bytes, .stringAsBytes, .decimalBytes: return try reader.readBytes()
        case .fixed(let size), .decimalFixed(let size, _): return try reader.readRaw(size)
        case .writerUnion, .readerUnion: return try readBytes(try unwrapUnion(node))
        default: throw mismatch([UInt8].self, node)
        }
    }

    func readDecimal(_ node: AvroReadNode) throws -> AvroDecimal {
        let start = reader.position
        let length: Int
        let scale: Int
        switch node {
        case .decimalBytes(let decimalScale):
            length = try reader.readLength()
            scale = decimalScale
        case .decimalFixed(let size, let decimalScale):
            guard size <= reader.remaining else { throw reader.error(.truncated) }
            length = size
            scale = decimalScale
        case .writerUnion, .readerUnion: return try readDecimal(try unwrapUnion(node))
        default: throw mismatch(AvroDecimal.self, node)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: reader.buffer[reader.position..<reader.position + length])
        guard let decimal = AvroDecimal(unscaledBytes: bytes, scale: scale) else {
            throw AvroCodecError(.mismatch("the decimal does not fit 64 bits"), offset: start)
        }
        reader.position += length
        return decimal
    }

    /// Decodes the `AvroDecimal` the current node holds (for `AvroDecimal.init(from:)`).
    func decodeDecimal() throws -> AvroDecimal {
        let value = try readDecimal(node)
        valueEnd = reader.position
        return value
    }

    /// Decodes a `T` from the reader's position as `node` says, leaving the position after it.
    func decodeValue<T: Decodable>(_ type: T.Type, node: AvroReadNode) throws -> T {
        // The checks make the casts exact, so they are bit casts rather than dynamic casts.
        if T.self == String.self { return unsafeBitCast(try readString(node), to: T.self) }
        if T.self == [UInt8].self { return unsafeBitCast(try readBytes(node), to: T.self) }
        if T.self == AvroDecimal.self { return unsafeBitCast(try readDecimal(node), to: T.self) }
        let start = reader.position
        let valueNode = try unwrapUnion(node)
        guard depth < limits.depthMax else { throw reader.error(.depthOverLimit(limit: limits.depthMax)) }
        let (savedNode, savedEnd, savedLevels) = (self.node, valueEnd, levels.count)
        self.node = valueNode
        valueEnd = nil
        depth += 1
        defer {
            depth -= 1
            self.node = savedNode
        }
        let value = try T(from: self)
        if levels.count > savedLevels {
            try finishRecord()
        } else if let end = valueEnd {
            reader.position = end
        } else {
            // The value's init read nothing (or not all): step over the whole value.
            reader.position = start
            try reader.skip(node, depth: depth)
        }
        valueEnd = savedEnd
        return consume value
    }

    /// Moves past the rest of the innermost record and drops its level.
    func finishRecord() throws {
        let level = levels.removeLast()
        reader.position = level.cursor
        for step in level.nextStep..<level.nodes.count {
            try reader.skip(level.nodes[step], depth: depth)
        }
        offsets.removeAll(from: level.base)
    }

    /// Reads reader field `name` of record level `level` with `read`, from where the writer put it
    /// (or from the field's default).
    @inline(__always)
    func field<V>(_ level: Int, _ name: String, _ read: (AvroReadNode) throws -> V) throws -> V {
        try fieldAt(level, slot: try slot(level, name), read)
    }

    /// The reader slot of field `name` at record level `level`: the one expected next when its
    /// name matches (one string comparison), else found by name.
    @inline(__always)
    func slot(_ level: Int, _ name: String) throws -> Int {
        let expected = levels[level].expectedSlot
        let names = levels[level].names
        if expected < names.count, names[expected] == name { return expected }
        if let found = levels[level].plan.slotByName[name] { return found }
        throw DecodingError.keyNotFound(
            AvroFieldKey(name), DecodingError.Context(codingPath: [], debugDescription: "the reader schema has no field '\(name)'")
        )
    }

    /// Reads the reader field in `slot` of record level `level` with `read`, from where the
    /// writer put it (or from the field's default).
    /// - Precondition: `0 ≤ slot < readerFieldCount` of the level's plan.
    @inline(__always)
    func fieldAt<V>(_ level: Int, slot: Int, _ read: (AvroReadNode) throws -> V) throws -> V {
        var state = levels[level]
        state.expectedSlot = slot + 1
        let step = state.stepBySlot[slot]
        guard step >= 0 else {
            levels[level].expectedSlot = slot + 1
            return try readDefault(state.plan, slot: slot, name: state.names[slot], read)
        }
        if step >= state.nextStep {
            reader.position = state.cursor
            while state.nextStep < step {
                offsets[state.base + state.nextStep] = reader.position
                try reader.skip(state.nodes[state.nextStep], depth: depth)
                state.nextStep += 1
            }
            offsets[state.base + step] = reader.position
            // Saved before the read: a nested record's level goes above this one.
            levels[level] = state
            let value: V
            do {
                value = try read(state.nodes[step])
            } catch let error as AvroCodecError {
                throw error.within(state.names[slot])
            }
            levels[level].nextStep = step + 1
            levels[level].cursor = reader.position
            return value
        }
        levels[level].expectedSlot = slot + 1
        reader.position = offsets[state.base + step]
        do {
            return try read(state.nodes[step])
        } catch let error as AvroCodecError {
            throw error.within(state.names[slot])
        }
    }

    /// Reads a reader field's default from its binary form, then returns to the record's bytes.
    func readDefault<V>(_ recordPlan: AvroRecordReadPlan, slot: Int, name: String, _ read: (AvroReadNode) throws -> V) throws -> V {
        guard let bytes = recordPlan.defaultBytesBySlot[slot], let defaultNode = recordPlan.defaultNodeBySlot[slot] else {
            throw DecodingError.keyNotFound(
                AvroFieldKey(name), DecodingError.Context(codingPath: [], debugDescription: "field '\(name)' has no value and no default")
            )
        }
        let saved = reader
        defer { reader = saved }
        return try bytes.withUnsafeBytes { buffer in
            reader = AvroByteReader(buffer, limits: limits)
            return try read(defaultNode)
        }
    }

    /// Whether reader field `name` holds null, without consuming it.
    func fieldIsNil(_ level: Int, _ name: String) throws -> Bool {
        let expected = levels[level].expectedSlot
        let result = try field(level, name) { node in try peekNil(node) }
        // Peeking does not consume the field: it is asked for again when not null.
        levels[level].expectedSlot = expected
        if let slot = levels[level].plan.slotByName[name], levels[level].plan.stepBySlot[slot] >= 0,
            levels[level].plan.stepBySlot[slot] == levels[level].nextStep - 1
        {
            levels[level].nextStep -= 1
            levels[level].cursor = offsets[levels[level].base + levels[level].nextStep]
        }
        return result
    }

    public func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch node {
        case .record(let recordPlan):
            let base = offsets.count
            offsets.append(repeating: 0, count: recordPlan.frozenNodes.count)
            levels.append(RecordLevel(plan: recordPlan, base: base, cursor: reader.position))
            return recordContainer(keyedBy: Key.self, level: levels.count - 1)
        case .map(let values):
            let container = try AvroMapDecodingContainer<Key>(decoder: self, values: values)
            valueEnd = reader.position
            return KeyedDecodingContainer(container)
        default:
            throw mismatch([String: Any].self, node)
        }
    }

    public func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = node else { throw mismatch([Any].self, node) }
        return try AvroArrayDecodingContainer(decoder: self, items: items)
    }

    public func singleValueContainer() throws -> any SingleValueDecodingContainer {
        AvroSingleValueDecodingContainer(decoder: self, node: node)
    }
}

/// A field name as a coding key, for errors.
struct AvroFieldKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension AvroReadNode {
    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// What the node reads, for errors.
    var kindName: String {
        switch self {
        case .null: "null"
        case .boolean: "a boolean"
        case .int, .intAsLong, .intAsFloat, .intAsDouble: "an int"
        case .long, .longAsFloat, .longAsDouble: "a long"
        case .float, .floatAsDouble: "a float"
        case .double: "a double"
        case .bytes, .stringAsBytes: "bytes"
        case .string, .bytesAsString: "a string"
        case .fixed: "a fixed"
        case .decimalBytes, .decimalFixed: "a decimal"
        case .enumeration: "an enum"
        case .array: "an array"
        case .map: "a map"
        case .record: "a record"
        case .writerUnion, .readerUnion: "a union"
        }
    }
}
