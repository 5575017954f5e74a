import SchemaRegistry

/// The JSON the REST API answers with, built as text in a fixed field order (Confluent's).
enum JSONOut {
    static func quote(_ text: String) -> String { RegistryJSON.quote(text) }

    static func array(_ numbers: [Int32]) -> String { "[" + numbers.map(String.init).joined(separator: ",") + "]" }

    static func array(_ strings: [String]) -> String { "[" + strings.map(quote).joined(separator: ",") + "]" }

    /// `{"subject":…,"version":…,"id":…,"schema":…}` (Confluent's `Schema` entity; `schemaType`
    /// is omitted for AVRO, as Confluent does).
    static func version(_ entry: SubjectVersion) -> String {
        "{\"subject\":\(quote(entry.subject)),\"version\":\(entry.version),\"id\":\(entry.id),\"schema\":\(quote(entry.schema))}"
    }
}
