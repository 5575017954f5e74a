extension AvroSchema {
    /// The Parsing Canonical Form (Avro spec, "Parsing Canonical Form for Schemas").
    ///
    /// PRIMITIVES as bare names, FULLNAMES for every name, STRIP to `name`, `type`, `fields`,
    /// `symbols`, `items`, `values`, `size` in that ORDER, no whitespace; a named type is written
    /// whole where first met and by full name after. Logical types and properties are stripped.
    public var parsingCanonicalForm: String {
        var out = ""
        writeCanonical(to: &out)
        return out
    }

    /// CRC-64-AVRO (Rabin) of the Parsing Canonical Form's UTF-8 bytes.
    ///
    /// The value Java's `SchemaNormalization.parsingFingerprint64` returns; the single-object
    /// encoding and fastavro's hex string carry it as 8 little-endian bytes.
    public var fingerprint: UInt64 {
        AvroFingerprint.crc64Avro(Array(parsingCanonicalForm.utf8))
    }

    func writeCanonical(to out: inout String) {
        switch self {
        case .null, .boolean, .int, .long, .float, .double, .bytes, .string:
            out += "\"\(typeName)\""
        case .record(let record):
            out += "{\"name\":\"\(record.name.fullName)\",\"type\":\"record\",\"fields\":["
            for (position, field) in record.fields.enumerated() {
                if position > 0 { out += "," }
                out += "{\"name\":"
                AvroJSON.writeString(field.name, to: &out)
                out += ",\"type\":"
                field.type.writeCanonical(to: &out)
                out += "}"
            }
            out += "]}"
        case .enumeration(let enumeration):
            out += "{\"name\":\"\(enumeration.name.fullName)\",\"type\":\"enum\",\"symbols\":["
            out += enumeration.symbols.map { "\"\($0)\"" }.joined(separator: ",")
            out += "]}"
        case .fixed(let fixed):
            out += "{\"name\":\"\(fixed.name.fullName)\",\"type\":\"fixed\",\"size\":\(fixed.size)}"
        case .array(let items):
            out += "{\"type\":\"array\",\"items\":"
            items.writeCanonical(to: &out)
            out += "}"
        case .map(let values):
            out += "{\"type\":\"map\",\"values\":"
            values.writeCanonical(to: &out)
            out += "}"
        case .union(let branches):
            out += "["
            for (position, branch) in branches.enumerated() {
                if position > 0 { out += "," }
                branch.writeCanonical(to: &out)
            }
            out += "]"
        case .reference(let fullName):
            out += "\"\(fullName)\""
        case .logical(_, let underlying), .annotated(let underlying, _):
            underlying.writeCanonical(to: &out)
        }
    }
}

/// The CRC-64-AVRO fingerprint (Avro spec, "Schema Fingerprints"): a Rabin fingerprint with
/// the polynomial the specification fixes, initial value `EMPTY = 0xc15d213aa4d7a795`.
public enum AvroFingerprint {
    /// The specification's `EMPTY` value and polynomial.
    public static let empty: UInt64 = 0xC15D_213A_A4D7_A795

    static let table: [UInt64] = (0..<256).map { index in
        var fingerprint = UInt64(index)
        for _ in 0..<8 {
            fingerprint = (fingerprint >> 1) ^ (empty & (0 &- (fingerprint & 1)))
        }
        return fingerprint
    }

    /// The CRC-64-AVRO of `bytes`.
    public static func crc64Avro(_ bytes: [UInt8]) -> UInt64 {
        var fingerprint = empty
        for byte in bytes {
            fingerprint = (fingerprint >> 8) ^ table[Int((fingerprint ^ UInt64(byte)) & 0xFF)]
        }
        return fingerprint
    }
}
