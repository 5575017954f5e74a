import Simulation
import StreamCore
import Testing

@Suite("Simulated clock")
struct SimulatedClockTests {
    @Test func timeStandsStillUntilAdvanced() {
        let clock = SimulatedClock(start: Timestamp(milliseconds: 1_700_000_000_000))
        #expect(clock.now() == Timestamp(milliseconds: 1_700_000_000_000))
        #expect(clock.monotonicNanoseconds() == 0)
        clock.advance(byMilliseconds: 250)
        #expect(clock.now() == Timestamp(milliseconds: 1_700_000_000_250))
        #expect(clock.monotonicNanoseconds() == 250_000_000)
        clock.advance(byNanoseconds: 999_999)
        #expect(clock.now() == Timestamp(milliseconds: 1_700_000_000_250))
        clock.advance(byNanoseconds: 1)
        #expect(clock.now() == Timestamp(milliseconds: 1_700_000_000_251))
    }

    @Test func advancingFromManyTasksLosesNothing() async {
        let clock = SimulatedClock(start: Timestamp(milliseconds: 0), monotonicStartNanoseconds: 5)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { for _ in 0..<1000 { clock.advance(byMilliseconds: 1) } } }
        }
        #expect(clock.now() == Timestamp(milliseconds: 8000))
        #expect(clock.monotonicNanoseconds() == 8_000_000_005)
    }
}
