import KafkaServer
import Testing

@Suite("Kafka response sequencer")
struct KafkaResponseSequencerTests {
    @Test("responses are released in request order; a request without a response releases the ones after it")
    func releasesInOrder() {
        var sequencer = KafkaResponseSequencer()
        let sequences = (0..<4).map { _ in sequencer.admit() }
        #expect(sequences == [0, 1, 2, 3] && sequencer.inFlightCount == 4)
        #expect(sequencer.complete(2, response: [2]).isEmpty)
        #expect(sequencer.complete(1, response: nil).isEmpty)
        #expect(sequencer.inFlightCount == 4)
        #expect(sequencer.complete(0, response: [0]) == [[0], [2]])
        #expect(sequencer.inFlightCount == 1)
        #expect(sequencer.complete(3, response: [3]) == [[3]])
        #expect(sequencer.inFlightCount == 0)
    }

    @Test("a seeded shuffle of completions always comes out in order", arguments: [UInt64(1), 2, 3, 4, 5])
    func shuffledCompletions(seed: UInt64) {
        var generator = SplitMix(state: seed)
        var sequencer = KafkaResponseSequencer()
        let count = 200
        let admitted = (0..<count).map { _ in sequencer.admit() }
        var released: [[UInt8]] = []
        for sequence in admitted.shuffled(using: &generator) {
            released += sequencer.complete(sequence, response: sequence % 7 == 3 ? nil : [UInt8(sequence % 256)])
        }
        #expect(released == admitted.filter { $0 % 7 != 3 }.map { [UInt8($0 % 256)] })
        #expect(sequencer.inFlightCount == 0)
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
