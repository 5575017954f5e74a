import RecordFormat
import StreamCore
import Testing

@Suite("Control records")
struct ControlRecordTests {
    @Test("markers round trip through key and value", arguments: ControlRecordType.allCases, [Int32(0), 5, Int32.max, -1])
    func roundTrip(type: ControlRecordType, coordinatorEpoch: Int32) throws {
        let marker = ControlRecord(type: type, coordinatorEpoch: coordinatorEpoch)
        #expect(marker.keyBytes() == [0, 0, 0, UInt8(type.rawValue)])
        #expect(marker.valueBytes().count == 6)
        #expect(try ControlRecord(key: marker.keyBytes(), value: marker.valueBytes()) == marker)
    }

    @Test("control batches carry one marker", arguments: ControlRecordType.allCases)
    func controlBatch(type: ControlRecordType) throws {
        let bytes = RecordBatchBuilder.controlBatch(
            type: type, producerID: ProducerID(1_234), producerEpoch: ProducerEpoch(7), coordinatorEpoch: 9,
            timestamp: Timestamp(milliseconds: 55))
        let batch = try RecordBatch(bytes: bytes)
        #expect(batch.hasValidChecksum())
        #expect(batch.header.isControl && batch.header.isTransactional && batch.header.codec == CompressionCodec.none)
        #expect(batch.header.producerID == ProducerID(1_234) && batch.header.producerEpoch == ProducerEpoch(7))
        #expect(batch.header.recordCount == 1 && batch.header.baseSequence == -1)
        #expect(try batch.controlRecord() == ControlRecord(type: type, coordinatorEpoch: 9))
    }

    @Test("newer versions with extra trailing fields are read")
    func laterVersion() throws {
        let marker = try ControlRecord(key: [0, 1, 0, 0, 0xAB], value: [0, 1, 0, 0, 0, 4, 0xCD, 0xEF])
        #expect(marker == ControlRecord(type: .abort, coordinatorEpoch: 4))
    }

    @Test("malformed markers are corruptRecords", arguments: [
        ([0, 0, 0], [0, 0, 0, 0, 0, 1]),  // short key
        ([0xFF, 0xFF, 0, 0], [0, 0, 0, 0, 0, 1]),  // negative key version
        ([0, 0, 0, 2], [0, 0, 0, 0, 0, 1]),  // not a transaction marker type
        ([0, 0, 0, 1], [0, 0, 0, 0, 0]),  // short value
        ([0, 0, 0, 1], nil),  // missing value
        ([0, 0, 0, 1], [0x80, 0, 0, 0, 0, 1]),  // negative value version
    ] as [([UInt8], [UInt8]?)])
    func malformed(key: [UInt8], value: [UInt8]?) {
        #expect { _ = try ControlRecord(key: key, value: value) } throws: {
            ($0 as? RecordFormatError)?.code == .corruptRecords
        }
    }

    @Test("a data batch is not a control batch")
    func notControl() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: [0, 0, 0, 1], value: [0, 0, 0, 0, 0, 1], timestamp: Timestamp(milliseconds: 0))
        let batch = try RecordBatch(bytes: try builder.build())
        #expect { _ = try batch.controlRecord() } throws: { ($0 as? RecordFormatError)?.code == .corruptRecords }
    }
}
