import Testing
import StreamCore

@Suite("Vocabulary")
struct VocabularyTests {
    @Test("legal topic names", arguments: ["orders", "a", "customer-totals", "order-totals.dlq", "__consumer_offsets", "A_b.C-9", String(repeating: "x", count: 246)])
    func legalNames(name: String) throws {
        #expect(try TopicName(validating: name).rawValue == name)
    }

    @Test("illegal topic names say why", arguments: [
        ("", "empty"), (".", "'.'"), ("..", "'.'"), ("orders/0", "only ASCII"), ("émoji", "only ASCII"),
        ("a b", "only ASCII"), (String(repeating: "x", count: 247), "longer than 246"), (String(repeating: "x", count: 249), "longer than 246"),
    ])
    func illegalNames(name: String, reason: String) {
        #expect(TopicName(rawValue: name) == nil)
        let error = #expect(throws: InvalidTopicName.self) { try TopicName(validating: name) }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("internal topics start with two underscores")
    func internalTopics() {
        #expect(TopicName(rawValue: "__transaction_state")!.isInternal)
        #expect(!TopicName(rawValue: "_orders")!.isInternal)
    }

    @Test("offsets add and subtract as positions in a partition")
    func offsets() {
        let offset = Offset(41)
        #expect(offset + 1 == Offset(42))
        #expect(Offset(50) - offset == 9)
        #expect(Offset(1) < Offset(2))
        #expect([Offset(3), Offset(1), Offset(2)].sorted() == [Offset(1), Offset(2), Offset(3)])
    }

    @Test("big-endian fields round-trip and stop at the end")
    func bigEndianFields() {
        var writer = BigEndianWriter()
        writer.int8(-2)
        writer.int16(-300)
        writer.int32(Int32.min)
        writer.int64(Int64.max)
        writer.string("grüße")
        #expect(writer.bytes.prefix(3) == [0xFE, 0xFE, 0xD4])
        var reader = BigEndianReader(writer.bytes)
        #expect(reader.int8() == -2)
        #expect(reader.int16() == -300)
        #expect(reader.int32() == Int32.min)
        #expect(reader.int64() == Int64.max)
        #expect(reader.string() == "grüße")
        #expect(reader.isAtEnd)
        #expect(reader.int8() == nil)
        var short = BigEndianReader([0x00, 0x05, 0x61])
        #expect(short.string() == nil, "a string longer than what is left is refused")
    }

    @Test("the seeded generator replays from its seed")
    func seededRandom() {
        var first = SeededRandom(seed: 42)
        var second = SeededRandom(seed: 42)
        var other = SeededRandom(seed: 43)
        let a = (0..<8).map { _ in first.next() }
        #expect(a == (0..<8).map { _ in second.next() })
        #expect(a != (0..<8).map { _ in other.next() })
        var chances = SeededRandom(seed: 7)
        let hits = (0..<10_000).filter { _ in chances.chance(0.25) }.count
        #expect(hits > 2200 && hits < 2800)
        #expect(!SeededRandom(seed: 1).chanceNever())
    }
}

extension SeededRandom {
    /// `chance(0)` is never true.
    fileprivate func chanceNever() -> Bool {
        var copy = self
        return (0..<1000).contains { _ in copy.chance(0) }
    }
}
