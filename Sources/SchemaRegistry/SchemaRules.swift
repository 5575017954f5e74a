/// How the registry understands schema text: the parser that gives a schema its identity and the
/// checker of compatibility levels, for one schema type. The registry itself only compares
/// identities and orders versions; ``SchemaRules/avro`` is the one set it serves.
///
/// Thread-safety: a value of `@Sendable` closures, each a pure function.
package struct SchemaRules: Sendable {
    /// The `schemaType` these rules serve, as Confluent names it (`AVRO`).
    package let schemaType: String
    /// Parses a schema document and returns its identity: the text the registry stores, returns
    /// and compares (two documents that mean the same schema give the same text).
    /// - Throws: `.invalidSchema` (42201) saying where and why the document is not a schema.
    package let normalize: @Sendable (String) throws(SchemaRegistryError) -> String
    /// Why `new` may not follow `existing` (normalized texts, oldest first) at `level`; empty
    /// when it may. Messages name the field and the rule, as Confluent's verbose answers do.
    package let incompatibilities: @Sendable (_ new: String, _ existing: [String], _ level: CompatibilityLevel) -> [String]

    package init(
        schemaType: String, normalize: @escaping @Sendable (String) throws(SchemaRegistryError) -> String,
        incompatibilities: @escaping @Sendable (_ new: String, _ existing: [String], _ level: CompatibilityLevel) -> [String]
    ) {
        self.schemaType = schemaType
        self.normalize = normalize
        self.incompatibilities = incompatibilities
    }
}
