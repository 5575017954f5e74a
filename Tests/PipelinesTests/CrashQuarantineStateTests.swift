import Testing
import StreamCore
@testable import PipelineRuntime

/// The crash quarantine's decisions (``CrashQuarantine``), without processes: which starts count
/// a death, when narrowing begins and ends, when a record is quarantined; and the marker's text.
@Suite("crash quarantine decisions")
struct CrashQuarantineStateTests {
    static let start: [TopicPartition: Offset] = [TopicPartition(TopicName(rawValue: "in")!, PartitionID(0)): Offset(100)]

    static func marker(inFlight: Int, deaths: Int = 0, alone: Int = 0, mode: CrashQuarantine.Mode = .normal,
                       start: [TopicPartition: Offset] = start) -> InFlightMarker {
        InFlightMarker(start: start, inFlight: inFlight, deaths: deaths, alone: alone, mode: mode, sinceMilliseconds: 7)
    }

    @Test("no marker, a marker of another start, or nothing in flight: no death")
    func noDeath() {
        #expect(CrashQuarantine(found: nil, start: Self.start, now: 1).mode == .normal)
        let moved = CrashQuarantine(found: Self.marker(inFlight: 40, deaths: 1, start: [TopicPartition(TopicName(rawValue: "in")!, PartitionID(0)): Offset(90)]),
                                    start: Self.start, now: 1)
        #expect(moved.mode == .normal && moved.deaths == 0)
        // Killed while opening or restoring, before any record ran: the state carries over, no death.
        let idle = CrashQuarantine(found: Self.marker(inFlight: 0, deaths: 1), start: Self.start, now: 1)
        #expect(idle.mode == .normal && idle.deaths == 1)
        let idleNarrowing = CrashQuarantine(found: Self.marker(inFlight: 0, deaths: 3, mode: .narrowing(suspects: 9)), start: Self.start, now: 1)
        #expect(idleNarrowing.mode == .narrowing(suspects: 9) && idleNarrowing.deaths == 3)
    }

    @Test("two deaths with records in flight start the narrowing: half the suspects per transaction")
    func narrowingStarts() {
        let first = CrashQuarantine(found: Self.marker(inFlight: 40), start: Self.start, now: 1)
        #expect(first.mode == .normal && first.deaths == 1 && first.transactionRecordsMax == nil)
        var second = CrashQuarantine(found: Self.marker(inFlight: 40, deaths: 1), start: Self.start, now: 1)
        #expect(second.mode == .narrowing(suspects: 40) && second.deaths == 2 && second.transactionRecordsMax == 20)
        #expect(second.sinceMilliseconds == 7)
        // The first half commits: the killer is in the other 20.
        second.committed(records: 20)
        #expect(second.mode == .narrowing(suspects: 20) && second.deaths == 2 && second.transactionRecordsMax == 10)
        // All of them commit: no record was to blame; back to normal.
        second.committed(records: 20)
        #expect(second.mode == .normal && second.deaths == 0)
    }

    @Test("a record is quarantined after two deaths alone in flight, a narrowed range halves on a death")
    func quarantine() {
        let halved = CrashQuarantine(found: Self.marker(inFlight: 10, deaths: 3, mode: .narrowing(suspects: 20)), start: Self.start, now: 1)
        #expect(halved.mode == .narrowing(suspects: 10) && halved.deaths == 4)
        let aloneOnce = CrashQuarantine(found: Self.marker(inFlight: 1, deaths: 4, mode: .narrowing(suspects: 2)), start: Self.start, now: 1)
        #expect(aloneOnce.mode == .narrowing(suspects: 1) && aloneOnce.transactionRecordsMax == 1 && aloneOnce.deaths == 5)
        let aloneTwice = CrashQuarantine(found: Self.marker(inFlight: 1, deaths: 5, alone: 1, mode: .narrowing(suspects: 1)), start: Self.start, now: 1)
        #expect(aloneTwice.mode == .quarantine && aloneTwice.deaths == 6)
        // Killed before the dead letter committed: still quarantined, no extra death.
        let again = CrashQuarantine(found: Self.marker(inFlight: 0, deaths: 6, alone: 2, mode: .quarantine), start: Self.start, now: 1)
        #expect(again.mode == .quarantine && again.deaths == 6)
    }

    @Test("the marker's text round-trips; anything else is no evidence", arguments: [
        CrashQuarantine.Mode.normal, .narrowing(suspects: 12), .quarantine,
    ])
    func markerText(mode: CrashQuarantine.Mode) {
        let marker = Self.marker(inFlight: 3, deaths: 2, alone: 1, mode: mode)
        #expect(InFlightMarker(parsing: marker.encoded()) == marker)
        #expect(InFlightMarker(parsing: Array("sluice-inflight 2\n".utf8)) == nil)
        #expect(InFlightMarker(parsing: [0xFF, 0xFE]) == nil)
    }
}
