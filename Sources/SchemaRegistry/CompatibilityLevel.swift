/// A subject's (or the registry's global) compatibility level, as Confluent names them: what a
/// new schema must satisfy against the subject's existing versions before it is registered.
///
/// BACKWARD (the default): the new schema reads data written with the latest version. FORWARD:
/// the latest version reads data written with the new one. FULL: both. `_TRANSITIVE`: against
/// every version, not only the latest. NONE: anything goes.
package enum CompatibilityLevel: String, CaseIterable, Sendable {
    case none = "NONE"
    case backward = "BACKWARD"
    case backwardTransitive = "BACKWARD_TRANSITIVE"
    case forward = "FORWARD"
    case forwardTransitive = "FORWARD_TRANSITIVE"
    case full = "FULL"
    case fullTransitive = "FULL_TRANSITIVE"

    /// The level of a subject without its own and of a registry whose global level was never set.
    package static let `default` = CompatibilityLevel.backward

    /// The level named `text`, in any case (Confluent's clients send upper case, curl users may not).
    /// - Throws: `.invalidCompatibilityLevel` (42203).
    package init(parsing text: String) throws(SchemaRegistryError) {
        guard let level = CompatibilityLevel(rawValue: text.uppercased()) else { throw .invalidCompatibilityLevel(text) }
        self = level
    }
}
