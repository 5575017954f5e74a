extension AvroValue {
    /// The value in Avro's binary encoding for `schema` (arrays and maps as one block then
    /// the end marker, as the reference libraries write them).
    /// - Throws: `AvroCodecError` with the field path where the value does not fit `schema`.
    public func binaryEncoded(schema: AvroSchema) throws(AvroCodecError) -> [UInt8] {
        var writer = AvroByteWriter()
        try write(to: &writer, schema: schema, types: schema.namedTypes, path: "")
        return writer.bytes
    }

    /// Appends the value's binary encoding for `schema` to `writer`.
    public func write(to writer: inout AvroByteWriter, schema: AvroSchema) throws(AvroCodecError) {
        try write(to: &writer, schema: schema, types: schema.namedTypes, path: "")
    }

    func write(to writer: inout AvroByteWriter, schema: AvroSchema, types: [String: AvroSchema], path: String) throws(AvroCodecError) {
        func mismatch(_ detail: String = "") -> AvroCodecError {
            AvroCodecError(.mismatch("the value does not fit the schema's \(schema.typeName)\(detail)"), offset: 0, path: path)
        }
        switch (AvroPlanBuilder.resolve(schema, in: types), self) {
        case (.null, .null): break
        case (.boolean, .boolean(let value)): writer.writeBoolean(value)
        case (.int, .int(let value)): writer.writeInt(value)
        case (.long, .long(let value)): writer.writeLong(value)
        case (.float, .float(let value)): writer.writeFloat(value)
        case (.double, .double(let value)): writer.writeDouble(value)
        case (.bytes, .bytes(let value)): writer.writeBytes(value)
        case (.string, .string(let value)): writer.writeString(value)
        case (.fixed(let fixed), .fixed(let value)):
            guard value.count == fixed.size else { throw mismatch(": \(value.count) bytes for size \(fixed.size)") }
            writer.writeRaw(value)
        case (.enumeration(let enumeration), .enumeration(let index)):
            guard enumeration.symbols.indices.contains(index) else { throw mismatch(": symbol index \(index)") }
            writer.writeInt(Int32(index))
        case (.array(let items), .array(let elements)):
            if !elements.isEmpty {
                writer.writeLong(Int64(elements.count))
                for (position, element) in elements.enumerated() {
                    try element.write(to: &writer, schema: items, types: types, path: "\(path)[\(position)]")
                }
            }
            writer.writeLong(0)
        case (.map(let values), .map(let entries)):
            if !entries.isEmpty {
                writer.writeLong(Int64(entries.count))
                for entry in entries {
                    writer.writeString(entry.key)
                    try entry.value.write(to: &writer, schema: values, types: types, path: "\(path){\(entry.key)}")
                }
            }
            writer.writeLong(0)
        case (.record(let record), .record(let fields)):
            guard fields.count == record.fields.count else { throw mismatch(": \(fields.count) values for \(record.fields.count) fields") }
            for (field, value) in zip(record.fields, fields) {
                try value.write(to: &writer, schema: field.type, types: types, path: path.isEmpty ? field.name : "\(path).\(field.name)")
            }
        case (.union(let branches), .union(let index, let value)):
            guard branches.indices.contains(index) else { throw mismatch(": branch \(index) of \(branches.count)") }
            writer.writeLong(Int64(index))
            try value.write(to: &writer, schema: branches[index], types: types, path: path)
        default:
            throw mismatch()
        }
    }
}
