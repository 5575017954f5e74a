import RecordFormat
import StreamCore
import Testing

@Suite("Varint")
struct VarintTests {
    @Test("encodes Kafka's zigzag varints", arguments: [
        (0, [0x00]),
        (-1, [0x01]),
        (1, [0x02]),
        (-2, [0x03]),
        (63, [0x7E]),
        (-64, [0x7F]),
        (64, [0x80, 0x01]),
        (-65, [0x81, 0x01]),
        (300, [0xD8, 0x04]),
        (Int64(Int32.max), [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]),
        (Int64(Int32.min), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (Int64.max, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        (Int64.min, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ] as [(Int64, [UInt8])])
    func knownEncodings(value: Int64, expected: [UInt8]) throws {
        var bytes: [UInt8] = []
        Varint.encode(value, into: &bytes)
        #expect(bytes == expected)
        #expect(Varint.encodedSize(value) == expected.count)
        var index = 0
        let decoded = try expected.withUnsafeBytes { try Varint.decode($0, at: &index) }
        #expect(decoded == value)
        #expect(index == expected.count)
    }

    @Test("decodes from the middle of a buffer and advances past the value")
    func decodesInPlace() throws {
        var bytes: [UInt8] = [0xAA]
        for value: Int64 in [5, -300, 1 << 40, Int64.min] { Varint.encode(value, into: &bytes) }
        var index = 1
        var decoded: [Int64] = []
        try bytes.withUnsafeBytes { buffer in
            while index < buffer.count { decoded.append(try Varint.decode(buffer, at: &index)) }
        }
        #expect(decoded == [5, -300, 1 << 40, Int64.min])
    }

    @Test("rejects truncated input", arguments: [
        [], [0x80], [0xFF, 0xFF], [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    ] as [[UInt8]])
    func truncated(bytes: [UInt8]) {
        var index = 0
        #expect {
            _ = try bytes.withUnsafeBytes { try Varint.decode($0, at: &index) }
        } throws: { ($0 as? RecordFormatError)?.code == .truncated }
        #expect(index == 0, "index is untouched on failure")
    }

    @Test("rejects encodings longer than 10 bytes or overflowing 64 bits", arguments: [
        [UInt8](repeating: 0x80, count: 10) + [0x00],
        [UInt8](repeating: 0xFF, count: 9) + [0x02],
        [UInt8](repeating: 0xFF, count: 9) + [0x81, 0x00],
        [UInt8](repeating: 0xFF, count: 12),
    ])
    func overlong(bytes: [UInt8]) {
        var index = 0
        #expect {
            _ = try bytes.withUnsafeBytes { try Varint.decode($0, at: &index) }
        } throws: { ($0 as? RecordFormatError)?.code == .corruptRecords }
    }

    @Test("seeded round trips of random values, sizes agree with encodings")
    func randomRoundTrips() throws {
        for seed in propertySeeds {
            var random = SeededRandom(seed: seed)
            for _ in 0..<2_000 {
                // Spread values across every magnitude, not just large ones.
                let value = Int64(bitPattern: random.next()) >> UInt64(random.int(0...63))
                var bytes: [UInt8] = []
                Varint.encode(value, into: &bytes)
                #expect(bytes.count == Varint.encodedSize(value), "seed \(seed) value \(value)")
                var index = 0
                let decoded = try bytes.withUnsafeBytes { try Varint.decode($0, at: &index) }
                #expect(decoded == value, "seed \(seed)")
            }
        }
    }
}
