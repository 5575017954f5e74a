import RecordFormat
import StreamCore
import Testing

@Suite("Compression")
struct CompressionTests {
    static let compressing: [CompressionCodec] = [.lz4, .zstd]

    @Test("codec names and numbers", arguments: CompressionCodec.allCases)
    func names(codec: CompressionCodec) {
        #expect(CompressionCodec(rawValue: codec.rawValue) == codec)
        #expect(codec.isSupported == CompressionCodec.supported.contains(codec))
        #expect(CompressionCodec(name: codec.name) == (codec.isSupported ? codec : nil))
        #expect(CompressionCodec(name: codec.name.uppercased()) == (codec.isSupported ? codec : nil))
    }

    @Test("numbers match Kafka's attribute bits")
    func numbers() {
        #expect(CompressionCodec.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
        #expect(CompressionCodec(name: "brotli") == nil)
    }

    @Test("round trips", arguments: CompressionCodec.supported, [0, 1, 100, 65_535, 65_536, 300_000])
    func roundTrip(codec: CompressionCodec, count: Int) throws {
        var random = SeededRandom(seed: UInt64(count))
        // Half random, half repetitive, so that compression has something to find.
        let input = random.bytes(count / 2) + [UInt8](repeating: 0x61, count: count - count / 2)
        let compressed = try Compression.compress(input, codec: codec)
        let output = try Compression.decompress(compressed[...], codec: codec, outputLimitBytes: count)
        #expect(output == input)
    }

    @Test("LZ4 writes a frame Kafka reads: magic, 64 KB independent blocks, no checksum or size")
    func lz4FrameDescriptor() throws {
        let compressed = try Compression.compress(utf8("hello hello hello hello"), codec: .lz4)
        #expect(Array(compressed.prefix(4)) == [0x04, 0x22, 0x4D, 0x18])
        // FLG: version 01, block independence 1, no block checksum, no content size,
        // no content checksum, no dictionary id.
        #expect(compressed[4] == 0b0110_0000)
        // BD: block max size id 4 (64 KB).
        #expect(compressed[5] == 0x40)
    }

    @Test("Zstd writes a standard frame")
    func zstdFrameMagic() throws {
        let compressed = try Compression.compress(utf8("hello hello hello hello"), codec: .zstd)
        #expect(Array(compressed.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
    }

    @Test("gzip and snappy are recognised but unsupported", arguments: [CompressionCodec.gzip, .snappy])
    func unsupported(codec: CompressionCodec) {
        #expect {
            _ = try Compression.compress([1, 2, 3], codec: codec)
        } throws: { ($0 as? RecordFormatError)?.code == .unsupportedCodec }
        #expect {
            _ = try Compression.decompress([1, 2, 3], codec: codec, outputLimitBytes: 100)
        } throws: { ($0 as? RecordFormatError)?.code == .unsupportedCodec }
    }

    @Test("a decompression bomb stops at the limit", arguments: compressing)
    func bomb(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let compressed = try Compression.compress(zeros, codec: codec)
        #expect(compressed.count < 64 << 10)
        #expect {
            _ = try Compression.decompress(compressed[...], codec: codec, outputLimitBytes: 1_000)
        } throws: { ($0 as? RecordFormatError)?.code == .tooLarge }
        #expect {
            _ = try Compression.decompress(compressed[...], codec: codec, outputLimitBytes: zeros.count - 1)
        } throws: { ($0 as? RecordFormatError)?.code == .tooLarge }
        let exact = try Compression.decompress(compressed[...], codec: codec, outputLimitBytes: zeros.count)
        #expect(exact.count == zeros.count)
    }

    @Test("uncompressed payloads obey the limit too")
    func noneLimit() {
        #expect {
            _ = try Compression.decompress([1, 2, 3], codec: .none, outputLimitBytes: 2)
        } throws: { ($0 as? RecordFormatError)?.code == .tooLarge }
    }

    @Test("garbage and empty input fail cleanly", arguments: compressing)
    func garbage(codec: CompressionCodec) {
        var random = SeededRandom(seed: 5)
        for input in [[], [0x00], random.bytes(10), random.bytes(1_000), [UInt8](repeating: 0xFF, count: 64)] {
            #expect {
                _ = try Compression.decompress(input[...], codec: codec, outputLimitBytes: 1 << 20)
            } throws: { ($0 as? RecordFormatError)?.code == .decompressionFailed }
        }
    }

    @Test("every truncation of a frame fails cleanly", arguments: compressing)
    func truncatedFrames(codec: CompressionCodec) throws {
        var random = SeededRandom(seed: 6)
        let input = random.bytes(3_000) + [UInt8](repeating: 7, count: 3_000)
        let compressed = try Compression.compress(input, codec: codec)
        for length in 0..<compressed.count {
            #expect(throws: RecordFormatError.self, "length \(length)") {
                _ = try Compression.decompress(compressed[..<length], codec: codec, outputLimitBytes: 1 << 20)
            }
        }
    }

    @Test("bit flips in a frame never crash", arguments: compressing)
    func flippedFrames(codec: CompressionCodec) throws {
        var random = SeededRandom(seed: 8)
        let input = random.bytes(500) + [UInt8](repeating: 7, count: 2_000)
        let compressed = try Compression.compress(input, codec: codec)
        for index in compressed.indices {
            var damaged = compressed
            damaged[index] ^= 0x10
            // lz4 frames carry no content checksum, so some flips decode to different bytes;
            // the contract is only: no crash, and no output over the limit.
            if let output = try? Compression.decompress(damaged[...], codec: codec, outputLimitBytes: 10_000) {
                #expect(output.count <= 10_000)
            }
        }
    }

    @Test("decompresses a slice that does not start at index 0", arguments: compressing)
    func sliceInput(codec: CompressionCodec) throws {
        let input = utf8(String(repeating: "sluice ", count: 500))
        let compressed = try Compression.compress(input, codec: codec)
        let padded = [0xEE, 0xEE, 0xEE] + compressed + [0xEE]
        let slice = padded[3..<(3 + compressed.count)]
        #expect(try Compression.decompress(slice, codec: codec, outputLimitBytes: input.count) == input)
    }
}
