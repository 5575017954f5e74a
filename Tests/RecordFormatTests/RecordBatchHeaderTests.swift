import RecordFormat
import StreamCore
import Testing

@Suite("Record batch header")
struct RecordBatchHeaderTests {
    static let sample = RecordBatchHeader(
        baseOffset: Offset(0x0102_0304_0506_0708), batchLength: 0x1122_3344, partitionLeaderEpoch: -2, crc: 0xCAFE_BABE,
        attributes: 0x0033, lastOffsetDelta: 9, baseTimestamp: Timestamp(milliseconds: -5),
        maxTimestamp: Timestamp(milliseconds: 1 << 50), producerID: ProducerID(Int64.max), producerEpoch: ProducerEpoch(Int16.min),
        baseSequence: Int32.max, recordCount: 10)

    @Test("writes and parses every field at its documented position")
    func fieldPositions() throws {
        var bytes = [UInt8](repeating: 0xEE, count: RecordBatchHeader.sizeBytes + 3)
        Self.sample.write(into: &bytes, at: 3)
        #expect(Array(bytes[3..<11]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[11..<15]) == [0x11, 0x22, 0x33, 0x44])
        #expect(Array(bytes[15..<19]) == [0xFF, 0xFF, 0xFF, 0xFE])
        #expect(bytes[19] == 2)
        #expect(Array(bytes[20..<24]) == [0xCA, 0xFE, 0xBA, 0xBE])
        #expect(Array(bytes[24..<26]) == [0x00, 0x33])
        #expect(Array(bytes[60..<64]) == [0, 0, 0, 10])
        #expect(try RecordBatchHeader.parse(bytes, at: 3) == Self.sample)
        let parsed = try bytes[3...].withUnsafeBytes { try RecordBatchHeader.parse($0) }
        #expect(parsed == Self.sample)
    }

    @Test("attribute bits")
    func attributes() {
        var header = Self.sample
        #expect(header.codec == .lz4 && header.isTransactional && header.isControl && !header.isLogAppendTime)
        header.attributes = 0x000C
        #expect(header.codec == .zstd && !header.isTransactional && !header.isControl && header.isLogAppendTime)
        header.attributes = 0x0007
        #expect(header.codec == nil)
    }

    @Test("derived sizes and offsets")
    func derived() {
        #expect(Self.sample.lastOffset == Offset(0x0102_0304_0506_0708 + 9))
        #expect(Self.sample.nextOffset == Offset(0x0102_0304_0506_0708 + 10))
        #expect(Self.sample.totalSizeBytes == 12 + 0x1122_3344)
        #expect(RecordBatchHeader.sizeBytes == 61 && RecordBatchHeader.logOverheadBytes == 12)
    }

    @Test("parse needs 61 bytes, magic 2 and a sane length")
    func parseChecks() {
        var bytes = [UInt8](repeating: 0, count: 61)
        Self.sample.write(into: &bytes)
        #expect { _ = try RecordBatchHeader.parse(Array(bytes[..<60]), at: 0) } throws: {
            ($0 as? RecordFormatError)?.code == .truncated
        }
        bytes[16] = 0
        #expect { _ = try RecordBatchHeader.parse(bytes, at: 0) } throws: { ($0 as? RecordFormatError)?.code == .badMagic }
    }

    @Test("errors describe themselves")
    func errorDescription() {
        #expect(RecordFormatError(.tooLarge, "too big").description == "tooLarge: too big")
    }
}
