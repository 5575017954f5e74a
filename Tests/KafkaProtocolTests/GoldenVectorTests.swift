import KafkaProtocol
import Testing

/// Frames captured from real clients (kafka-python, confluent-kafka, aiokafka, Debian's
/// kcat) talking to noida-db through Capture/record_proxy.py; see Capture/capture.sh.
@Suite("Golden frames from real clients")
struct GoldenVectorTests {
    @Test("every client's captures are present")
    func capturesPresent() {
        for client in GoldenFrame.clients {
            let frames = GoldenFrame.all.filter { $0.client == client }
            #expect(frames.count >= 20, "\(client): \(frames.count) frames")
            #expect(frames.filter(\.isRequest).count * 2 == frames.count, "\(client): every request has its response")
        }
        let apis = Set(GoldenFrame.all.map(\.api))
        for api in [KafkaAPI.apiVersions, .metadata, .produce, .fetch, .listOffsets, .findCoordinator, .joinGroup, .syncGroup,
                    .heartbeat, .leaveGroup, .offsetCommit, .offsetFetch, .initProducerId, .addPartitionsToTxn,
                    .addOffsetsToTxn, .txnOffsetCommit, .endTxn, .createTopics] {
            #expect(apis.contains(api), "no capture of \(api)")
        }
    }

    @Test("every captured request decodes and re-encodes to the identical bytes",
          arguments: GoldenFrame.all.filter(\.isRequest))
    func requestRoundTrip(frame: GoldenFrame) throws {
        let request = try KafkaRequest.decode(frame: frame.bytes)
        #expect(request.api == frame.api && request.version == frame.version)
        #expect(request.header.clientId?.isEmpty == false)
        #expect(try request.encode() == frame.bytes)
        // Kafka's broker ignores bytes after a request body; only librdkafka's all-topics
        // Metadata request leaves any.
        if !request.trailingBytes.isEmpty {
            #expect(frame.client == "confluent-kafka" && frame.api == .metadata && request.body.nullableArray("topics") == nil)
            #expect(request.trailingBytes == [0x01, 0x00, 0x00])
        }
    }

    @Test("every captured response decodes and re-encodes to the identical bytes",
          arguments: GoldenFrame.all.filter { !$0.isRequest })
    func responseRoundTrip(frame: GoldenFrame) throws {
        // A broker answers an ApiVersions request it does not support in v0 (KIP-511), and
        // clients parse it so; noida-db does that for v4.
        var version = frame.version
        if frame.api == .apiVersions, (try? KafkaFrame.decodeResponse(.apiVersions, version: version, frame: frame.bytes)) == nil {
            version = 0
            let fallback = try KafkaFrame.decodeResponse(.apiVersions, version: 0, frame: frame.bytes)
            #expect(fallback.body.int16("errorCode") == 35, "UNSUPPORTED_VERSION")
            #expect(!fallback.body.array("apiKeys").isEmpty)
        }
        let (header, body) = try KafkaFrame.decodeResponse(frame.api, version: version, frame: frame.bytes)
        #expect(try KafkaFrame.encodeResponse(frame.api, version: version, header: header, body: body) == frame.bytes)
    }
}
