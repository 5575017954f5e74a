/// A registry operation's failure, in Confluent Schema Registry's terms: the HTTP status, the
/// `error_code` of its JSON error body, and a message that says what and where, as Confluent's
/// (`Subject 'orders-value' not found.`).
///
/// Thread-safety: a value.
package struct SchemaRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Confluent's error codes (`io.confluent.kafka.schemaregistry.rest.exceptions.Errors`).
    package enum Code: Int32, Sendable, Equatable {
        case subjectNotFound = 40401
        case versionNotFound = 40402
        case schemaNotFound = 40403
        case subjectSoftDeleted = 40404
        case subjectNotSoftDeleted = 40405
        case versionSoftDeleted = 40406
        case versionNotSoftDeleted = 40407
        case subjectCompatibilityNotConfigured = 40408
        case incompatibleSchema = 409
        case invalidSchema = 42201
        case invalidVersion = 42202
        case invalidCompatibilityLevel = 42203
        case invalidSubject = 42208
        case schemaTooLarge = 42209
        case store = 50001

        /// The HTTP status Confluent answers with this code.
        package var httpStatus: Int {
            switch self {
            case .subjectNotFound, .versionNotFound, .schemaNotFound, .subjectSoftDeleted, .subjectNotSoftDeleted,
                 .versionSoftDeleted, .versionNotSoftDeleted, .subjectCompatibilityNotConfigured:
                return 404
            case .incompatibleSchema: return 409
            case .invalidSchema, .invalidVersion, .invalidCompatibilityLevel, .invalidSubject, .schemaTooLarge: return 422
            case .store: return 500
            }
        }
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(message) (error \(code.rawValue))" }

    // MARK: Confluent's messages

    package static func subjectNotFound(_ subject: String) -> SchemaRegistryError {
        SchemaRegistryError(.subjectNotFound, "Subject '\(subject)' not found.")
    }

    package static func versionNotFound(_ version: Int32) -> SchemaRegistryError {
        SchemaRegistryError(.versionNotFound, "Version \(version) not found.")
    }

    package static func schemaNotFound(id: Int32) -> SchemaRegistryError {
        SchemaRegistryError(.schemaNotFound, "Schema \(id) not found")
    }

    package static func invalidVersion(_ text: String) -> SchemaRegistryError {
        SchemaRegistryError(
            .invalidVersion,
            "The specified version '\(text)' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")
    }

    package static func invalidCompatibilityLevel(_ text: String) -> SchemaRegistryError {
        SchemaRegistryError(
            .invalidCompatibilityLevel,
            "Invalid compatibility level '\(text)'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
    }

    package static func incompatible(subject: String, messages: [String]) -> SchemaRegistryError {
        SchemaRegistryError(
            .incompatibleSchema,
            "Schema being registered is incompatible with an earlier schema for subject \"\(subject)\", details: [\(messages.joined(separator: ", "))]")
    }
}
