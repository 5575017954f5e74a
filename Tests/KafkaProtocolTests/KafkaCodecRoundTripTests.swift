import KafkaProtocol
import StreamCore
import Testing

@Suite("Kafka codec round trips")
struct KafkaCodecRoundTripTests {
    @Test("the table holds the 25 served APIs with Kafka's version ranges")
    func tableCoversServedAPIs() {
        #expect(KafkaAPI.allCases.count == 25)
        #expect(KafkaAPI.apiVersions.rawValue == 18 && KafkaAPI.describeCluster.rawValue == 60)
        #expect(KafkaAPI.produce.requestSchema.validVersions == "0-11")
        #expect(KafkaAPI.fetch.requestSchema.flexibleVersions == "12+")
        #expect(KafkaAPI.apiVersions.responseSchema.validVersions == "0-4")
        for api in KafkaAPI.allCases {
            #expect(api.requestSchema.apiKey == api.rawValue && api.responseSchema.apiKey == api.rawValue)
            #expect(api.requestSchema.kind == .request && api.responseSchema.kind == .response)
            #expect(api.requestSchema.validVersions == api.responseSchema.validVersions, "\(api)")
        }
        let clientId = KafkaMessageSchema.requestHeader.body.fields[3]
        #expect(clientId.name == "clientId" && clientId.flexibleVersions == KafkaVersionRange.none)
    }

    @Test("defaults come from the definitions", arguments: [
        (KafkaAPI.fetch, KafkaMessageSchema.Kind.request, "replicaId", KafkaValue.int32(-1)),
        (.fetch, .request, "maxBytes", .int32(0x7fff_ffff)),
        (.fetch, .request, "clusterId", .string(nil)),
        (.metadata, .response, "clusterId", .string(nil)),
        (.metadata, .response, "controllerId", .int32(-1)),
        (.metadata, .response, "clusterAuthorizedOperations", .int32(-2_147_483_648)),
        (.metadata, .request, "allowAutoTopicCreation", .bool(true)),
        (.apiVersions, .response, "finalizedFeaturesEpoch", .int64(-1)),
        (.joinGroup, .request, "rebalanceTimeoutMs", .int32(-1)),
        (.initProducerId, .request, "producerId", .int64(-1)),
    ])
    func defaultsFromDefinitions(api: KafkaAPI, kind: KafkaMessageSchema.Kind, field: String, expected: KafkaValue) {
        #expect(KafkaStruct(defaultsOf: api.schema(kind).body)[field] == expected)
    }

    /// Every API, request and response, every version in the table: a value with a
    /// non-default value in every field the version has encodes, decodes to an equal value,
    /// and re-encodes to the same bytes.
    @Test("every message and version round-trips", arguments: everyMessageVersion)
    func roundTrip(api: KafkaAPI, kind: KafkaMessageSchema.Kind, version: Int16) throws {
        let schema = api.schema(kind)
        for seed in [UInt64(1), 2, 3] {
            var builder = RandomValueBuilder(
                random: SeededRandom(seed: seed &* 1_000 &+ UInt64(version)), version: version,
                flexible: schema.isFlexible(version))
            let value = builder.value(of: schema.body)
            let bytes = try KafkaCodec.encode(value, as: schema, version: version)
            let decoded = try KafkaCodec.decode(schema, version: version, from: bytes)
            #expect(decoded == value, "\(schema.name) v\(version) seed \(seed)")
            #expect(try KafkaCodec.encode(decoded, as: schema, version: version) == bytes)
            // One byte short is an error, never a crash or a different value.
            if !bytes.isEmpty {
                #expect(throws: KafkaProtocolError.self) {
                    try KafkaCodec.decode(schema, version: version, from: Array(bytes.dropLast()))
                }
            }
        }
    }

    @Test("request and response frames round-trip through the headers", arguments: KafkaAPI.allCases)
    func framesRoundTrip(api: KafkaAPI) throws {
        let versions = api.requestSchema.validVersions
        for version in [versions.lowest, versions.highest] {
            var builder = RandomValueBuilder(random: SeededRandom(seed: UInt64(api.rawValue)), version: version, flexible: false)
            let request = KafkaRequest(
                header: KafkaRequestHeader(apiKey: api.rawValue, apiVersion: version, correlationId: 77, clientId: "rt"),
                api: api, body: builder.value(of: api.requestSchema.body))
            let frame = try request.encode()
            #expect(try KafkaRequest.decode(frame: frame) == request)
            let body = builder.value(of: api.responseSchema.body)
            let response = try KafkaFrame.encodeResponse(api, version: version, header: KafkaResponseHeader(correlationId: 77), body: body)
            let decoded = try KafkaFrame.decodeResponse(api, version: version, frame: response)
            #expect(decoded.header.correlationId == 77 && decoded.body == body)
        }
    }
}
