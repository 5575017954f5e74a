/// One field of a Kafka message or nested struct, as its JSON definition declares it.
///
/// On the wire at version `v`, a field is absent unless `versions` holds `v`; it is a
/// tagged field (in the struct's trailing tagged-field section, written only when its value
/// differs from `defaultValue`) when `taggedVersions` holds `v`; and it may be null only when
/// `nullableVersions` holds `v`. A string, bytes, records or array field is compact (unsigned
/// varint length + 1) in the message's flexible versions unless `flexibleVersions` overrides
/// them (the request header's client id is never compact).
///
/// - Invariant: `tag` is set exactly when `taggedVersions` is not empty; `defaultValue` has
///   the field's type.
/// Thread-safe (immutable).
package struct KafkaFieldSchema: Sendable {
    /// The field's name in lower camel case (`throttleTimeMs`; Kafka's JSON says `ThrottleTimeMs`).
    package let name: String
    /// The wire type.
    package let type: KafkaFieldType
    /// The versions in which the field is on the wire.
    package let versions: KafkaVersionRange
    /// The versions in which the field may be null.
    package let nullableVersions: KafkaVersionRange
    /// The field's tag in the tagged-field section, when it is a tagged field.
    package let tag: UInt32?
    /// The versions in which the field is tagged rather than positional.
    package let taggedVersions: KafkaVersionRange
    /// Overrides the message's flexible versions for this field's encoding, when set.
    package let flexibleVersions: KafkaVersionRange?
    /// The value the field takes when it is absent from the wire.
    package let defaultValue: KafkaValue
    /// Whether a non-default value may be silently dropped when encoding a version that lacks
    /// the field (otherwise that is an error, as in Kafka's generated code).
    package let ignorable: Bool

    /// A field; `default` nil means the type's implicit default.
    ///
    /// - Precondition: `tag` and `taggedVersions` come together; `default` has type `type`.
    package init(
        _ name: String, _ type: KafkaFieldType, versions: KafkaVersionRange,
        nullableVersions: KafkaVersionRange = .none, tag: UInt32? = nil,
        taggedVersions: KafkaVersionRange = .none, flexibleVersions: KafkaVersionRange? = nil,
        default: KafkaValue? = nil, ignorable: Bool = false
    ) {
        precondition((tag == nil) == taggedVersions.isEmpty, "\(name): a tag needs tagged versions and back")
        let defaultValue = `default` ?? type.implicitDefault
        precondition(type.admits(defaultValue), "\(name): default \(defaultValue) is not a \(type.kafkaName)")
        precondition(!defaultValue.isNull || !nullableVersions.isEmpty, "\(name): null default on a non-nullable field")
        self.name = name
        self.type = type
        self.versions = versions
        self.nullableVersions = nullableVersions
        self.tag = tag
        self.taggedVersions = taggedVersions
        self.flexibleVersions = flexibleVersions
        self.defaultValue = defaultValue
        self.ignorable = ignorable
    }

    /// Whether the field may be null in some version.
    package var isNullableInSomeVersion: Bool { !nullableVersions.isEmpty }
}
