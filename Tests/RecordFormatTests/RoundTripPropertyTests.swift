import RecordFormat
import StreamCore
import Testing

/// Seeded property tests: random records → build → RecordBatch → records() equals the input.
@Suite("Round trips")
struct RoundTripPropertyTests {
    /// Random records: null, empty and large keys and values, headers with multi-byte keys,
    /// timestamps that go backwards (negative deltas) and, rarely, to the extremes.
    static func randomRecords(_ random: inout SeededRandom) -> [RecordInput] {
        let count = random.int(0...12) == 0 ? 0 : random.int(1...60)
        let base = Int64(random.int(0...2_000_000_000_000))
        return (0..<count).map { _ in
            var milliseconds = base + Int64(random.int(-100_000...100_000))
            if random.chance(0.01) { milliseconds = random.chance(0.5) ? Int64.min : Int64.max }
            if random.chance(0.02) { milliseconds = -1 }
            let headers = (0..<(random.chance(0.5) ? 0 : random.int(1...4))).map { _ in
                RecordHeader(key: random.headerKey(), value: random.field())
            }
            return RecordInput(
                key: random.field(), value: random.field(), headers: headers,
                timestamp: Timestamp(milliseconds: milliseconds))
        }
    }

    @Test("random batches round trip", arguments: CompressionCodec.supported, propertySeeds)
    func roundTrip(codec: CompressionCodec, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let inputs = Self.randomRecords(&random)
        let baseOffset = Offset(Int64(random.int(0...1 << 40)))
        let producerID = ProducerID(Int64(random.int(-1...1_000_000)))
        let epoch = ProducerEpoch(Int16(random.int(-1...300)))
        let sequence = Int32(random.int(-1...1_000_000))
        let transactional = random.chance(0.5)
        let leaderEpoch = Int32(random.int(-1...100))

        var builder = RecordBatchBuilder(
            codec: codec, producerID: producerID, producerEpoch: epoch, baseSequence: sequence,
            isTransactional: transactional, partitionLeaderEpoch: leaderEpoch)
        var expectedUncompressedBytes = RecordBatchHeader.sizeBytes
        for input in inputs {
            builder.append(key: input.key, value: input.value, headers: input.headers, timestamp: input.timestamp)
            #expect(builder.estimatedSizeBytes > expectedUncompressedBytes, "seed \(seed)")
            expectedUncompressedBytes = builder.estimatedSizeBytes
        }
        #expect(builder.recordCount == inputs.count)
        #expect(builder.isEmpty == inputs.isEmpty)

        let bytes = try builder.build(baseOffset: baseOffset)
        let batch = try RecordBatch(bytes: bytes)
        let header = batch.header
        #expect(batch.hasValidChecksum(), "seed \(seed)")
        #expect(header.codec == codec, "seed \(seed)")
        #expect(header.baseOffset == baseOffset)
        #expect(header.recordCount == Int32(inputs.count))
        #expect(header.lastOffsetDelta == Int32(max(inputs.count - 1, 0)))
        #expect(header.producerID == producerID && header.producerEpoch == epoch && header.baseSequence == sequence)
        #expect(header.isTransactional == transactional && !header.isControl && !header.isLogAppendTime)
        #expect(header.partitionLeaderEpoch == leaderEpoch)
        #expect(header.baseTimestamp == (inputs.first?.timestamp ?? .none), "seed \(seed)")
        #expect(header.maxTimestamp == (inputs.map(\.timestamp).max() ?? .none), "seed \(seed)")
        if codec == .none { #expect(bytes.count == expectedUncompressedBytes) }

        let records = try batch.records()
        let expected = inputs.enumerated().map { index, input in
            Record(
                offset: baseOffset + Int64(index), timestamp: input.timestamp, key: input.key, value: input.value,
                headers: input.headers, offsetDelta: Int32(index))
        }
        #expect(records == expected, "seed \(seed) codec \(codec)")
    }

    @Test("compaction keeps original offset deltas and lastOffsetDelta", arguments: CompressionCodec.supported)
    func compactionDeltas(codec: CompressionCodec) throws {
        var builder = RecordBatchBuilder(codec: codec)
        let deltas: [Int32] = [0, 3, 4, 17]
        for delta in deltas {
            builder.append(
                offsetDelta: delta, key: utf8("k\(delta)"), value: nil, timestamp: Timestamp(milliseconds: 10 - Int64(delta)))
        }
        let batch = try RecordBatch(bytes: try builder.build(baseOffset: Offset(100), lastOffsetDelta: 20))
        #expect(batch.header.lastOffset == Offset(120))
        #expect(batch.header.recordCount == 4)
        #expect(batch.header.baseTimestamp == Timestamp(milliseconds: 10))
        #expect(batch.header.maxTimestamp == Timestamp(milliseconds: 10))
        let records = try batch.records()
        #expect(records.map(\.offsetDelta) == deltas)
        #expect(records.map(\.offset) == deltas.map { Offset(100 + Int64($0)) })
        #expect(records.map(\.timestamp) == deltas.map { Timestamp(milliseconds: 10 - Int64($0)) })
    }

    @Test("an empty batch, as compaction can leave behind")
    func emptyBatch() throws {
        let builder = RecordBatchBuilder(producerID: ProducerID(9), producerEpoch: ProducerEpoch(2))
        let batch = try RecordBatch(bytes: try builder.build(baseOffset: Offset(50), lastOffsetDelta: 4))
        #expect(batch.bytes.count == RecordBatchHeader.sizeBytes)
        #expect(batch.header.recordCount == 0 && batch.header.lastOffset == Offset(54))
        #expect(batch.header.baseTimestamp == .none && batch.header.maxTimestamp == .none)
        #expect(try batch.records().isEmpty)
    }

    @Test("setBaseOffset and setPartitionLeaderEpoch keep the checksum valid")
    func rewriteOutsideCRC() throws {
        var builder = RecordBatchBuilder(codec: .lz4)
        builder.append(key: nil, value: utf8("v"), timestamp: Timestamp(milliseconds: 1))
        builder.append(key: nil, value: utf8("w"), timestamp: Timestamp(milliseconds: 2))
        let single = try builder.build()
        var log = utf8("junk") + single + single
        RecordBatch.setBaseOffset(Offset(1_000), in: &log, at: 4 + single.count)
        RecordBatch.setPartitionLeaderEpoch(12, in: &log, at: 4 + single.count)
        let header = try RecordBatchHeader.parse(log, at: 4 + single.count)
        #expect(header.baseOffset == Offset(1_000) && header.partitionLeaderEpoch == 12)
        #expect(try RecordBatchHeader.parse(log, at: 4).baseOffset == Offset(0))
        let batch = try RecordBatch(bytes: Array(log[(4 + single.count)...]))
        #expect(batch.hasValidChecksum())
        #expect(try batch.records().map(\.offset) == [Offset(1_000), Offset(1_001)])
    }

    @Test("LogAppendTime batches report maxTimestamp for every record, as Kafka does")
    func logAppendTime() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: nil, value: nil, timestamp: Timestamp(milliseconds: 5))
        builder.append(key: nil, value: nil, timestamp: Timestamp(milliseconds: 7))
        var bytes = try builder.build()
        var header = try RecordBatchHeader.parse(bytes, at: 0)
        header.attributes |= RecordBatchHeader.logAppendTimeFlag
        header.maxTimestamp = Timestamp(milliseconds: 99)
        header.write(into: &bytes)
        let batch = try RecordBatch(bytes: bytes)
        #expect(batch.header.isLogAppendTime)
        #expect(try batch.records().map(\.timestamp) == [Timestamp(milliseconds: 99), Timestamp(milliseconds: 99)])
    }
}
