import RecordFormat
import StreamCore
import Testing

/// Damaged batches are reported with an error, never a crash.
@Suite("Corruption")
struct CorruptionTests {
    static func smallBatch(_ codec: CompressionCodec) throws -> [UInt8] {
        var builder = RecordBatchBuilder(codec: codec, producerID: ProducerID(3), producerEpoch: ProducerEpoch(0), baseSequence: 0)
        builder.append(key: utf8("key"), value: utf8("value value value"), headers: [RecordHeader("h", "1")],
                       timestamp: Timestamp(milliseconds: 1_000))
        builder.append(key: nil, value: utf8("value value value"), timestamp: Timestamp(milliseconds: 900))
        return try builder.build(baseOffset: Offset(10))
    }

    @Test("flipping any byte is caught by the header checks or the CRC", arguments: CompressionCodec.supported)
    func flipEveryByte(codec: CompressionCodec) throws {
        let original = try Self.smallBatch(codec)
        for index in original.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = original
                damaged[index] ^= mask
                guard let batch = try? RecordBatch(bytes: damaged) else { continue }  // header rejected it
                if index >= RecordBatchHeader.crcPosition {
                    #expect(!batch.hasValidChecksum(), "byte \(index) mask \(mask)")
                    #expect(throws: RecordFormatError.self) { try batch.verifyChecksum() }
                } else {
                    // baseOffset and partitionLeaderEpoch are outside the CRC by design.
                    #expect(batch.hasValidChecksum(), "byte \(index) mask \(mask)")
                }
                // Decoding damaged bytes must fail cleanly or succeed; it must not crash.
                _ = try? batch.records(outputLimitBytes: 1 << 20)
            }
        }
    }

    @Test("header fields are checked", arguments: [
        (RecordBatchHeader.magicPosition, UInt8(1), RecordFormatError.Code.badMagic),
        (RecordBatchHeader.magicPosition, UInt8(3), .badMagic),
        (RecordBatchHeader.batchLengthPosition + 3, UInt8(48), .corruptRecords),
        (RecordBatchHeader.batchLengthPosition, UInt8(0x80), .corruptRecords),
        (RecordBatchHeader.batchLengthPosition + 3, UInt8(0xFF), .truncated),
    ])
    func headerChecks(position: Int, byte: UInt8, code: RecordFormatError.Code) throws {
        var damaged = try Self.smallBatch(.none)
        damaged[position] = byte
        #expect { _ = try RecordBatch(bytes: damaged) } throws: { ($0 as? RecordFormatError)?.code == code }
    }

    @Test("every truncation is reported as truncated")
    func truncations() throws {
        let original = try Self.smallBatch(.none)
        for length in 0..<original.count {
            let prefix = Array(original[..<length])
            #expect("length \(length)") { _ = try RecordBatch(bytes: prefix) } throws: {
                ($0 as? RecordFormatError)?.code == .truncated
            }
            if length >= RecordBatchHeader.sizeBytes {
                #expect(try RecordBatchHeader.parse(prefix, at: 0).totalSizeBytes == original.count)
            }
        }
        #expect { _ = try RecordBatch(bytes: original + [0]) } throws: {
            ($0 as? RecordFormatError)?.code == .corruptRecords
        }
        #expect { _ = try RecordBatchHeader.parse(original, at: original.count + 1) } throws: {
            ($0 as? RecordFormatError)?.code == .truncated
        }
    }

    /// Random damage to the records section with the CRC recomputed, so that only the
    /// record decoder stands between the damage and the caller.
    @Test("damaged records with a valid CRC never crash the decoder", arguments: CompressionCodec.supported, propertySeeds)
    func fuzzRecords(codec: CompressionCodec, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var builder = RecordBatchBuilder(codec: codec)
        for input in RoundTripPropertyTests.randomRecords(&random).prefix(8) {
            builder.append(key: input.key.map { Array($0.prefix(40)) }, value: input.value.map { Array($0.prefix(40)) },
                           headers: input.headers, timestamp: input.timestamp)
        }
        let original = try builder.build()
        guard original.count > RecordBatchHeader.sizeBytes else { return }
        for _ in 0..<300 {
            var damaged = original
            for _ in 0..<random.int(1...3) {
                let index = random.int(RecordBatchHeader.sizeBytes...(damaged.count - 1))
                damaged[index] = UInt8(random.int(0...255))
            }
            if random.chance(0.2) {  // also lie about the record count
                damaged.withUnsafeMutableBytes { $0.storeBytes(of: Int32(random.int(-2...20)).bigEndian, toByteOffset: 57, as: Int32.self) }
            }
            let crc = damaged.withUnsafeBytes { RecordBatch.checksum(ofBatch: $0) }
            damaged.withUnsafeMutableBytes { $0.storeBytes(of: crc.bigEndian, toByteOffset: 17, as: UInt32.self) }
            let batch = try RecordBatch(bytes: damaged)
            #expect(batch.hasValidChecksum())
            do {
                let records = try batch.records(outputLimitBytes: 1 << 20)
                #expect(records.count == Int(batch.header.recordCount), "seed \(seed)")
            } catch {
                #expect([.corruptRecords, .decompressionFailed, .tooLarge].contains(error.code), "seed \(seed): \(error)")
            }
        }
    }

    @Test("record inconsistencies are corruptRecords", arguments: [
        // (records section, recordCount, lastOffsetDelta)
        ([UInt8](), Int32(1), Int32(0)),  // count says 1, no bytes
        ([0x0E, 0, 0, 0, 1, 1, 0, 0], 1, 0),  // valid record … plus a trailing byte
        ([0x0C, 0, 0, 0, 1, 1, 0], 2, 1),  // one record where two are promised
        ([0x0C, 0, 0, 0, 1, 1], 1, 0),  // length runs past the end
        ([0x0C, 0, 0, 0, 0x7E, 1, 0], 1, 0),  // key length 63 inside a 6-byte record
        ([0x0C, 0, 0, 0, 0x03, 1, 0], 1, 0),  // key length -2
        ([0x0C, 0, 0, 0x02, 1, 1, 0], 1, 0),  // offsetDelta 1 past lastOffsetDelta 0
        ([0x0C, 0, 0, 0, 1, 1, 0x7E], 1, 0),  // 63 headers, no bytes for them
        ([0x0E, 0, 0, 0, 1, 1, 0x02, 0x01], 1, 0),  // a null header key
        ([0x12, 0, 0, 0, 1, 1, 0x02, 0x02, 0xFF, 0x01], 1, 0),  // header key not UTF-8
        ([0x0C, 0, 0, 0, 1, 1, 0, 0x0C, 0, 0, 0, 1, 1, 0], 2, 1),  // offset deltas 0, 0
        ([0x01], 1, 0),  // negative record length
    ] as [([UInt8], Int32, Int32)])
    func inconsistentRecords(section: [UInt8], recordCount: Int32, lastOffsetDelta: Int32) throws {
        let bytes = Self.handBuiltBatch(section: section, recordCount: recordCount, lastOffsetDelta: lastOffsetDelta)
        let batch = try RecordBatch(bytes: bytes)
        #expect(batch.hasValidChecksum())
        #expect { _ = try batch.records() } throws: { ($0 as? RecordFormatError)?.code == .corruptRecords }
    }

    @Test("a minimal hand-built record decodes")
    func minimalRecord() throws {
        let batch = try RecordBatch(bytes: Self.handBuiltBatch(section: [0x0C, 0, 0, 0, 1, 1, 0], recordCount: 1, lastOffsetDelta: 0))
        #expect(try batch.records() == [Record(offset: 0, timestamp: Timestamp(milliseconds: 0), key: nil, value: nil, offsetDelta: 0)])
    }

    @Test("garbage in a compressed batch is decompressionFailed", arguments: [CompressionCodec.lz4, .zstd])
    func compressedGarbage(codec: CompressionCodec) throws {
        var random = SeededRandom(seed: 77)
        let bytes = Self.handBuiltBatch(section: random.bytes(200), recordCount: 3, lastOffsetDelta: 2, codec: codec)
        let batch = try RecordBatch(bytes: bytes)
        #expect { _ = try batch.records() } throws: { ($0 as? RecordFormatError)?.code == .decompressionFailed }
    }

    @Test("a decompression bomb in a batch is tooLarge", arguments: [CompressionCodec.lz4, .zstd])
    func batchBomb(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder(codec: codec)
        builder.append(key: nil, value: [UInt8](repeating: 0, count: 4 << 20), timestamp: Timestamp(milliseconds: 0))
        let batch = try RecordBatch(bytes: try builder.build())
        #expect(batch.bytes.count < 64 << 10)
        #expect { _ = try batch.records(outputLimitBytes: 4_096) } throws: {
            ($0 as? RecordFormatError)?.code == .tooLarge
        }
        #expect(try batch.records().first?.value?.count == 4 << 20)
    }

    @Test("gzip, snappy and unknown codecs are unsupportedCodec", arguments: [Int16(1), 2, 5, 6, 7])
    func unsupportedCodecs(codecBits: Int16) throws {
        var bytes = Self.handBuiltBatch(section: [0x0C, 0, 0, 0, 1, 1, 0], recordCount: 1, lastOffsetDelta: 0)
        var header = try RecordBatchHeader.parse(bytes, at: 0)
        header.attributes = codecBits
        header.write(into: &bytes)
        let batch = try RecordBatch(bytes: bytes)
        #expect(batch.header.codec == CompressionCodec(rawValue: codecBits))
        #expect { _ = try batch.records() } throws: { ($0 as? RecordFormatError)?.code == .unsupportedCodec }
        if let codec = CompressionCodec(rawValue: codecBits) {
            var builder = RecordBatchBuilder(codec: codec)
            builder.append(key: nil, value: nil, timestamp: Timestamp(milliseconds: 0))
            #expect { _ = try builder.build() } throws: { ($0 as? RecordFormatError)?.code == .unsupportedCodec }
        }
    }

    /// A batch around a hand-written records section (compressed as given, not compressed
    /// by this function), with a correct CRC.
    static func handBuiltBatch(
        section: [UInt8], recordCount: Int32, lastOffsetDelta: Int32, codec: CompressionCodec = .none
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.sizeBytes) + section
        let header = RecordBatchHeader(
            baseOffset: 0, batchLength: Int32(bytes.count - 12), partitionLeaderEpoch: -1, crc: 0,
            attributes: codec.rawValue, lastOffsetDelta: lastOffsetDelta, baseTimestamp: Timestamp(milliseconds: 0),
            maxTimestamp: Timestamp(milliseconds: 0), producerID: .none, producerEpoch: .none, baseSequence: -1,
            recordCount: recordCount)
        header.write(into: &bytes)
        let crc = Reference.crc32c(bytes[21...])
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: crc.bigEndian, toByteOffset: 17, as: UInt32.self) }
        return bytes
    }
}
