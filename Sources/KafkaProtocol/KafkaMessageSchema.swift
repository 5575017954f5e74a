/// A Kafka message (a request, a response or a header) as its JSON definition declares it:
/// the api key, the versions this definition knows, the versions that are flexible, and the
/// body's fields.
///
/// Flexible versions (KIP-482) use compact strings, bytes and arrays (unsigned varint length
/// + 1, 0 for null) and end every struct with a tagged-field section.
/// Thread-safe (immutable).
package struct KafkaMessageSchema: Sendable {
    /// Whether the message is a request, a response or a header.
    package enum Kind: Sendable, Equatable {
        case request, response, header
    }

    /// Kafka's name for the message (`MetadataRequest`).
    package let name: String
    /// The api key; nil for the headers.
    package let apiKey: Int16?
    /// Request, response or header.
    package let kind: Kind
    /// The versions this definition describes.
    package let validVersions: KafkaVersionRange
    /// The flexible versions (open-ended: a version newer than `validVersions` is flexible too).
    package let flexibleVersions: KafkaVersionRange
    /// Whether Kafka marks the highest valid version as still unstable.
    package let latestVersionUnstable: Bool
    /// The top-level fields.
    package let body: KafkaStructSchema

    /// A message schema; the generated table calls this.
    package init(
        name: String, apiKey: Int16?, kind: Kind, validVersions: KafkaVersionRange,
        flexibleVersions: KafkaVersionRange, latestVersionUnstable: Bool, body: KafkaStructSchema
    ) {
        self.name = name
        self.apiKey = apiKey
        self.kind = kind
        self.validVersions = validVersions
        self.flexibleVersions = flexibleVersions
        self.latestVersionUnstable = latestVersionUnstable
        self.body = body
    }

    /// Whether `version` is a flexible version of this message.
    package func isFlexible(_ version: Int16) -> Bool { flexibleVersions.contains(version) }
}
