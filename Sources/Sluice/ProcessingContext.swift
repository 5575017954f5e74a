/// What operators need from whoever runs them: state, output and time. The in-memory
/// ``PipelineTestDriver`` and the log-backed runtime each provide one per worker (one input
/// partition), so a pipeline behaves the same under both.
///
/// Thread-safety: one worker thread at a time.
public protocol ProcessingContext: AnyObject {
    /// The worker's key-value store called `name` (created on first use); writes are part of the
    /// current transaction.
    func keyValueStore(_ name: String) -> any KeyValueState
    /// Sends a record to a topic as part of the current transaction.
    /// - Throws: when the record cannot be produced (a produce-stage failure).
    func emit(_ record: RawRecord) throws
    /// The worker's input partition.
    var partition: Int32 { get }
    /// Where Avro serdes find schemas (the data directory's schema registry in the runtime);
    /// nil when there is none (the default).
    var avroSchemas: (any AvroSchemaSource)? { get }
}

extension ProcessingContext {
    public var avroSchemas: (any AvroSchemaSource)? { nil }
}

/// A key-value store as operators see it: bytes in, bytes out; reads see this transaction's
/// own writes.
public protocol KeyValueState: AnyObject {
    func get(_ key: [UInt8]) -> [UInt8]?
    func put(_ key: [UInt8], _ value: [UInt8])
    func delete(_ key: [UInt8])
    /// The entries with `lower <= key < upper` (bytewise), this transaction's writes included,
    /// in key order.
    func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])]
}

/// An in-memory ``KeyValueState`` for the test driver (writes apply at once).
///
/// Like the runtime's stores it keeps a savepoint: the driver sets one after each record that
/// went through every operator and rolls back to it when a record fails, so a failed record
/// leaves none of its writes.
/// - Invariant: applying `undo` from last to first to `entries` gives the entries at the savepoint.
public final class InMemoryKeyValueState: KeyValueState {
    public private(set) var entries: [[UInt8]: [UInt8]] = [:]
    /// The writes since the savepoint, oldest first: the key and its value before (nil: none).
    private var undo: [(key: [UInt8], previous: [UInt8]?)] = []
    public init() {}
    public func get(_ key: [UInt8]) -> [UInt8]? { entries[key] }
    public func put(_ key: [UInt8], _ value: [UInt8]) { undo.append((key, entries.updateValue(value, forKey: key))) }
    public func delete(_ key: [UInt8]) { undo.append((key, entries.removeValue(forKey: key))) }

    /// Keeps the writes so far.
    func setSavepoint() { undo.removeAll(keepingCapacity: true) }

    /// Undoes the writes since the last savepoint.
    func rollBackToSavepoint() {
        while let entry = undo.popLast() { entries[entry.key] = entry.previous }
    }

    public func range(from lower: [UInt8], to upper: [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        entries.filter { !$0.key.lexicographicallyPrecedes(lower) && $0.key.lexicographicallyPrecedes(upper) }
            .map { (key: $0.key, value: $0.value) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }
}
