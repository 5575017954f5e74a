/// Encodes `Encodable` Swift values straight into Avro binary for a schema, no intermediate
/// `AvroValue`; the mapping is `AvroBinaryDecoder`'s, reversed.
///
/// A struct's fields are written in the schema's order whatever order `encode(to:)` gives
/// them in (one given early waits in a side buffer); a field the value leaves out (a `nil`
/// optional that `encodeIfPresent` skips) is written as the null branch of its union, else as
/// the field's default, else encoding fails. A value for a union goes to the first branch its
/// Swift type fits (a struct to the record branch of its type's name, else the first record).
///
/// - Thread-safety: not thread-safe; one encoder per thread. Reusing one reuses its buffer.
public final class AvroBinaryEncoder: Encoder {
    /// The schema values are written with.
    public let schema: AvroSchema
    public var codingPath: [any CodingKey] { [] }
    public var userInfo: [CodingUserInfoKey: Any] { [:] }

    enum Level {
        case record(AvroRecordReadPlan, expectedSlot: Int, side: [[UInt8]?]?)
        case collection(start: Int, count: Int)
    }

    let root: AvroReadNode
    // One thread at a time (the contract): no dynamic exclusivity checks on the hot state.
    @exclusivity(unchecked) var writer = AvroByteWriter(capacity: 256)
    @exclusivity(unchecked) var node: AvroReadNode
    @exclusivity(unchecked) var levels: [Level] = []
    /// The root type last encoded, and that type as an `AvroRecordEncodable` when it is one.
    @exclusivity(unchecked) var checkedRootType: ObjectIdentifier?
    @exclusivity(unchecked) var rootRecordEncodable: (any AvroRecordEncodable.Type)?

    /// An encoder for `schema`.
    public init(schema: AvroSchema) {
        self.schema = schema
        self.root = AvroReadingPlan(schema: schema).root
        self.node = root
    }

    /// The binary encoding of `value`: an array of exactly its bytes (the encoder keeps its own
    /// buffer for the next value, so a caller that keeps the result holds no spare capacity).
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        writer.bytes.removeAll(keepingCapacity: true)
        levels.removeAll(keepingCapacity: true)
        try encodeRoot(value)
        return writer.bytes.withUnsafeBufferPointer { written in
            [UInt8](unsafeUninitializedCapacity: written.count) { copy, count in count = copy.initialize(fromContentsOf: written) }
        }
    }

    /// Appends the binary encoding of `value` to `bytes`.
    public func encode<T: Encodable>(_ value: T, appendingTo bytes: inout [UInt8]) throws {
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        levels.removeAll(keepingCapacity: true)
        try encodeRoot(value)
    }

    func mismatch(_ value: Any, _ node: AvroReadNode) -> EncodingError {
        EncodingError.invalidValue(value, EncodingError.Context(codingPath: [], debugDescription: "the schema has \(node.kindName) here"))
    }

    /// The index and node of the first union branch `fits` accepts.
    func branch(_ branches: [AvroUnionBranchPlan?], _ value: Any, fits: (AvroReadNode) -> Bool) throws -> (Int, AvroReadNode) {
        for (index, branch) in branches.enumerated() {
            if let branch, fits(branch.node) { return (index, branch.node) }
        }
        throw mismatch(value, .writerUnion(branches))
    }

    func writeString(_ value: String, _ node: AvroReadNode) throws {
        switch node {
        case .string: writer.writeString(value)
        case .bytes: writer.writeBytes(Array(value.utf8))
        case .enumeration(_, _, let symbols):
            guard let index = symbols.firstIndex(of: value) else { throw mismatch(value, node) }
            writer.writeInt(Int32(index))
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                switch node {
                case .string, .bytes: true
                case .enumeration(_, _, let symbols): symbols.contains(value)
                default: false
                }
            }
            writer.writeLong(Int64(index))
            try writeString(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeInteger(_ value: Int64, _ node: AvroReadNode) throws {
        switch node {
        case .long: writer.writeLong(value)
        case .int:
            guard let int = Int32(exactly: value) else { throw mismatch(value, node) }
            writer.writeInt(int)
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                if case .long = node { return true }
                if case .int = node { return Int32(exactly: value) != nil }
                return false
            }
            writer.writeLong(Int64(index))
            try writeInteger(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeDouble(_ value: Double, _ node: AvroReadNode) throws {
        switch node {
        case .double: writer.writeDouble(value)
        case .float: writer.writeFloat(Float(value))
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                if case .double = node { return true }
                if case .float = node { return true }
                return false
            }
            writer.writeLong(Int64(index))
            try writeDouble(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeFloat(_ value: Float, _ node: AvroReadNode) throws {
        switch node {
        case .float: writer.writeFloat(value)
        case .double: writer.writeDouble(Double(value))
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                if case .float = node { return true }
                if case .double = node { return true }
                return false
            }
            writer.writeLong(Int64(index))
            try writeFloat(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeBool(_ value: Bool, _ node: AvroReadNode) throws {
        switch node {
        case .boolean: writer.writeBoolean(value)
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { if case .boolean = $0 { true } else { false } }
            writer.writeLong(Int64(index))
            try writeBool(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeBytes(_ value: [UInt8], _ node: AvroReadNode) throws {
        switch node {
        case .bytes, .decimalBytes: writer.writeBytes(value)
        case .fixed(let size), .decimalFixed(let size, _):
            guard value.count == size else { throw mismatch(value, node) }
            writer.writeRaw(value)
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                switch node {
                case .bytes: true
                case .fixed(let size): size == value.count
                default: false
                }
            }
            writer.writeLong(Int64(index))
            try writeBytes(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    func writeDecimal(_ value: AvroDecimal, _ node: AvroReadNode) throws {
        switch node {
        case .decimalBytes(let scale):
            guard let scaled = value.rescaled(to: scale) else { throw mismatch(value, node) }
            writer.writeUnscaledDecimal(scaled.unscaled)
        case .decimalFixed(let size, let scale):
            guard let scaled = value.rescaled(to: scale) else { throw mismatch(value, node) }
            let bytes = scaled.unscaledBytes
            guard bytes.count <= size else { throw mismatch(value, node) }
            writer.writeRaw(repeatElement(scaled.unscaled < 0 ? 0xFF : 0x00, count: size - bytes.count))
            writer.writeRaw(bytes)
        case .writerUnion(let branches):
            let (index, branchNode) = try branch(branches, value) { node in
                switch node {
                case .decimalBytes, .decimalFixed: true
                default: false
                }
            }
            writer.writeLong(Int64(index))
            try writeDecimal(value, branchNode)
        default: throw mismatch(value, node)
        }
    }

    /// Encodes the `AvroDecimal` for the current node (for `AvroDecimal.encode(to:)`).
    func encodeDecimal(_ value: AvroDecimal) throws { try writeDecimal(value, node) }

    /// Writes the null branch of a union node.
    func writeNull(_ node: AvroReadNode) throws {
        switch node {
        case .null: return
        case .writerUnion(let branches):
            let (index, _) = try branch(branches, "nil") { $0.isNull }
            writer.writeLong(Int64(index))
        default: throw mismatch("nil", node)
        }
    }

    /// Encodes `value` as `node` says.
    func encodeValue<T: Encodable>(_ value: T, node: AvroReadNode) throws {
        // The checks make the casts exact, so they are bit casts rather than dynamic casts.
        if T.self == String.self { return try writeString(unsafeBitCast(value, to: String.self), node) }
        if T.self == [UInt8].self { return try writeBytes(unsafeBitCast(value, to: [UInt8].self), node) }
        if T.self == AvroDecimal.self { return try writeDecimal(unsafeBitCast(value, to: AvroDecimal.self), node) }
        var valueNode = node
        if case .writerUnion(let branches) = node, !(value is any AvroOptionalEncodable) {
            let typeName = String(describing: T.self)
            let named = branches.firstIndex { branch in
                if case .record(let plan)? = branch?.node { return plan.recordName == typeName }
                return false
            }
            let index =
                named
                ?? branches.firstIndex { branch in
                    switch branch?.node {
                    case .record?, .array?, .map?: true
                    default: false
                    }
                }
            guard let index, let chosen = branches[index] else { throw mismatch(value, node) }
            writer.writeLong(Int64(index))
            valueNode = chosen.node
        }
        let (savedNode, savedLevels) = (self.node, levels.count)
        self.node = valueNode
        defer { self.node = savedNode }
        try value.encode(to: self)
        if levels.count > savedLevels { try finishLevel() }
    }

    /// Completes the innermost record or collection.
    func finishLevel() throws {
        switch levels.removeLast() {
        case .record(let plan, var expectedSlot, let side):
            while expectedSlot < plan.readerFieldCount {
                if let bytes = side?[expectedSlot] {
                    writer.writeRaw(bytes)
                } else {
                    try writeMissingField(plan, slot: expectedSlot)
                }
                expectedSlot += 1
            }
        case .collection(let start, let count):
            if count > 0 {
                var prefix = AvroByteWriter(capacity: 10)
                prefix.writeLong(Int64(count))
                writer.bytes.insert(contentsOf: prefix.bytes, at: start)
            }
            writer.writeLong(0)
        }
    }

    func writeMissingField(_ plan: AvroRecordReadPlan, slot: Int) throws {
        let fieldNode = plan.stepNodes[slot]
        if case .writerUnion(let branches) = fieldNode, let index = branches.firstIndex(where: { $0?.node.isNull == true }) {
            writer.writeLong(Int64(index))
        } else if let bytes = plan.defaultBytesBySlot[slot] {
            writer.writeRaw(bytes)
        } else {
            throw EncodingError.invalidValue(
                plan.readerFieldNames[slot],
                EncodingError.Context(codingPath: [], debugDescription: "field '\(plan.readerFieldNames[slot])' has no value and no default")
            )
        }
    }

    /// Writes reader field `name` of the record at `level` with `write`, in schema order.
    func field(_ level: Int, _ name: String, _ write: (AvroReadNode) throws -> Void) throws {
        guard case .record(let plan, var expectedSlot, var side) = levels[level] else { preconditionFailure("a record level") }
        let slot: Int
        if expectedSlot < plan.readerFieldCount, plan.frozenNames[expectedSlot] == name {
            slot = expectedSlot
        } else if let found = plan.slotByName[name] {
            slot = found
        } else {
            throw EncodingError.invalidValue(name, EncodingError.Context(codingPath: [], debugDescription: "the schema has no field '\(name)'"))
        }
        let fieldNode = plan.frozenNodes[slot]
        if slot == expectedSlot {
            try write(fieldNode)
            expectedSlot += 1
            while expectedSlot < plan.readerFieldCount, let bytes = side?[expectedSlot] {
                writer.writeRaw(bytes)
                side?[expectedSlot] = nil
                expectedSlot += 1
            }
        } else if slot > expectedSlot, side?[slot] == nil {
            // Given before the fields ahead of it: kept aside until they are written.
            let start = writer.bytes.count
            try write(fieldNode)
            if side == nil { side = Array(repeating: nil, count: plan.readerFieldCount) }
            side?[slot] = Array(writer.bytes[start...])
            writer.bytes.removeSubrange(start...)
        } else {
            throw EncodingError.invalidValue(name, EncodingError.Context(codingPath: [], debugDescription: "field '\(name)' is encoded twice"))
        }
        levels[level] = .record(plan, expectedSlot: expectedSlot, side: side)
    }

    public func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch node {
        case .record(let plan):
            levels.append(.record(plan, expectedSlot: 0, side: nil))
            return KeyedEncodingContainer(AvroRecordEncodingContainer<Key>(encoder: self, level: levels.count - 1))
        case .map(let values):
            levels.append(.collection(start: writer.bytes.count, count: 0))
            return KeyedEncodingContainer(AvroMapEncodingContainer<Key>(encoder: self, level: levels.count - 1, values: values))
        default:
            return KeyedEncodingContainer(AvroFailingEncodingContainer<Key>(error: mismatch("a keyed value", node)))
        }
    }

    public func unkeyedContainer() -> any UnkeyedEncodingContainer {
        guard case .array(let items) = node else {
            return AvroFailingEncodingContainer<AvroFieldKey>(error: mismatch("an array", node))
        }
        levels.append(.collection(start: writer.bytes.count, count: 0))
        return AvroArrayEncodingContainer(encoder: self, level: levels.count - 1, items: items)
    }

    public func singleValueContainer() -> any SingleValueEncodingContainer {
        AvroSingleValueEncodingContainer(encoder: self, node: node)
    }

    func countItem(_ level: Int) {
        guard case .collection(let start, let count) = levels[level] else { preconditionFailure("a collection level") }
        levels[level] = .collection(start: start, count: count + 1)
    }
}

/// Marks `Optional`, whose encoding picks the union branch itself (null, or its wrapped value's).
protocol AvroOptionalEncodable {}
extension Optional: AvroOptionalEncodable {}

extension AvroRecordReadPlan {
    /// The record's unqualified name, for matching a Swift type to a union branch.
    var recordName: String { recordSchemaName }
}
