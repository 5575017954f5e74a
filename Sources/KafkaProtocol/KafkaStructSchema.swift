/// The fields of a Kafka message body or of a nested struct, in wire order.
///
/// A reference type so that the many values of one struct share one schema and compare it
/// by identity.
///
/// - Invariant: field names are unique, and so are tags.
/// Thread-safe (immutable after init).
package final class KafkaStructSchema: Sendable {
    /// Kafka's name for the struct (`MetadataRequestTopic`, or the message's name for a body).
    package let name: String
    /// The fields in wire order.
    package let fields: [KafkaFieldSchema]
    /// Each field's position in `fields`, by name.
    package let fieldIndexByName: [String: Int]
    /// Each tagged field's position in `fields`, by tag.
    package let fieldIndexByTag: [UInt32: Int]
    /// The fields' defaults, in field order: a new value of this struct.
    package let defaultValues: [KafkaValue]

    /// A schema over `fields`.
    ///
    /// - Precondition: unique field names and unique tags.
    package init(name: String, fields: [KafkaFieldSchema]) {
        self.name = name
        self.fields = fields
        var byName: [String: Int] = [:]
        var byTag: [UInt32: Int] = [:]
        for (index, field) in fields.enumerated() {
            precondition(byName.updateValue(index, forKey: field.name) == nil, "\(name): two fields named \(field.name)")
            if let tag = field.tag {
                precondition(byTag.updateValue(index, forKey: tag) == nil, "\(name): two fields with tag \(tag)")
            }
        }
        fieldIndexByName = byName
        fieldIndexByTag = byTag
        defaultValues = fields.map(\.defaultValue)
    }

    /// The field named `name`.
    ///
    /// - Precondition: the struct has such a field (a misspelt name is a programming error).
    package func index(of name: String) -> Int {
        guard let index = fieldIndexByName[name] else {
            preconditionFailure("\(self.name) has no field \(name); it has \(fields.map(\.name))")
        }
        return index
    }
}
