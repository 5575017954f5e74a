import Testing
@testable import KafkaBroker

@Suite struct KafkaErrorCodeTests {
    @Test func wireValuesAreKafkas() {
        #expect(KafkaErrorCode.none.rawValue == 0)
        #expect(KafkaErrorCode.unknownServerError.rawValue == -1)
        #expect(KafkaErrorCode.unknownTopicOrPartition.rawValue == 3)
        #expect(KafkaErrorCode.unsupportedVersion.rawValue == 35)
        #expect(KafkaErrorCode.invalidProducerEpoch.rawValue == 47)
        #expect(KafkaErrorCode.kafkaStorageError.rawValue == 56)
        #expect(KafkaErrorCode.producerFenced.rawValue == 90)
        #expect(KafkaErrorCode(rawValue: 3)?.kafkaName == "UNKNOWN_TOPIC_OR_PARTITION")
    }

    @Test func namesAreUnique() {
        let names = KafkaErrorCode.allCases.map(\.kafkaName)
        #expect(Set(names).count == names.count)
    }
}
