/// A JSON value as a schema document or a default holds it; object members keep their order.
///
/// Integers that fit 64 bits stay exact (`.integer`); other numbers are `.number`. Values are
/// immutable and `Sendable`.
public indirect enum AvroJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([AvroJSON])
    case object([AvroJSONMember])

    /// The member named `key`, if this is an object that has one.
    public subscript(key: String) -> AvroJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The member names of an object, in order; empty for any other value.
    public var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map(\.key)
    }

    /// The kind of value, for error messages ("a string", "an object").
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One `"key": value` member of a JSON object.
public struct AvroJSONMember: Sendable, Hashable {
    /// The member name.
    public let key: String
    /// The member value.
    public let value: AvroJSON

    /// Creates a member.
    public init(_ key: String, _ value: AvroJSON) {
        self.key = key
        self.value = value
    }
}
