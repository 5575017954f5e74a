import StreamCore
package import LogStorage

/// A worker's defence against a record that kills the process (a trap Swift cannot catch: an
/// overflow, a force-unwrap, `fatalError`, a stack overflow): the decisions, free of I/O; the
/// worker writes the ``InFlightMarker`` it asks for and acts on its mode.
///
/// Before the worker hands polled records to its operators it records what is in flight (the
/// transaction's start offsets and how many records it took since); on start it rewrites the
/// marker with nothing in flight. So a start that finds records in flight from the same start
/// offsets as the committed ones knows the process died while running them (an orderly exit
/// commits, or the runner discards the marker on an error), and a death before any record ran
/// (while opening, restoring) counts for nothing.
///
/// - ``deathsBeforeNarrowing`` (2) deaths with the same start: the killer is among the records
///   in flight at the last one. The worker narrows: it processes the first half of the suspects
///   as one transaction and commits it; if the process dies again, the killer is in that half,
///   otherwise in the rest; and so on, halving.
/// - A record that killed the process ``deathsBeforeNarrowing`` times while alone in flight is
///   the killer. The next start dead-letters it without running it (``Mode/quarantine``), in a
///   transaction with the offset past it.
/// - A narrowed range whose records all commit ends the narrowing (the deaths were not caused
///   by a record: a `kill -9`, the OOM killer, a power cut).
///
/// A `kill -9` loop that keeps landing while the same records are in flight ends the same way:
/// nothing in the process can tell it from a poison record, only the recorded signal
/// (`dlq.crash.signal`) can, when the death left one.
///
/// - Invariant: while narrowing, `suspects >= 1`, and every transaction takes at most
///   ``transactionRecordsMax`` records.
/// Thread-safety: owned by one worker thread.
package struct CrashQuarantine {
    /// Deaths with the same records in flight before the worker narrows them down, and deaths
    /// with one record alone in flight before it is dead-lettered.
    static let deathsBeforeNarrowing = 2

    enum Mode: Equatable {
        /// Transactions as the commit interval makes them.
        case normal
        /// The killer is among the first `suspects` records from the committed offsets.
        case narrowing(suspects: Int)
        /// The record at the committed offsets killed the process: dead-letter it, unprocessed.
        case quarantine
    }

    private(set) var mode: Mode = .normal
    /// Deaths so far with suspects in flight (carried over while narrowing).
    private(set) var deaths = 0
    /// Deaths with a single record alone in flight at the current start.
    private var alone = 0
    /// When the first doomed attempt began (ms since the epoch).
    private(set) var sinceMilliseconds: Int64 = 0

    /// The state after a start at `start` (the committed offsets) that found `marker`, at wall
    /// time `now` (ms).
    init(found marker: InFlightMarker?, start: [TopicPartition: Offset], now: Int64) {
        sinceMilliseconds = now
        guard let marker, marker.start == start else { return }
        mode = marker.mode
        deaths = marker.deaths
        alone = marker.alone
        sinceMilliseconds = marker.sinceMilliseconds
        guard marker.inFlight > 0, mode != .quarantine else { return }
        deaths += 1
        alone = marker.inFlight == 1 ? alone + 1 : 0
        if alone >= Self.deathsBeforeNarrowing {
            mode = .quarantine
        } else if mode != .normal || deaths >= Self.deathsBeforeNarrowing {
            mode = .narrowing(suspects: marker.inFlight)
        }
    }

    /// A transaction begins at wall time `now` (ms): with no death behind it, the attempt
    /// starts now.
    mutating func began(now: Int64) {
        if deaths == 0 { sinceMilliseconds = now }
    }

    /// The most records one transaction may take (nil: no bound but the commit interval's).
    var transactionRecordsMax: Int? {
        switch mode {
        case .normal: return nil
        case .narrowing(let suspects): return max(1, suspects / 2)
        case .quarantine: return 1
        }
    }

    /// The marker to write: `inFlight` records handed to the operators since `start`.
    func marker(start: [TopicPartition: Offset], inFlight: Int) -> InFlightMarker {
        InFlightMarker(start: start, inFlight: inFlight, deaths: deaths, alone: alone, mode: mode, sinceMilliseconds: sinceMilliseconds)
    }

    /// The input ran dry while narrowing or quarantining (the suspects are gone, e.g. removed
    /// by retention): back to normal transactions.
    mutating func endIsolation() {
        mode = .normal
        deaths = 0
        alone = 0
    }

    /// After a commit of `records` records (the killer's dead letter included).
    mutating func committed(records: Int) {
        alone = 0
        if case .narrowing(let suspects) = mode, suspects > records {
            mode = .narrowing(suspects: suspects - records)
            return
        }
        mode = .normal
        deaths = 0
    }
}

extension CrashQuarantine {
    /// `<data-dir>/state/<pipeline>/inflight/<partition>`: the worker's ``InFlightMarker``.
    static func markerPath(log: LogManager, pipeline: String, partition: Int32) -> String {
        joinPath(log.directory, "state", pipeline, "inflight", String(partition))
    }

    /// `<data-dir>/state/<pipeline>/inflight/signal`: the name of the signal that ended the last
    /// process running the pipeline (`SIGILL`…), written by `pipeline run`'s signal handler;
    /// empty when that process did not die of one it could catch (a SIGKILL).
    package static func signalPath(log: LogManager, pipeline: String) -> String {
        joinPath(log.directory, "state", pipeline, "inflight", "signal")
    }
}
