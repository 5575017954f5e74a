import StreamCore

/// Generates member ids the way Kafka does: `<client id>-<uuid>` for dynamic members and
/// `<group instance id>-<uuid>` for static ones, with a random (version 4) UUID in lowercase.
///
/// Seeded, it yields the same ids in the same order, so coordinator tests replay.
/// Thread-safety: a value; owned by one coordinator.
struct MemberIDGenerator {
    private var seeded: SeededRandom?
    private var system = SystemRandomNumberGenerator()
    private static let hexDigits = Array("0123456789abcdef")

    init(seed: UInt64?) {
        seeded = seed.map { SeededRandom(seed: $0) }
    }

    private mutating func nextWord() -> UInt64 {
        if seeded != nil { return seeded!.next() }
        return system.next()
    }

    mutating func next(prefix: String) -> String {
        let words = [nextWord(), nextWord()]
        var bytes = words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * $0)) } }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { String([Self.hexDigits[Int($0 >> 4)], Self.hexDigits[Int($0 & 0x0F)]]) }
        let uuid = [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
        return "\(prefix)-\(uuid)"
    }
}
