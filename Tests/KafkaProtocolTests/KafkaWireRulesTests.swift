import KafkaProtocol
import Testing

/// The protocol's tricky rules, checked byte by byte against what Kafka's generated code
/// writes.
@Suite("Kafka wire rules")
struct KafkaWireRulesTests {
    private func findCoordinator(key: String, keyType: Int8, coordinatorKeys: [String] = []) -> KafkaStruct {
        var request = KafkaStruct.request(.findCoordinator)
        request.set("key", key)
        request.set("keyType", keyType)
        request.set("coordinatorKeys", coordinatorKeys)
        return request
    }

    @Test("a string is int16-length before the flexible versions and compact (uvarint length + 1) in them")
    func compactString() throws {
        let request = findCoordinator(key: "g", keyType: 1)
        #expect(hex(try KafkaCodec.encodeRequest(request, .findCoordinator, version: 2)) == "0001" + "67" + "01")
        #expect(hex(try KafkaCodec.encodeRequest(request, .findCoordinator, version: 3)) == "02" + "67" + "01" + "00")
        let v4 = findCoordinator(key: "", keyType: 0, coordinatorKeys: ["a", "bc"])
        #expect(hex(try KafkaCodec.encodeRequest(v4, .findCoordinator, version: 4)) == "00" + "03" + "0261" + "036263" + "00")
        #expect(try KafkaCodec.decodeRequest(.findCoordinator, version: 4, from: bytes(hex: "00 03 0261 036263 00")) == v4)
    }

    @Test("a nullable compact string is 0 for null and 1 for empty; a null array is -1 or 0")
    func nullableEncodings() throws {
        var request = KafkaStruct.request(.metadata)
        var topic = request.makeElement("topics")
        topic.setNull("name")
        request.set("topics", [topic])
        let zeroUUID = String(repeating: "00", count: 16)
        #expect(hex(try KafkaCodec.encodeRequest(request, .metadata, version: 12)) == "02" + zeroUUID + "00" + "00" + "01" + "00" + "00")
        topic.set("name", "")
        request.set("topics", [topic])
        #expect(hex(try KafkaCodec.encodeRequest(request, .metadata, version: 12)) == "02" + zeroUUID + "01" + "00" + "01" + "00" + "00")
        request.setNull("topics")
        #expect(hex(try KafkaCodec.encodeRequest(request, .metadata, version: 12)) == "00" + "01" + "00" + "00")
        #expect(hex(try KafkaCodec.encodeRequest(request, .metadata, version: 1)) == "ffffffff")
        #expect(hex(try KafkaCodec.encodeRequest(request, .metadata, version: 4)) == "ffffffff" + "01")
        #expect(try KafkaCodec.decodeRequest(.metadata, version: 12, from: bytes(hex: "00 01 00 00")).nullableArray("topics") == nil)
    }

    @Test("null in a version where the field is not nullable fails, on encode and on decode")
    func nullOutsideNullableVersions() throws {
        var request = KafkaStruct.request(.metadata)
        var topic = request.makeElement("topics")
        topic.setNull("name")
        request.set("topics", [topic])
        let error = #expect(throws: KafkaProtocolError.self) { try KafkaCodec.encodeRequest(request, .metadata, version: 9) }
        #expect(error?.code == .nullNotAllowed)
        #expect(error?.fieldPath == ["topics", "[0]", "name"] && error?.message == "MetadataRequest" && error?.version == 9)
        // v8: one topic whose name is -1, then the three bools.
        let decodeError = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.metadata, version: 8, from: bytes(hex: "00000001 ffff 01 00 00"))
        }
        #expect(decodeError?.code == .nullNotAllowed && decodeError?.byteOffset == 4)
        #expect(decodeError?.fieldPath == ["topics", "[0]", "name"])
        // The array itself is not nullable in v0.
        #expect(throws: KafkaProtocolError.self) { try KafkaCodec.decodeRequest(.metadata, version: 0, from: bytes(hex: "ffffffff")) }
        #expect(try KafkaCodec.decodeRequest(.metadata, version: 1, from: bytes(hex: "ffffffff")).nullableArray("topics") == nil)
    }

    @Test("tagged fields are written only when not default, in ascending tag order, and unknown tags survive")
    func taggedFields() throws {
        var response = KafkaStruct.response(.apiVersions)
        #expect(hex(try KafkaCodec.encodeResponse(response, .apiVersions, version: 3)) == "0000" + "01" + "00000000" + "00")
        response.set("finalizedFeaturesEpoch", 5)
        response.set("zkMigrationReady", true)
        let encoded = "0000" + "01" + "00000000" + "02" + "01" + "08" + "0000000000000005" + "03" + "01" + "01"
        #expect(hex(try KafkaCodec.encodeResponse(response, .apiVersions, version: 3)) == encoded)
        // In a non-flexible version tagged fields do not exist; ignorable, so they are dropped.
        #expect(hex(try KafkaCodec.encodeResponse(response, .apiVersions, version: 2)) == "0000" + "00000000" + "00000000")

        // Unknown tag 9 between nothing and after known ones; decoded, kept raw, re-encoded in place.
        let withUnknown = bytes(hex: "0000 01 00000000 03 01 08 0000000000000005 03 01 01 09 02 abcd")
        let decoded = try KafkaCodec.decodeResponse(.apiVersions, version: 3, from: withUnknown)
        #expect(decoded.int64("finalizedFeaturesEpoch") == 5 && decoded.bool("zkMigrationReady"))
        #expect(decoded.unknownTaggedFields == [KafkaTaggedField(tag: 9, bytes: [0xAB, 0xCD])])
        #expect(try KafkaCodec.encodeResponse(decoded, .apiVersions, version: 3) == withUnknown)
        // Tags in descending order still decode (Kafka's reader does not require the order).
        let reversed = bytes(hex: "0000 01 00000000 02 03 01 01 01 08 0000000000000005")
        #expect(try KafkaCodec.decodeResponse(.apiVersions, version: 3, from: reversed) == response)
    }

    @Test("a tagged field must fill exactly its declared size")
    func taggedFieldSize() {
        let error = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeResponse(.apiVersions, version: 3, from: bytes(hex: "0000 01 00000000 01 01 09 0000000000000005 00"))
        }
        #expect(error?.code == .taggedFieldSizeMismatch && error?.fieldPath == ["finalizedFeaturesEpoch"])
        let overrun = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeResponse(.apiVersions, version: 3, from: bytes(hex: "0000 01 00000000 01 01 07 0000000000000005"))
        }
        #expect(overrun?.code == .truncated)
    }

    @Test("ApiVersions responses use response header v0 in every version; other flexible responses v1")
    func apiVersionsResponseHeader() throws {
        for version in Int16(0)...4 {
            #expect(KafkaResponseHeader.version(for: .apiVersions, apiVersion: version) == 0)
        }
        let apiVersions = try KafkaFrame.encodeResponse(
            .apiVersions, version: 3, header: KafkaResponseHeader(correlationId: 7), body: .response(.apiVersions))
        #expect(hex(apiVersions) == "00000007" + "0000" + "01" + "00000000" + "00")
        let heartbeat = try KafkaFrame.encodeResponse(
            .heartbeat, version: 4, header: KafkaResponseHeader(correlationId: 7), body: .response(.heartbeat))
        #expect(hex(heartbeat) == "00000007" + "00" + "00000000" + "0000" + "00")
        let oldHeartbeat = try KafkaFrame.encodeResponse(
            .heartbeat, version: 3, header: KafkaResponseHeader(correlationId: 7), body: .response(.heartbeat))
        #expect(hex(oldHeartbeat) == "00000007" + "00000000" + "0000")
    }

    @Test("request header v1 for non-flexible requests, v2 (tagged fields, client id still int16-length) for flexible ones")
    func requestHeaderVersions() throws {
        var body = KafkaStruct.request(.apiVersions)
        body.set("clientSoftwareName", "sluice")
        body.set("clientSoftwareVersion", "1")
        let v3 = KafkaRequest(
            header: KafkaRequestHeader(apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "kp"), api: .apiVersions, body: body)
        let frame = "0012" + "0003" + "00000001" + "0002" + "6b70" + "00" + "07" + "736c75696365" + "02" + "31" + "00"
        #expect(hex(try v3.encode()) == frame)
        #expect(try KafkaRequest.decode(frame: bytes(hex: frame)) == v3)
        let v2 = KafkaRequest(
            header: KafkaRequestHeader(apiKey: 18, apiVersion: 2, correlationId: 1, clientId: nil), api: .apiVersions,
            body: .request(.apiVersions))
        #expect(hex(try v2.encode()) == "0012" + "0002" + "00000001" + "ffff")
        let decoded = try KafkaRequest.decode(frame: bytes(hex: "0012 0002 00000001 ffff"))
        #expect(decoded.header.clientId == nil && decoded.version == 2 && decoded.api == .apiVersions)
    }

    @Test("a non-default value in a field the version lacks fails unless the field is ignorable")
    func fieldsAbsentInVersion() throws {
        let error = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.encodeRequest(findCoordinator(key: "g", keyType: 1), .findCoordinator, version: 0)
        }
        #expect(error?.code == .fieldNotInVersion && error?.fieldPath == ["keyType"])
        #expect(hex(try KafkaCodec.encodeRequest(findCoordinator(key: "g", keyType: 0), .findCoordinator, version: 0)) == "000167")
        var ignorable = KafkaStruct.request(.apiVersions)
        ignorable.set("clientSoftwareName", "sluice")
        #expect(try KafkaCodec.encodeRequest(ignorable, .apiVersions, version: 0).isEmpty)
        // On decode, absent fields take their defaults: keyType 0 before v1.
        let decoded = try KafkaCodec.decodeRequest(.findCoordinator, version: 0, from: bytes(hex: "000167"))
        #expect(decoded.string("key") == "g" && decoded.int8("keyType") == 0 && decoded.stringArray("coordinatorKeys").isEmpty)
    }

    @Test("lengths are checked before anything is allocated")
    func lengthsChecked() throws {
        // MetadataRequest v1 claiming 2^31 - 1 topics in a 20-byte frame.
        let frame = bytes(hex: "0003 0001 00000005 0000 7fffffff 000000000000")
        #expect(frame.count == 20)
        #expect(throws: KafkaRequestDecodingError.malformed(
            KafkaProtocolError(
                .invalidLength, "array of 2147483647 elements but 6 bytes remain", byteOffset: 10, message: "MetadataRequest",
                version: 1, fieldPath: ["topics"]),
            correlationId: 5)) { try KafkaRequest.decode(frame: frame) }
        let compactHuge = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.findCoordinator, version: 3, from: bytes(hex: "ffffffff0f 00 00"))
        }
        #expect(compactHuge?.code == .invalidLength)
        let tooLongVarint = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.findCoordinator, version: 3, from: bytes(hex: "ffffffff7f 00 00"))
        }
        #expect(tooLongVarint?.code == .invalidVarint)
        let negative = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.findCoordinator, version: 2, from: bytes(hex: "fffe 00"))
        }
        #expect(negative?.code == .invalidLength)
        let notUTF8 = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.findCoordinator, version: 2, from: bytes(hex: "0002 c328 00"))
        }
        #expect(notUTF8?.code == .invalidString)
        let trailing = #expect(throws: KafkaProtocolError.self) {
            try KafkaCodec.decodeRequest(.findCoordinator, version: 2, from: bytes(hex: "0001 67 00 ff"))
        }
        #expect(trailing?.code == .trailingBytes && trailing?.byteOffset == 4)
        // A whole request keeps them, as Kafka's broker ignores them, and re-encodes them.
        let withTrailing = bytes(hex: "000a 0002 00000003 0001 78 0001 67 00 ff")
        let request = try? KafkaRequest.decode(frame: withTrailing)
        #expect(request?.trailingBytes == [0xFF] && request?.body.string("key") == "g")
        #expect(try request?.encode() == withTrailing)
    }

    @Test("unknown api keys and versions are reported with the correlation id")
    func unsupportedRequests() {
        #expect(throws: KafkaRequestDecodingError.unsupported(
            KafkaUnsupportedRequest(apiKey: 99, apiVersion: 0, correlationId: 10, clientId: "abc"))) {
            try KafkaRequest.decode(frame: bytes(hex: "0063 0000 0000000a 0003 616263"))
        }
        // ApiVersions v9 from a newer client: header v2, body unknown; the client id is still readable.
        let tooNew = #expect(throws: KafkaRequestDecodingError.self) {
            try KafkaRequest.decode(frame: bytes(hex: "0012 0009 0000000b 0001 78 00 0778797a 00"))
        }
        guard case .unsupported(let request) = tooNew else {
            Issue.record("expected unsupported, got \(String(describing: tooNew))")
            return
        }
        #expect(request.api == .apiVersions && request.apiVersion == 9 && request.correlationId == 11 && request.clientId == "x")
        #expect(throws: KafkaRequestDecodingError.unsupported(
            KafkaUnsupportedRequest(apiKey: 3, apiVersion: -1, correlationId: 12, clientId: nil))) {
            try KafkaRequest.decode(frame: bytes(hex: "0003 ffff 0000000c ffff"))
        }
        #expect(throws: KafkaRequestDecodingError.malformed(
            KafkaProtocolError(.truncated, "needs 4 bytes, 2 remain", byteOffset: 4, message: "RequestHeader", version: 1),
            correlationId: nil)) { try KafkaRequest.decode(frame: bytes(hex: "0003 0001 0000")) }
    }

    @Test("records are raw bytes, never parsed; bools decode any non-zero byte as true")
    func recordsAndBools() throws {
        var response = KafkaStruct.response(.fetch)
        var topic = response.makeElement("responses")
        var partition = topic.makeElement("partitions")
        partition.set("records", bytes: [0xDE, 0xAD])
        topic.set("partitions", [partition])
        response.set("responses", [topic])
        let decoded = try KafkaCodec.decodeResponse(.fetch, version: 4, from: try KafkaCodec.encodeResponse(response, .fetch, version: 4))
        #expect(decoded.array("responses")[0].array("partitions")[0].records("records") == [0xDE, 0xAD])
        #expect(try KafkaCodec.decodeRequest(.metadata, version: 4, from: bytes(hex: "00000000 07")).bool("allowAutoTopicCreation"))
    }
}
