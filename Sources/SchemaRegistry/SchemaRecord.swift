import Foundation

/// One registered version of a subject: the unit the registry stores.
///
/// Thread-safety: a value.
package struct SubjectVersion: Sendable, Equatable {
    package var subject: String
    /// 1, 2, … within the subject; never reused while the subject holds a version with it.
    package var version: Int32
    /// The global schema id: the same schema (by identity) has the same id in every subject.
    package var id: Int32
    /// The schema's identity text (``SchemaRules/normalize``), as stored and returned.
    package var schema: String
    /// Soft-deleted: hidden from listings and registrations' compatibility checks, still found
    /// by id and with `deleted=true`, and removable for good only from this state.
    package var deleted: Bool

    package init(subject: String, version: Int32, id: Int32, schema: String, deleted: Bool = false) {
        self.subject = subject
        self.version = version
        self.id = id
        self.schema = schema
        self.deleted = deleted
    }
}

/// A record of the compacted `__schemas` topic, in Confluent's `_schemas` JSON formats (key
/// and value are UTF-8 JSON; the key is written with its fields in this fixed order, so one
/// logical key is always the same bytes and compaction keeps only its latest value):
/// ```
/// SCHEMA        key   {"keytype":"SCHEMA","subject":S,"version":V,"magic":1}
///               value {"subject":S,"version":V,"id":N,"schema":TEXT,"deleted":false}   (null: hard-deleted)
/// CONFIG        key   {"keytype":"CONFIG","subject":S|null,"magic":0}      (null subject: the global level)
///               value {"compatibilityLevel":"BACKWARD"}                       (null: the level removed)
/// ID_HIGH_WATER key   {"keytype":"SLUICE_ID_HIGH_WATER","magic":0}          (Sluice's; not Confluent's)
///               value {"id":N}                                             the highest id ever given
/// ```
/// The high-water record is written in the same batch as every registration that takes a new
/// id, so it survives compaction of hard-deleted versions and ids are never reused.
///
/// Thread-safety: a value.
package enum SchemaRecord: Sendable, Equatable {
    case version(SubjectVersion)
    case versionRemoved(subject: String, version: Int32)
    case level(subject: String?, CompatibilityLevel)
    case levelRemoved(subject: String?)
    case idHighWater(Int32)

    /// The key and value bytes (nil value: a tombstone).
    package var encoded: (key: [UInt8], value: [UInt8]?) {
        switch self {
        case .version(let entry):
            let value = "{\"subject\":\(RegistryJSON.quote(entry.subject)),\"version\":\(entry.version),\"id\":\(entry.id),"
                + "\"schema\":\(RegistryJSON.quote(entry.schema)),\"deleted\":\(entry.deleted)}"
            return (SchemaRecord.versionKey(entry.subject, entry.version), Array(value.utf8))
        case .versionRemoved(let subject, let version):
            return (SchemaRecord.versionKey(subject, version), nil)
        case .level(let subject, let level):
            return (SchemaRecord.levelKey(subject), Array("{\"compatibilityLevel\":\"\(level.rawValue)\"}".utf8))
        case .levelRemoved(let subject):
            return (SchemaRecord.levelKey(subject), nil)
        case .idHighWater(let id):
            return (Array("{\"keytype\":\"SLUICE_ID_HIGH_WATER\",\"magic\":0}".utf8), Array("{\"id\":\(id)}".utf8))
        }
    }

    private static func versionKey(_ subject: String, _ version: Int32) -> [UInt8] {
        Array("{\"keytype\":\"SCHEMA\",\"subject\":\(RegistryJSON.quote(subject)),\"version\":\(version),\"magic\":1}".utf8)
    }

    private static func levelKey(_ subject: String?) -> [UInt8] {
        Array("{\"keytype\":\"CONFIG\",\"subject\":\(subject.map(RegistryJSON.quote) ?? "null"),\"magic\":0}".utf8)
    }

    /// The record stored as `key`/`value`, or nil for a record this registry does not keep
    /// (Confluent's NOOP, MODE and DELETE_SUBJECT keys, or bytes that are not one of the above).
    package static func decode(key: [UInt8], value: [UInt8]?) -> SchemaRecord? {
        guard let key = RegistryJSON.decode(StoredKey.self, key) else { return nil }
        switch key.keytype {
        case "SCHEMA":
            guard let subject = key.subject, let version = key.version else { return nil }
            guard let value else { return .versionRemoved(subject: subject, version: version) }
            guard let stored = RegistryJSON.decode(StoredVersion.self, value), stored.subject == subject, stored.version == version else { return nil }
            return .version(SubjectVersion(subject: subject, version: version, id: stored.id, schema: stored.schema, deleted: stored.deleted ?? false))
        case "CONFIG":
            guard let value else { return .levelRemoved(subject: key.subject) }
            guard let stored = RegistryJSON.decode(StoredLevel.self, value), let level = CompatibilityLevel(rawValue: stored.compatibilityLevel) else { return nil }
            return .level(subject: key.subject, level)
        case "SLUICE_ID_HIGH_WATER":
            guard let value, let stored = RegistryJSON.decode(StoredHighWater.self, value) else { return nil }
            return .idHighWater(stored.id)
        default:
            return nil
        }
    }

    private struct StoredKey: Decodable {
        var keytype: String
        var subject: String?
        var version: Int32?
    }

    private struct StoredVersion: Decodable {
        var subject: String
        var version: Int32
        var id: Int32
        var schema: String
        var deleted: Bool?
    }

    private struct StoredLevel: Decodable { var compatibilityLevel: String }

    private struct StoredHighWater: Decodable { var id: Int32 }
}

/// The little JSON the registry reads and writes: strings quoted per RFC 8259, objects decoded by
/// Foundation's `JSONDecoder` (which, unlike `JSONSerialization`, tells `true` from `1`).
package enum RegistryJSON {
    /// `text` as a JSON string literal.
    package static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `bytes` decoded as `T`, or nil when they are not one (unknown properties are ignored, as
    /// Confluent's readers do).
    package static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
