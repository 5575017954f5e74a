import Testing
import StreamCore
import StateStores

@Suite struct CheckpointFormatTests {
    @Test func goldenBytes() {
        let bytes = StoreCheckpoint.encode(changelogOffset: Offset(7), records: [ChangelogRecord(key: [0x61], value: [0x31, 0x32])])
        let body: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0x61, 0, 0, 0, 2, 0x31, 0x32]
        let crc = CRC32CReference.checksum(body)
        let expected: [UInt8] = [0x53, 0x4C, 0x53, 0x43, 0, 1]
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)] + body
        #expect(bytes == expected)
        #expect(StoreCheckpoint.decode(bytes) == .valid(changelogOffset: Offset(7), records: [ChangelogRecord(key: [0x61], value: [0x31, 0x32])]))
    }

    @Test func emptyCheckpointRoundTrips() {
        let bytes = StoreCheckpoint.encode(changelogOffset: Offset(0), records: [])
        #expect(bytes.count == StoreCheckpoint.headerBytes)
        #expect(StoreCheckpoint.decode(bytes) == .valid(changelogOffset: Offset(0), records: []))
    }

    @Test func everyFlippedByteAndEveryTruncationIsDetected() {
        let bytes = StoreCheckpoint.encode(changelogOffset: Offset(99), records: [
            ChangelogRecord(key: [1, 2, 3], value: [4]), ChangelogRecord(key: [5], value: []),
        ])
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x10
            guard case .corrupt = StoreCheckpoint.decode(damaged) else {
                Issue.record("a flip at byte \(index) went unnoticed")
                continue
            }
        }
        for length in 0..<bytes.count {
            guard case .corrupt = StoreCheckpoint.decode(Array(bytes[..<length])) else {
                Issue.record("truncation to \(length) bytes went unnoticed")
                continue
            }
        }
    }
}

/// A bitwise CRC-32C, independent of the engine's, for golden bytes.
enum CRC32CReference {
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
