internal import CCRC32C

/// CRC-32C (Castagnoli), the checksum of Kafka's record batch v2, computed with the CPU's
/// crc32 instruction where available (see `Sources/CCRC32C`).
///
/// `checksum(initial:)` chains: `checksum(b, initial: checksum(a)) == checksum(a + b)`.
/// Thread-safe (pure functions).
package enum CRC32C {
    /// The CRC-32C of `bytes`, continuing from `initial` (0 to start a new checksum).
    /// - Complexity: O(n), roughly 8 GB/s with SSE 4.2.
    package static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        sluice_crc32c(initial, bytes.baseAddress, bytes.count)
    }

    /// The CRC-32C of `bytes`.
    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The CRC-32C of `bytes`.
    package static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The same checksum computed by the portable table-driven code, bypassing the CPU
    /// instruction; for tests that cross-check the two paths.
    package static func portableChecksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        sluice_crc32c_portable(initial, bytes.baseAddress, bytes.count)
    }
}
