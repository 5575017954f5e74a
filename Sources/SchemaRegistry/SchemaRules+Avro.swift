import Avro

extension SchemaRules {
    /// Avro's rules (the `Avro` module): a schema's identity is its `normalizedJSON`, and the
    /// levels are checked by `AvroCompatibility` with Confluent's semantics. An incompatibility
    /// reads `KIND at PATH: message` (Apache Avro's `SchemaIncompatibilityType`, the location in
    /// the reader schema, what is wrong).
    package static let avro = SchemaRules(
        schemaType: "AVRO",
        normalize: { text throws(SchemaRegistryError) in
            do throws(AvroSchemaError) {
                return try AvroSchema(parsing: text).normalizedJSON
            } catch {
                throw SchemaRegistryError(.invalidSchema, "Invalid schema: \(error.description)")
            }
        },
        incompatibilities: { new, existing, level in
            let newSchema: AvroSchema
            var existingSchemas: [AvroSchema] = []
            do throws(AvroSchemaError) {
                newSchema = try AvroSchema(parsing: new)
                for text in existing { existingSchemas.append(try AvroSchema(parsing: text)) }
            } catch {
                // Every text here was parsed once already; a stored one that no longer parses
                // refuses the change rather than letting it through unchecked.
                return ["a registered schema does not parse any more: \(error.description)"]
            }
            let avroLevel = AvroCompatibilityLevel(rawValue: level.rawValue)!
            return AvroCompatibility.incompatibilities(of: newSchema, against: existingSchemas, level: avroLevel).map(\.description)
        })
}
