import Testing

@testable import Avro

/// Lengths, counts and depth beyond the limits are errors before anything is allocated for
/// them: every input here claims far more than the limits (or memory) allow.
@Suite struct AvroDecodingLimitsTests {
    static let tight = AvroDecodingLimits(bytesLengthMax: 1024, collectionCountMax: 1000, depthMax: 16)

    func longBytes(_ value: Int64) -> [UInt8] {
        var writer = AvroByteWriter()
        writer.writeLong(value)
        return writer.bytes
    }

    func reason(_ body: () throws -> Void) -> AvroCodecError.Reason? {
        do {
            try body()
            return nil
        } catch let error as AvroCodecError {
            return error.reason
        } catch {
            return nil
        }
    }

    @Test func aHugeStringLengthIsAnError() {
        let bytes = longBytes(1 << 60) + [0x61]
        #expect(reason { _ = try AvroSchema.string.decode(bytes, limits: Self.tight) } == .lengthOverLimit(1 << 60, limit: 1024))
        // Within the limit but beyond the input: truncated, not read.
        #expect(reason { _ = try AvroSchema.bytes.decode(longBytes(1000) + [1, 2, 3], limits: Self.tight) } == .truncated)
        #expect(reason { _ = try AvroSchema.bytes.decode(longBytes(-5), limits: Self.tight) } == .negativeLength(-5))
    }

    @Test func aHugeArrayOfNullsIsAnError() {
        // Nulls take no bytes, so only the count limit stands between these 2^62 items and memory.
        let array = AvroSchema.array(.null)
        #expect(reason { _ = try array.decode(longBytes(1 << 62) + [0x00], limits: Self.tight) } == .countOverLimit(1 << 62, limit: 1000))
        // The limit is over all blocks: 600 + 600 is over 1,000.
        let twoBlocks = longBytes(600) + longBytes(600) + [0x00]
        #expect(reason { _ = try array.decode(twoBlocks, limits: Self.tight) } == .countOverLimit(1200, limit: 1000))
        let map = AvroSchema.map(.null)
        #expect(reason { _ = try map.decode(longBytes(-(1 << 50)) + longBytes(4) + [0x00], limits: Self.tight) } == .countOverLimit(1 << 50, limit: 1000))
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() throws {
        let list = try AvroSchema(parsing: #"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#)
        // 100,000 levels of "branch 1" then null.
        let bytes = [UInt8](repeating: 0x02, count: 100_000) + [0x00]
        #expect(reason { _ = try list.decode(bytes, limits: Self.tight) } == .depthOverLimit(limit: 16))
        final class Node: Decodable { let next: Node? }
        let nested = AvroSchema.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.array(.null)))))))))))))))))
        let deep = [UInt8](repeating: 0x02, count: 17) + [0x00]
        #expect(reason { _ = try nested.decode(deep, limits: Self.tight) } == .depthOverLimit(limit: 16))
        #expect(throws: AvroCodecError.self) { _ = try AvroBinaryDecoder(schema: list, limits: Self.tight).decode(Node.self, from: bytes) }
    }

    @Test func malformedPrimitivesAreErrors() {
        #expect(reason { _ = try AvroSchema.long.decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]) } == .invalidVarint)
        #expect(reason { _ = try AvroSchema.int.decode(longBytes(1 << 40)) } == .invalidVarint)
        #expect(reason { _ = try AvroSchema.long.decode([0x80]) } == .truncated)
        #expect(reason { _ = try AvroSchema.string.decode([0x04, 0xC3, 0x28]) } == .invalidUTF8)
        #expect(reason { _ = try AvroSchema.boolean.decode([0x02]) } == .mismatch("boolean byte 2 is neither 0 nor 1"))
        #expect(reason { _ = try AvroSchema.union([.null, .int]).decode([0x04]) } == .unionIndexOutOfRange(2, branches: 2))
        #expect(reason { _ = try AvroSchema.int.decode([0x02, 0x00]) } == .trailingBytes(1))
    }
}
