import RecordFormat
import StreamCore
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("known vectors", arguments: [
        (utf8("123456789"), UInt32(0xE306_9283)),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ([UInt8](), 0),
        (Array(0..<32), 0x46DD_794E),
    ] as [([UInt8], UInt32)])
    func knownVectors(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
        #expect(Reference.crc32c(bytes) == expected)
        #expect(bytes.withUnsafeBytes { CRC32C.portableChecksum($0) } == expected)
    }

    @Test("every length 0...100 matches the bitwise reference, at every alignment")
    func everyShortLength() {
        var random = SeededRandom(seed: 7)
        let buffer = random.bytes(108)
        for start in 0..<8 {
            for length in 0...100 {
                let slice = buffer[start..<(start + length)]
                let expected = Reference.crc32c(slice)
                #expect(CRC32C.checksum(slice) == expected, "start \(start) length \(length)")
                #expect(slice.withUnsafeBytes { CRC32C.portableChecksum($0) } == expected)
            }
        }
    }

    @Test("chaining: crc(a + b) == crc(b, initial: crc(a))")
    func chaining() {
        var random = SeededRandom(seed: 11)
        let bytes = random.bytes(5_000)
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 100, 768, 2_500, 4_999, 5_000] {
            let first = CRC32C.checksum(bytes[..<split])
            let chained = bytes[split...].withUnsafeBytes { CRC32C.checksum($0, initial: first) }
            #expect(chained == whole, "split \(split)")
        }
        #expect(whole == Reference.crc32c(bytes))
    }

    /// Lengths around the three-lane block sizes of the hardware path (3 × 256 and
    /// 3 × 8192 bytes), checked against the portable code and, once, the bitwise reference.
    @Test("hardware path matches the portable path at block boundaries", arguments: [
        0, 767, 768, 769, 1_535, 1_536, 24_575, 24_576, 24_577, 24_576 + 768, 49_152 + 775, 100_003, 1 << 20,
    ])
    func blockBoundaries(length: Int) {
        var random = SeededRandom(seed: UInt64(length) &+ 99)
        let buffer = random.bytes(length + 3)
        for start in 0...3 where start + length <= buffer.count {
            let slice = buffer[start..<(start + length)]
            let portable = slice.withUnsafeBytes { CRC32C.portableChecksum($0) }
            #expect(CRC32C.checksum(slice) == portable, "start \(start)")
        }
        if length <= 100_003 {
            #expect(CRC32C.checksum(buffer[..<length]) == Reference.crc32c(buffer[..<length]))
        }
    }
}
