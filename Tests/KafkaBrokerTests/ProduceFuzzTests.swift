import Foundation
import Testing
import StreamCore
import RecordFormat
import LogStorage
@testable import KafkaBroker

/// Damaged and hostile batches, seeded: Produce never crashes, a refused batch appends nothing,
/// and whatever is accepted reads back as whole, decodable records (a pipeline can consume it).
/// Half the mutations recompute the CRC, to reach the checks behind it.
/// `SLUICE_BROKER_FUZZ_SEEDS` runs more seeds.
@Suite struct ProduceFuzzTests {
    static let seedCount = ProcessInfo.processInfo.environment["SLUICE_BROKER_FUZZ_SEEDS"].flatMap(Int.init) ?? 300

    @Test func mutatedBatchesAreRefusedWholeOrStoredReadable() throws {
        let fixture = try BrokerFixture()
        fixture.createTopic("fuzz")
        let partition = try fixture.log.partition(TopicPartition(TopicName(rawValue: "fuzz")!, 0))
        var accepted = 0
        for seed in 0..<UInt64(Self.seedCount) {
            var random = SeededRandom(seed: seed)
            let codec: CompressionCodec = [.none, .lz4, .zstd][Int(random.next() % 3)]
            let count = Int(random.next() % 20) + 1
            var batch = clientBatch((0..<count).map { "value-\(seed)-\($0)-" + String(repeating: "x", count: Int(random.next() % 50)) },
                                    codec: codec, keyed: random.chance(0.5))
            mutate(&batch, &random)
            let endBefore = partition.logEndOffset
            let result = fixture.produce("fuzz", batch, acks: 1)
            if result.errorCode == .none {
                accepted += 1
                let stored = fixture.fetch("fuzz", from: result.baseOffset, isolation: .readUncommitted).batches.first
                #expect(stored?.header.baseOffset.rawValue == result.baseOffset, "seed \(seed)")
                #expect(stored?.hasValidChecksum() == true, "seed \(seed)")
                let records = try? stored?.records()
                #expect(records?.count == Int(stored?.header.recordCount ?? -1), "seed \(seed): the stored batch decodes whole")
            } else {
                #expect(partition.logEndOffset == endBefore, "seed \(seed): \(result.errorCode.kafkaName) appended something")
            }
        }
        #expect(accepted > 0 && accepted < Self.seedCount, "some mutations are harmless, most are not (\(accepted) accepted)")
    }

    private func mutate(_ batch: inout [UInt8], _ random: inout SeededRandom) {
        let recomputeCRC = random.chance(0.5)
        switch random.next() % 6 {
        case 0:
            let position = Int(random.next() % UInt64(batch.count))
            batch[position] ^= UInt8(1 << (random.next() % 8))
        case 1:
            batch = Array(batch.prefix(Int(random.next() % UInt64(batch.count))))
        case 2:
            batch += (0..<Int(random.next() % 40 + 1)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 3:
            // A random field of the header after the CRC: attributes, last offset delta, timestamps,
            // producer, sequence, record count.
            let position = 21 + Int(random.next() % UInt64(RecordBatchHeader.sizeBytes - 21))
            batch[position] = UInt8(truncatingIfNeeded: random.next())
        case 4:
            // The records section.
            if batch.count > RecordBatchHeader.sizeBytes {
                let position = RecordBatchHeader.sizeBytes + Int(random.next() % UInt64(batch.count - RecordBatchHeader.sizeBytes))
                batch[position] = UInt8(truncatingIfNeeded: random.next())
            }
        default:
            // The length field.
            let length = Int32(truncatingIfNeeded: Int64(batch.count - 12) + Int64(random.next() % 9) - 4)
            withUnsafeBytes(of: length.bigEndian) { for (index, byte) in $0.enumerated() { batch[8 + index] = byte } }
        }
        if recomputeCRC && batch.count >= RecordBatchHeader.sizeBytes {
            let crc = batch.withUnsafeBytes { RecordBatch.checksum(ofBatch: $0) }
            withUnsafeBytes(of: crc.bigEndian) { for (index, byte) in $0.enumerated() { batch[RecordBatchHeader.crcPosition + index] = byte } }
        }
    }
}
