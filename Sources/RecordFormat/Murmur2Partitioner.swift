package import StreamCore

/// Kafka's default partitioner for keyed records: `toPositive(murmur2(key)) % partitionCount`,
/// bit-for-bit the same as the Java client's `Utils.murmur2`, so keys land in the partitions
/// Kafka producers would choose.
///
/// Thread-safe (pure functions).
package enum Murmur2Partitioner {
    private static let seed: UInt32 = 0x9747_B28C
    private static let multiplier: UInt32 = 0x5BD1_E995
    private static let rotation: UInt32 = 24

    /// MurmurHash2 (32-bit) of `bytes` with Kafka's seed, as Java's signed int: words are
    /// little-endian, arithmetic wraps, shifts are logical.
    package static func murmur2(_ bytes: [UInt8]) -> Int32 {
        let length = bytes.count
        var hash = seed ^ UInt32(truncatingIfNeeded: length)
        let wordCount = length / 4
        for word in 0..<wordCount {
            let index = word * 4
            var k = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
                | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
            k = k &* multiplier
            k ^= k >> rotation
            k = k &* multiplier
            hash = hash &* multiplier
            hash ^= k
        }
        let tail = wordCount * 4
        let remaining = length - tail
        if remaining >= 3 { hash ^= UInt32(bytes[tail + 2]) << 16 }
        if remaining >= 2 { hash ^= UInt32(bytes[tail + 1]) << 8 }
        if remaining >= 1 {
            hash ^= UInt32(bytes[tail])
            hash = hash &* multiplier
        }
        hash ^= hash >> 13
        hash = hash &* multiplier
        hash ^= hash >> 15
        return Int32(bitPattern: hash)
    }

    /// The partition Kafka's default partitioner picks for `key`.
    /// - Precondition: `partitionCount > 0`.
    package static func partition(forKey key: [UInt8], partitionCount: Int) -> PartitionID {
        precondition(partitionCount > 0, "a topic has at least one partition")
        let positive = Int(murmur2(key) & 0x7FFF_FFFF)
        return PartitionID(positive % partitionCount)
    }
}
