#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LogStorage
import Logging
import RecordFormat
import Simulation
import StreamCore
import Synchronization
import Testing

// MARK: - Fixtures

/// The data directory every simulated test uses.
let dataDirectory = "/data"

/// A fixed, round wall-clock start so timestamps in failures are easy to read.
let clockStart: Int64 = 1_700_000_000_000

/// A legal topic name (crashes on an illegal literal: a bug in the test).
func topicName(_ name: String) -> TopicName {
    guard let topic = TopicName(rawValue: name) else { preconditionFailure("bad test topic name \(name)") }
    return topic
}

func makeClock(_ start: Int64 = clockStart) -> SimulatedClock {
    SimulatedClock(start: Timestamp(milliseconds: start))
}

/// Options with a single `__consumer_offsets` partition, which keeps the operation count (and
/// so crash-point sweeps) small.
func smallOptions(owner: String = "log-tests") -> LogOptions {
    var options = LogOptions()
    options.offsetsTopicPartitions = 1
    options.ownerDescription = owner
    return options
}

/// Opens the data directory on `storage`.
func openLog(
    _ storage: any Storage, clock: SimulatedClock, capture: LogCapture? = nil,
    directory: String = dataDirectory, options: LogOptions = smallOptions()
) throws -> LogManager {
    let logger = capture.map { capture in Logger(label: "test") { _ in CapturingLogHandler(capture: capture) } }
        ?? Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    return try LogManager.open(directory: directory, storage: storage, clock: clock, options: options, logger: logger)
}

/// Where a partition keeps its segments.
func partitionDirectory(_ topic: String, _ partition: Int = 0, root: String = dataDirectory) -> String {
    "\(root)/topics/\(topic)/\(partition)"
}

/// The 20-digit file name of a segment file.
func segmentFileName(_ base: Int64, _ suffix: String) -> String {
    let digits = String(base)
    return String(repeating: "0", count: 20 - digits.count) + digits + suffix
}

func segmentPath(_ topic: String, _ partition: Int = 0, base: Int64, _ suffix: String) -> String {
    "\(partitionDirectory(topic, partition))/\(segmentFileName(base, suffix))"
}

// MARK: - Records and batches

/// A record as the tests model it: what was written, without its offset.
struct TestRecord: Equatable, Hashable, Sendable, CustomStringConvertible {
    var key: [UInt8]?
    var value: [UInt8]?
    var timestamp: Int64
    var headers: [RecordHeader] = []

    init(key: String?, value: String?, timestamp: Int64, headers: [RecordHeader] = []) {
        self.key = key.map { Array($0.utf8) }
        self.value = value.map { Array($0.utf8) }
        self.timestamp = timestamp
        self.headers = headers
    }

    init(keyBytes: [UInt8]?, valueBytes: [UInt8]?, timestamp: Int64) {
        self.key = keyBytes
        self.value = valueBytes
        self.timestamp = timestamp
    }

    init(_ record: Record) {
        self.key = record.key
        self.value = record.value
        self.timestamp = record.timestamp.rawValue
        self.headers = record.headers
    }

    var description: String {
        let k = key.map { String(decoding: $0, as: UTF8.self) } ?? "nil"
        let v = value.map { String(decoding: $0.prefix(24), as: UTF8.self) } ?? "nil"
        return "(\(k)=\(v) @\(timestamp))"
    }
}

/// A record at its offset, for comparing a log with a model.
struct PlacedRecord: Equatable, Hashable, Sendable, CustomStringConvertible {
    var offset: Int64
    var record: TestRecord
    var description: String { "\(offset):\(record)" }
}

/// Encodes `records` as one batch with base offset 0, as producers hand it to the log.
func makeBatch(_ records: [TestRecord], codec: CompressionCodec = .none) -> [UInt8] {
    precondition(!records.isEmpty)
    var builder = RecordBatchBuilder(codec: codec)
    for record in records {
        builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: Timestamp(milliseconds: record.timestamp))
    }
    do { return try builder.build() } catch { preconditionFailure("building a test batch failed: \(error)") }
}

/// `count` records keyed `<tag>-k<i>` with values `<tag>-v<i>` padded to about `valueBytes`.
func makeRecords(_ tag: String, count: Int, timestamp: Int64, valueBytes: Int = 16) -> [TestRecord] {
    (0..<count).map { index in
        var value = "\(tag)-v\(index)-"
        while value.utf8.count < valueBytes { value += "x" }
        return TestRecord(key: "\(tag)-k\(index)", value: value, timestamp: timestamp)
    }
}

/// Every record of the partition from `start` (default: its log start), following reads of
/// at most `maxBytes`; throws what a read throws.
func readAll(_ partition: PartitionLog, from start: Offset? = nil, maxBytes: Int = 1 << 20) throws -> [PlacedRecord] {
    var offset = start ?? partition.logStartOffset
    var result: [PlacedRecord] = []
    let end = partition.logEndOffset
    while offset < end {
        let fetched = try partition.read(from: offset, maxBytes: maxBytes)
        guard let last = fetched.batches.last else { break }
        for batch in fetched.batches where !batch.header.isControl {
            for record in try batch.records() where record.offset >= offset {
                result.append(PlacedRecord(offset: record.offset.rawValue, record: TestRecord(record)))
            }
        }
        offset = last.header.lastOffset + 1
    }
    return result
}

/// The batches of the partition, in order (headers only).
func readHeaders(_ partition: PartitionLog) throws -> [RecordBatchHeader] {
    var offset = partition.logStartOffset
    var headers: [RecordBatchHeader] = []
    while offset < partition.logEndOffset {
        let fetched = try partition.read(from: offset, maxBytes: 1 << 20)
        guard let last = fetched.batches.last else { break }
        headers += fetched.batches.map(\.header)
        offset = last.header.lastOffset + 1
    }
    return headers
}

/// Places `batches` at contiguous offsets from `start`.
func placed(_ batches: [[TestRecord]], from start: Int64 = 0) -> [PlacedRecord] {
    var offset = start
    var result: [PlacedRecord] = []
    for batch in batches {
        for record in batch {
            result.append(PlacedRecord(offset: offset, record: record))
            offset += 1
        }
    }
    return result
}

// MARK: - Errors

/// The `LogError` that `body` throws, or nil when it does not throw. (Untyped `throws`: the
/// compiler does not infer typed throws for every closure.)
func logError<Value>(_ body: () throws -> Value) -> LogError? {
    do {
        _ = try body()
        return nil
    } catch let error as LogError {
        return error
    } catch {
        Issue.record("not a LogError: \(error)")
        return nil
    }
}

/// The code of the `LogError` that `body` throws.
func logErrorCode<Value>(_ body: () throws -> Value) -> LogError.Code? { logError(body)?.code }

// MARK: - Seeds

/// Seeds that found bugs or cover shapes worth keeping; always run.
let regressionSeeds: [UInt64] = [1, 2, 3, 42, 0xDEAD_BEEF, 20_251_125]

/// `count` seeds: the regression seeds, then consecutive ones from a per-run random start, so a
/// failure names the seed that replays it.
func sweepSeeds(_ count: Int) -> [UInt64] {
    var system = SystemRandomNumberGenerator()
    let start = system.next() >> 16
    return regressionSeeds + (0..<UInt64(max(0, count - regressionSeeds.count))).map { start + $0 }
}

extension SeededRandom {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...values.count - 1)] }
}

// MARK: - Log capture

/// Collects log messages so tests can check that a recovery said what it did.
final class LogCapture: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let state = Mutex<[Entry]>([])

    var entries: [Entry] { state.withLock { $0 } }

    func append(_ entry: Entry) { state.withLock { $0.append(entry) } }

    func messages(at level: Logger.Level) -> [String] { entries.filter { $0.level == level }.map(\.message) }

    func contains(_ fragment: String) -> Bool { entries.contains { $0.message.contains(fragment) } }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flat: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flat[key] = "\(value)" }
        capture.append(LogCapture.Entry(level: event.level, message: event.message.description, metadata: flat))
    }
}

// MARK: - Real directories

/// A fresh, empty directory under /tmp.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/sluice-logtests-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
    precondition(result != nil, "mkdtemp failed: \(errno)")
    return String(cString: result!)
}

func removeTemporaryDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}
