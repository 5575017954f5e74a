import Foundation
import KafkaProtocol
import StreamCore
import Testing

/// Seeded fuzzing of every decoder: random bytes, and byte flips, multi-byte overwrites,
/// insertions, deletions and truncations of the golden frames. Each decode must return or
/// throw the typed error; a trap would end the test process, and each decode is timed.
@Suite("Kafka codec fuzzing")
struct KafkaCodecFuzzTests {
    /// Frames per run in CI; `SLUICE_KAFKA_FUZZ_FRAMES` raises it for a soak.
    static let frameCount = ProcessInfo.processInfo.environment["SLUICE_KAFKA_FUZZ_FRAMES"].flatMap(Int.init) ?? 20_000

    /// Inputs that once failed, or that sit on an edge worth keeping; always run.
    static let regressionFrames: [String] = [
        "",
        "00",
        "0003000100000005",
        "0003 0001 00000005 0000 7fffffff",
        "0012 0003 00000001 0000 00 ffffffff0f",
        "0001 000c 00000001 0000 00 ffffffff 00000000 7fffffff 00000000 00 00000000 00 ffffffff0f",
        "0000 0009 00000001 0000 00 00 ffff 00000000 05 00 00",
        "0012 0004 00000001 0000 00 80808080 10",
    ].map { $0.filter { !$0.isWhitespace } }

    @Test("saved regression frames decode or fail with the typed error")
    func regressionFramesDecode() {
        for text in Self.regressionFrames {
            decodeAsEverything(bytes(hex: text))
        }
    }

    @Test("random and mutated frames never trap or hang", arguments: [UInt64(20_251_202)])
    func mutatedFrames(seed: UInt64) {
        let golden = GoldenFrame.all
        #expect(!golden.isEmpty)
        var random = SeededRandom(seed: seed)
        var outcomes = (decoded: 0, failed: 0)
        var slowest = Duration.zero
        let clock = ContinuousClock()
        for index in 0..<Self.frameCount {
            let frame: [UInt8]
            let source = golden[Int.random(in: 0..<golden.count, using: &random)]
            switch index % 6 {
            case 0: frame = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1: frame = flip(source.bytes, count: 1, &random)
            case 2: frame = flip(source.bytes, count: Int.random(in: 2...8, using: &random), &random)
            case 3: frame = Array(source.bytes.prefix(Int.random(in: 0...source.bytes.count, using: &random)))
            case 4: frame = insertOrDelete(source.bytes, &random)
            default: frame = overwriteLength(source.bytes, &random)
            }
            let started = clock.now
            let result = decodeAs(source, frame)
            slowest = max(slowest, clock.now - started)
            if result { outcomes.decoded += 1 } else { outcomes.failed += 1 }
        }
        #expect(outcomes.decoded + outcomes.failed == Self.frameCount)
        #expect(outcomes.failed > Self.frameCount / 2, "mutations are mostly caught: \(outcomes)")
        #expect(outcomes.decoded > 0, "some mutations still decode (values changed, structure intact): \(outcomes)")
        #expect(slowest < .seconds(1), "slowest decode took \(slowest)")
    }

    @Test("the frame splitter returns exactly the frames fed to it, however the stream is cut", arguments: [UInt64(7), 8, 9])
    func splitterReassembles(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let frames = GoldenFrame.all.map(\.bytes)
        let stream = frames.flatMap { KafkaFrame.sizePrefixed($0) }
        var splitter = KafkaFrameSplitter()
        var received: [[UInt8]] = []
        var position = 0
        while position < stream.count {
            let chunk = min(stream.count - position, Int.random(in: 1...3_000, using: &random))
            splitter.append(stream[position..<(position + chunk)])
            position += chunk
            while let frame = try splitter.nextFrame() { received.append(frame) }
        }
        #expect(received == frames)
        #expect(splitter.bufferedBytes == 0)
    }

    /// Decodes `frame` the way the source frame would be decoded; true when it decoded.
    private func decodeAs(_ source: GoldenFrame, _ frame: [UInt8]) -> Bool {
        if source.isRequest {
            do {
                _ = try KafkaRequest.decode(frame: frame)
                return true
            } catch {
                return false
            }
        }
        do {
            _ = try KafkaFrame.decodeResponse(source.api, version: source.version, frame: frame)
            return true
        } catch {
            return false
        }
    }

    private func decodeAsEverything(_ frame: [UInt8]) {
        _ = try? KafkaRequest.decode(frame: frame)
        for (api, kind, version) in everyMessageVersion {
            _ = try? KafkaCodec.decode(api.schema(kind), version: version, from: frame)
        }
    }

    private func flip(_ bytes: [UInt8], count: Int, _ random: inout SeededRandom) -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        var result = bytes
        for _ in 0..<count { result[Int.random(in: 0..<result.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
        return result
    }

    private func insertOrDelete(_ bytes: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var result = bytes
        let at = Int.random(in: 0...result.count, using: &random)
        if Bool.random(using: &random) || result.isEmpty {
            result.insert(contentsOf: (0..<Int.random(in: 1...4, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
        } else {
            result.remove(at: min(at, result.count - 1))
        }
        return result
    }

    /// Overwrites 4 bytes with a large or negative number: the shape of a lying length.
    private func overwriteLength(_ bytes: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        guard bytes.count >= 4 else { return bytes }
        var result = bytes
        let at = Int.random(in: 0...(bytes.count - 4), using: &random)
        let values: [UInt32] = [0x7FFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x8000_0000, 0x0FFF_FFFF, 0x0000_FFFF]
        let value = values[Int.random(in: 0..<values.count, using: &random)]
        for offset in 0..<4 { result[at + offset] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * offset)) }
        return result
    }
}
