import RecordFormat
import StreamCore
import Testing

@Suite("Murmur2 partitioner")
struct Murmur2PartitionerTests {
    /// From Kafka's `UtilsTest.testMurmur2` (and, for "1" … "12345", hashes of Kafka's
    /// implementation quoted in other projects' tests), covering every tail length 0-3.
    @Test("matches Kafka's Utils.murmur2", arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
        ("1", -1_993_445_489),
        ("12", 126_087_238),
        ("123", -267_702_483),
        ("1234", -1_614_185_708),
        ("12345", -1_188_365_604),
    ])
    func knownHashes(key: String, expected: Int32) {
        #expect(Murmur2Partitioner.murmur2(utf8(key)) == expected)
    }

    @Test("bytes [a, b, c] hash like the string \"abc\"")
    func byteArray() {
        #expect(Murmur2Partitioner.murmur2([0x61, 0x62, 0x63]) == 479_470_107)
    }

    @Test("partition is toPositive(murmur2) % partitionCount", arguments: [
        ("21", [0, 0, 0, 0, 40]),
        ("foobar", [0, 0, 6, 6, 66]),
        ("a-little-bit-long-string", [0, 2, 2, 8, 12]),
        ("abc", [0, 0, 7, 3, 7]),
        ("1", [0, 0, 9, 3, 59]),
    ] as [(String, [Int32])])
    func partitions(key: String, expected: [Int32]) {
        let counts = [1, 3, 10, 12, 100]
        let chosen = counts.map { Murmur2Partitioner.partition(forKey: utf8(key), partitionCount: $0).rawValue }
        #expect(chosen == expected)
    }

    @Test("partitions stay in range for any key")
    func inRange() {
        var random = SeededRandom(seed: 3)
        for length in 0..<200 {
            let key = random.bytes(length)
            let partition = Murmur2Partitioner.partition(forKey: key, partitionCount: 7)
            #expect((0..<7).contains(partition.rawValue))
        }
    }
}
