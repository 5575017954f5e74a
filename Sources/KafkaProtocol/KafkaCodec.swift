/// Decodes and encodes Kafka message bodies by walking the generated schema table: one
/// codec for every message and version, nothing hand-written per message.
///
/// The rules, per struct at version `v` (Kafka's generated `read`/`write`):
///
/// ```
///  field absent in v        skipped on the wire; decodes to its default; encoding a
///                           non-default value is an error unless the field is ignorable
///  v flexible, field tagged in the tagged section (below), written only when not default
///  int8/16/32/64, uint16/32, float64, uuid      fixed width, big-endian
///  bool                     1 byte (decode: non-zero is true)
///  string                   int16 length (-1 null)     | flexible: uvarint length+1 (0 null)
///  bytes, records           int32 length (-1 null)     | flexible: uvarint length+1 (0 null)
///  array                    int32 count (-1 null)      | flexible: uvarint count+1 (0 null)
///  nullable struct          int8 -1 null / 1 present, then the struct
///  v flexible: tagged section = uvarint count, then per field (ascending tag):
///                           uvarint tag, uvarint size, value; unknown tags are kept raw
/// ```
///
/// Null is accepted only in a field's nullable versions. Every length is checked against
/// the bytes that remain before anything is allocated, and decoding is linear in the input.
/// Thread-safe (pure functions).
package enum KafkaCodec {
    /// Decodes a request body of `api` at `version` from `bytes[start...]`, which it must fill.
    package static func decodeRequest(
        _ api: KafkaAPI, version: Int16, from bytes: [UInt8], at start: Int = 0
    ) throws(KafkaProtocolError) -> KafkaStruct {
        try decode(api.requestSchema, version: version, from: bytes, at: start)
    }

    /// Decodes a response body of `api` at `version` from `bytes[start...]`, which it must fill.
    package static func decodeResponse(
        _ api: KafkaAPI, version: Int16, from bytes: [UInt8], at start: Int = 0
    ) throws(KafkaProtocolError) -> KafkaStruct {
        try decode(api.responseSchema, version: version, from: bytes, at: start)
    }

    /// Encodes a request body of `api` at `version`.
    package static func encodeRequest(_ value: KafkaStruct, _ api: KafkaAPI, version: Int16) throws(KafkaProtocolError) -> [UInt8] {
        try encode(value, as: api.requestSchema, version: version)
    }

    /// Encodes a response body of `api` at `version`.
    package static func encodeResponse(_ value: KafkaStruct, _ api: KafkaAPI, version: Int16) throws(KafkaProtocolError) -> [UInt8] {
        try encode(value, as: api.responseSchema, version: version)
    }

    /// Decodes a message of `schema` at `version` from `bytes[start...]`; bytes left over are
    /// an error (`trailingBytes`).
    package static func decode(
        _ schema: KafkaMessageSchema, version: Int16, from bytes: [UInt8], at start: Int = 0
    ) throws(KafkaProtocolError) -> KafkaStruct {
        var reader = KafkaWireReader(bytes, from: start)
        let value = try decode(schema, version: version, from: &reader)
        guard reader.remaining == 0 else {
            throw KafkaProtocolError(
                .trailingBytes, "\(reader.remaining) bytes after the message", byteOffset: reader.position,
                message: schema.name, version: version)
        }
        return value
    }

    /// Decodes a message of `schema` at `version` from the reader's position onwards.
    static func decode(
        _ schema: KafkaMessageSchema, version: Int16, from reader: inout KafkaWireReader
    ) throws(KafkaProtocolError) -> KafkaStruct {
        guard schema.validVersions.contains(version) else {
            throw KafkaProtocolError(
                .unsupportedVersion, "valid versions are \(schema.validVersions)", message: schema.name, version: version)
        }
        do {
            return try decodeStruct(schema.body, version: version, flexible: schema.isFlexible(version), from: &reader)
        } catch {
            throw error.naming(schema.name, version: version)
        }
    }

    /// Encodes `value` as a message of `schema` at `version`.
    ///
    /// - Precondition: `value` is a value of `schema.body`.
    package static func encode(_ value: KafkaStruct, as schema: KafkaMessageSchema, version: Int16) throws(KafkaProtocolError) -> [UInt8] {
        var writer = KafkaWireWriter()
        try encode(value, as: schema, version: version, into: &writer)
        return writer.bytes
    }

    /// Appends `value` encoded as a message of `schema` at `version`.
    static func encode(
        _ value: KafkaStruct, as schema: KafkaMessageSchema, version: Int16, into writer: inout KafkaWireWriter
    ) throws(KafkaProtocolError) {
        precondition(value.schema === schema.body, "a \(value.schema.name) value encoded as \(schema.name)")
        guard schema.validVersions.contains(version) else {
            throw KafkaProtocolError(
                .unsupportedVersion, "valid versions are \(schema.validVersions)", message: schema.name, version: version)
        }
        do {
            try encodeStruct(value, version: version, flexible: schema.isFlexible(version), into: &writer)
        } catch {
            throw error.naming(schema.name, version: version)
        }
    }

    // MARK: Decoding

    private static func decodeStruct(
        _ schema: KafkaStructSchema, version: Int16, flexible: Bool, from reader: inout KafkaWireReader
    ) throws(KafkaProtocolError) -> KafkaStruct {
        var value = KafkaStruct(defaultsOf: schema)
        for (index, field) in schema.fields.enumerated() where field.versions.contains(version) {
            if flexible && field.taggedVersions.contains(version) { continue }
            do {
                value.setDecoded(try decodeValue(field, version: version, flexible: flexible, from: &reader), at: index)
            } catch {
                throw error.within(field.name)
            }
        }
        guard flexible else { return value }
        let count = try reader.readUnsignedVarint()
        // Each tagged field takes at least two bytes (its tag and its size).
        guard Int(count) <= reader.remaining / 2 else {
            throw KafkaProtocolError(
                .invalidLength, "\(count) tagged fields but \(reader.remaining) bytes remain", byteOffset: reader.position)
        }
        for _ in 0..<count {
            let tag = try reader.readUnsignedVarint()
            let size = Int(try reader.readUnsignedVarint())
            if let index = schema.fieldIndexByTag[tag], schema.fields[index].taggedVersions.contains(version) {
                let field = schema.fields[index]
                do {
                    let decoded = try reader.limited(to: size) { (inner) throws(KafkaProtocolError) in
                        try decodeValue(field, version: version, flexible: true, from: &inner)
                    }
                    value.setDecoded(decoded, at: index)
                } catch {
                    throw error.within(field.name)
                }
            } else {
                value.unknownTaggedFields.append(KafkaTaggedField(tag: tag, bytes: try reader.readBytes(size)))
            }
        }
        return value
    }

    private static func decodeValue(
        _ field: KafkaFieldSchema, version: Int16, flexible: Bool, from reader: inout KafkaWireReader
    ) throws(KafkaProtocolError) -> KafkaValue {
        let nullable = field.nullableVersions.contains(version)
        let compact = flexible && (field.flexibleVersions?.contains(version) ?? true)
        return try decodeValue(field.type, nullable: nullable, compact: compact, version: version, flexible: flexible, from: &reader)
    }

    private static func decodeValue(
        _ type: KafkaFieldType, nullable: Bool, compact: Bool, version: Int16, flexible: Bool,
        from reader: inout KafkaWireReader
    ) throws(KafkaProtocolError) -> KafkaValue {
        switch type {
        case .int8: return .int8(try reader.readInt8())
        case .int16: return .int16(try reader.readInt16())
        case .int32: return .int32(try reader.readInt32())
        case .int64: return .int64(try reader.readInt64())
        case .uint16: return .uint16(try reader.readUInt16())
        case .uint32: return .uint32(try reader.readUInt32())
        case .float64: return .float64(try reader.readFloat64())
        case .bool: return .bool(try reader.readInt8() != 0)
        case .uuid: return .uuid(try reader.readUUID())
        case .string:
            let start = reader.position
            let length = compact ? Int(try reader.readUnsignedVarint()) - 1 : Int(try reader.readInt16())
            guard let length = try nullableLength(length, nullable: nullable, at: start) else { return .string(nil) }
            guard length <= Int(Int16.max) else {
                throw KafkaProtocolError(.invalidLength, "string of \(length) bytes, over 32767", byteOffset: start)
            }
            return .string(try reader.readString(length))
        case .bytes, .records:
            let start = reader.position
            let length = compact ? Int(try reader.readUnsignedVarint()) - 1 : Int(try reader.readInt32())
            let bytes = try nullableLength(length, nullable: nullable, at: start).map { (length) throws(KafkaProtocolError) in
                try reader.readBytes(length)
            }
            if case .records = type { return .records(bytes) }
            return .bytes(bytes)
        case .array(let element):
            let start = reader.position
            let count = compact ? Int(try reader.readUnsignedVarint()) - 1 : Int(try reader.readInt32())
            guard let count = try nullableLength(count, nullable: nullable, at: start) else { return .array(nil) }
            // Kafka's check: never allocate for more elements than there are bytes left.
            guard count <= reader.remaining else {
                throw KafkaProtocolError(
                    .invalidLength, "array of \(count) elements but \(reader.remaining) bytes remain", byteOffset: start)
            }
            var elements: [KafkaValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                do {
                    elements.append(
                        try decodeValue(element, nullable: false, compact: compact, version: version, flexible: flexible, from: &reader))
                } catch {
                    throw error.within("[\(index)]")
                }
            }
            return .array(elements)
        case .structure(let schema):
            if nullable, try reader.readInt8() < 0 { return .structure(nil) }
            return .structure(try decodeStruct(schema, version: version, flexible: flexible, from: &reader))
        }
    }

    /// `length` when it is a length, nil for a null the field allows; an error otherwise.
    private static func nullableLength(_ length: Int, nullable: Bool, at offset: Int) throws(KafkaProtocolError) -> Int? {
        if length >= 0 { return length }
        guard length == -1 else {
            throw KafkaProtocolError(.invalidLength, "negative length \(length)", byteOffset: offset)
        }
        guard nullable else {
            throw KafkaProtocolError(.nullNotAllowed, "null in a version where the field is not nullable", byteOffset: offset)
        }
        return nil
    }

    // MARK: Encoding

    private static func encodeStruct(
        _ value: KafkaStruct, version: Int16, flexible: Bool, into writer: inout KafkaWireWriter
    ) throws(KafkaProtocolError) {
        var tagged: [KafkaTaggedField] = []
        for (index, field) in value.schema.fields.enumerated() {
            let fieldValue = value[fieldAt: index]
            guard field.versions.contains(version) else {
                if !field.ignorable && fieldValue != field.defaultValue {
                    throw KafkaProtocolError(
                        .fieldNotInVersion, "\(fieldValue) is not the default \(field.defaultValue), and the field exists in versions \(field.versions) only",
                        fieldPath: [field.name])
                }
                continue
            }
            do {
                if flexible && field.taggedVersions.contains(version) {
                    guard let tag = field.tag else { preconditionFailure("\(field.name): tagged versions without a tag") }
                    if fieldValue != field.defaultValue {
                        var fieldWriter = KafkaWireWriter()
                        try encodeValue(fieldValue, field, version: version, flexible: true, into: &fieldWriter)
                        tagged.append(KafkaTaggedField(tag: tag, bytes: fieldWriter.bytes))
                    }
                } else {
                    try encodeValue(fieldValue, field, version: version, flexible: flexible, into: &writer)
                }
            } catch {
                throw error.within(field.name)
            }
        }
        guard flexible else { return }
        // Known and unknown tagged fields interleave in ascending tag order, as Kafka writes them.
        let all = (tagged + value.unknownTaggedFields).enumerated().sorted {
            ($0.element.tag, $0.offset) < ($1.element.tag, $1.offset)
        }
        writer.writeUnsignedVarint(UInt32(all.count))
        for (_, field) in all {
            writer.writeUnsignedVarint(field.tag)
            writer.writeUnsignedVarint(try lengthPrefix(field.bytes.count))
            writer.writeBytes(field.bytes)
        }
    }

    private static func encodeValue(
        _ value: KafkaValue, _ field: KafkaFieldSchema, version: Int16, flexible: Bool, into writer: inout KafkaWireWriter
    ) throws(KafkaProtocolError) {
        let nullable = field.nullableVersions.contains(version)
        let compact = flexible && (field.flexibleVersions?.contains(version) ?? true)
        try encodeValue(value, field.type, nullable: nullable, compact: compact, version: version, flexible: flexible, into: &writer)
    }

    private static func encodeValue(
        _ value: KafkaValue, _ type: KafkaFieldType, nullable: Bool, compact: Bool, version: Int16, flexible: Bool,
        into writer: inout KafkaWireWriter
    ) throws(KafkaProtocolError) {
        if value.isNull && !nullable {
            throw KafkaProtocolError(.nullNotAllowed, "null, and the field is not nullable at this version")
        }
        switch value {
        case .int8(let number): writer.writeInt8(number)
        case .int16(let number): writer.writeInt16(number)
        case .int32(let number): writer.writeInt32(number)
        case .int64(let number): writer.writeInt64(number)
        case .uint16(let number): writer.writeUInt16(number)
        case .uint32(let number): writer.writeUInt32(number)
        case .float64(let number): writer.writeFloat64(number)
        case .bool(let flag): writer.writeInt8(flag ? 1 : 0)
        case .uuid(let uuid): writer.writeUUID(uuid)
        case .string(let text):
            let utf8 = text.map { Array($0.utf8) }
            if let utf8, utf8.count > Int(Int16.max) {
                throw KafkaProtocolError(.invalidLength, "string of \(utf8.count) bytes, over 32767")
            }
            if compact {
                writer.writeUnsignedVarint(try lengthPrefix(utf8.map { $0.count + 1 } ?? 0))
            } else {
                writer.writeInt16(Int16(utf8?.count ?? -1))
            }
            if let utf8 { writer.writeBytes(utf8) }
        case .bytes(let bytes), .records(let bytes):
            if compact {
                writer.writeUnsignedVarint(try lengthPrefix(bytes.map { $0.count + 1 } ?? 0))
            } else {
                writer.writeInt32(try int32Length(bytes?.count ?? -1))
            }
            if let bytes { writer.writeBytes(bytes) }
        case .array(let elements):
            guard case .array(of: let elementType) = type else { preconditionFailure("array value in a \(type.kafkaName) field") }
            if compact {
                writer.writeUnsignedVarint(try lengthPrefix(elements.map { $0.count + 1 } ?? 0))
            } else {
                writer.writeInt32(try int32Length(elements?.count ?? -1))
            }
            for (index, element) in (elements ?? []).enumerated() {
                do {
                    try encodeValue(element, elementType, nullable: false, compact: compact, version: version, flexible: flexible, into: &writer)
                } catch {
                    throw error.within("[\(index)]")
                }
            }
        case .structure(let nested):
            if nullable { writer.writeInt8(nested == nil ? -1 : 1) }
            if let nested { try encodeStruct(nested, version: version, flexible: flexible, into: &writer) }
        }
    }

    private static func lengthPrefix(_ count: Int) throws(KafkaProtocolError) -> UInt32 {
        guard let prefix = UInt32(exactly: count) else {
            throw KafkaProtocolError(.invalidLength, "length \(count) does not fit an unsigned varint")
        }
        return prefix
    }

    private static func int32Length(_ count: Int) throws(KafkaProtocolError) -> Int32 {
        guard let length = Int32(exactly: count) else {
            throw KafkaProtocolError(.invalidLength, "length \(count) does not fit an int32")
        }
        return length
    }
}
