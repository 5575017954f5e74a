import RecordFormat
import StreamCore
import Testing

/// Batches written out byte by byte from the format description, compared with what the
/// builder produces. The CRC is computed by the independent bitwise reference.
@Suite("Golden bytes")
struct GoldenBatchTests {
    static let baseTimestamp = Timestamp(milliseconds: 1_700_000_000_000)  // 0x0000018BCFE56800

    /// Two records (key "k", value "v"; the first with header h = "x"), producer 7, epoch 1,
    /// sequence 0, no compression, timestamps base and base + 5 ms.
    static let expectedDataBatch: [UInt8] = withCRC([
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
        0x00, 0x00, 0x00, 0x47,  // batchLength 71 = 49 + 22 record bytes
        0xFF, 0xFF, 0xFF, 0xFF,  // partitionLeaderEpoch -1
        0x02,  // magic 2
        0x00, 0x00, 0x00, 0x00,  // crc (filled in below)
        0x00, 0x00,  // attributes: no codec, CreateTime, not transactional, not control
        0x00, 0x00, 0x00, 0x01,  // lastOffsetDelta 1
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // baseTimestamp 1_700_000_000_000
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x05,  // maxTimestamp 1_700_000_000_005
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // producerId 7
        0x00, 0x01,  // producerEpoch 1
        0x00, 0x00, 0x00, 0x00,  // baseSequence 0
        0x00, 0x00, 0x00, 0x02,  // recordCount 2
        // record 0
        0x18,  // length 12 (zigzag 24)
        0x00,  // attributes
        0x00,  // timestampDelta 0
        0x00,  // offsetDelta 0
        0x02, 0x6B,  // keyLength 1, "k"
        0x02, 0x76,  // valueLength 1, "v"
        0x02,  // headerCount 1
        0x02, 0x68,  // header keyLength 1, "h"
        0x02, 0x78,  // header valueLength 1, "x"
        // record 1
        0x10,  // length 8 (zigzag 16)
        0x00,  // attributes
        0x0A,  // timestampDelta 5 (zigzag 10)
        0x02,  // offsetDelta 1 (zigzag 2)
        0x02, 0x6B,  // keyLength 1, "k"
        0x02, 0x76,  // valueLength 1, "v"
        0x00,  // headerCount 0
    ])

    /// A COMMIT marker from producer 7, epoch 1, coordinator epoch 3.
    static let expectedCommitBatch: [UInt8] = withCRC([
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
        0x00, 0x00, 0x00, 0x42,  // batchLength 66 = 49 + 17 record bytes
        0xFF, 0xFF, 0xFF, 0xFF,  // partitionLeaderEpoch -1
        0x02,  // magic 2
        0x00, 0x00, 0x00, 0x00,  // crc (filled in below)
        0x00, 0x30,  // attributes: transactional (bit 4) + control (bit 5)
        0x00, 0x00, 0x00, 0x00,  // lastOffsetDelta 0
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // baseTimestamp
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // maxTimestamp
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // producerId 7
        0x00, 0x01,  // producerEpoch 1
        0xFF, 0xFF, 0xFF, 0xFF,  // baseSequence -1
        0x00, 0x00, 0x00, 0x01,  // recordCount 1
        // the marker record
        0x20,  // length 16 (zigzag 32)
        0x00,  // attributes
        0x00,  // timestampDelta 0
        0x00,  // offsetDelta 0
        0x08, 0x00, 0x00, 0x00, 0x01,  // keyLength 4: version 0, type 1 (commit)
        0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // valueLength 6: version 0, coordinatorEpoch 3
        0x00,  // headerCount 0
    ])

    /// Fills bytes 17..<21 with the bitwise CRC-32C of bytes 21 to the end.
    static func withCRC(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        let crc = Reference.crc32c(bytes[21...])
        result[17] = UInt8(crc >> 24)
        result[18] = UInt8((crc >> 16) & 0xFF)
        result[19] = UInt8((crc >> 8) & 0xFF)
        result[20] = UInt8(crc & 0xFF)
        return result
    }

    @Test("a data batch, byte for byte")
    func dataBatch() throws {
        var builder = RecordBatchBuilder(producerID: ProducerID(7), producerEpoch: ProducerEpoch(1), baseSequence: 0)
        builder.append(key: utf8("k"), value: utf8("v"), headers: [RecordHeader("h", "x")], timestamp: Self.baseTimestamp)
        builder.append(key: utf8("k"), value: utf8("v"), timestamp: Timestamp(milliseconds: 1_700_000_000_005))
        #expect(builder.estimatedSizeBytes == Self.expectedDataBatch.count)
        let built = try builder.build()
        #expect(built == Self.expectedDataBatch)

        let batch = try RecordBatch(bytes: built)
        #expect(batch.hasValidChecksum())
        #expect(batch.header.totalSizeBytes == 83)
        #expect(batch.header.lastOffset == Offset(1))
        #expect(try batch.records() == [
            Record(offset: 0, timestamp: Self.baseTimestamp, key: utf8("k"), value: utf8("v"),
                   headers: [RecordHeader("h", "x")], offsetDelta: 0),
            Record(offset: 1, timestamp: Timestamp(milliseconds: 1_700_000_000_005), key: utf8("k"),
                   value: utf8("v"), headers: [], offsetDelta: 1),
        ])
    }

    @Test("a commit marker batch, byte for byte")
    func commitBatch() throws {
        let built = RecordBatchBuilder.controlBatch(
            type: .commit, producerID: ProducerID(7), producerEpoch: ProducerEpoch(1), coordinatorEpoch: 3,
            timestamp: Self.baseTimestamp)
        #expect(built == Self.expectedCommitBatch)
        let batch = try RecordBatch(bytes: built)
        #expect(batch.hasValidChecksum())
        #expect(batch.header.isControl && batch.header.isTransactional)
        #expect(try batch.controlRecord() == ControlRecord(type: .commit, coordinatorEpoch: 3))
    }

    @Test("the CRCs of the golden batches")
    func pinnedCRCs() {
        // Pinned literals, so that the bitwise reference itself is checked against fixed values.
        #expect(Self.crc(of: Self.expectedDataBatch) == Reference.crc32c(Self.expectedDataBatch[21...]))
        #expect(Self.crc(of: Self.expectedDataBatch) == Self.pinnedDataCRC)
        #expect(Self.crc(of: Self.expectedCommitBatch) == Self.pinnedCommitCRC)
    }

    static let pinnedDataCRC: UInt32 = 0x0846_024C  // also computed with a separate Python script
    static let pinnedCommitCRC: UInt32 = 0xF49F_AF31

    static func crc(of batch: [UInt8]) -> UInt32 {
        batch[17..<21].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
