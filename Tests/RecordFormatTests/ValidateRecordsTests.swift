import RecordFormat
import StreamCore
import Testing

/// `validateRecords` (the broker's one-pass check of a produced batch) accepts and refuses
/// exactly what `records` does, with the same error, on intact and damaged batches.
@Suite("Validating records without decoding them")
struct ValidateRecordsTests {
    @Test("on every byte flip of an uncompressed batch, validation and decoding agree", arguments: [UInt8(0x01), 0x80, 0xFF])
    func agreesWithDecoding(mask: UInt8) throws {
        let original = try CorruptionTests.smallBatch(.none)
        let intact = try RecordBatch(bytes: original)
        #expect(try intact.validateRecords() == RecordBatchSummary(recordCount: 2, hasNullKey: true))
        var compared = 0
        for index in RecordBatchHeader.sizeBytes..<original.count {
            var damaged = original
            damaged[index] ^= mask
            let batch = try RecordBatch(bytes: damaged)
            let decoded = Result { () throws(RecordFormatError) in try batch.records() }
            let validated = Result { () throws(RecordFormatError) in try batch.validateRecords() }
            switch (decoded, validated) {
            case (.success(let records), .success(let summary)):
                #expect(summary.recordCount == records.count, "byte \(index)")
                #expect(summary.hasNullKey == records.contains { $0.key == nil }, "byte \(index)")
            case (.failure(let decodeError), .failure(let validateError)):
                #expect(decodeError == validateError, "byte \(index)")
            default:
                Issue.record("byte \(index) mask \(mask): decoding \(decoded), validation \(validated)")
            }
            compared += 1
        }
        #expect(compared == original.count - RecordBatchHeader.sizeBytes)
    }

    @Test("a compressed batch is validated after decompression", arguments: CompressionCodec.supported)
    func compressed(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder(codec: codec)
        for index in 0..<100 {
            builder.append(key: utf8("k\(index)"), value: utf8(String(repeating: "v", count: index)), timestamp: Timestamp(milliseconds: 1))
        }
        let batch = try RecordBatch(bytes: builder.build())
        #expect(try batch.validateRecords() == RecordBatchSummary(recordCount: 100, hasNullKey: false))
    }
}
