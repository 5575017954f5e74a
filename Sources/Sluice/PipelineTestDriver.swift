import Foundation
import StreamCore
import RecordFormat

/// Runs a pipeline in memory, without a data directory, so users can unit-test it: send
/// records (typed or raw), then read what it wrote and what it keeps in its stores.
///
/// Records are partitioned by key exactly as the log would (Kafka's murmur2), each partition
/// with its own worker and stores, as in the real runtime. Records a pipeline writes to a topic
/// it reads itself (its repartition topics) are fed back in, in the order written, before the
/// next sent record. Failures are collected in ``failures``, never dropped. A record that fails
/// leaves nothing behind, as in the runtime: its outputs are held until it has gone through
/// every operator and its store writes roll back to the savepoint after the record before it.
///
/// Thread-safety: one thread.
public final class PipelineTestDriver {
    public let topology: Topology
    public let partitionCount: Int
    private var workers: [Worker] = []
    private var outputs: [String: [RawRecord]] = [:]
    private var offsets: [String: Int64] = [:]
    private let sourceTopics: Set<String>
    /// Records written to the pipeline's own source topics, waiting to be processed.
    private var pending: [RawRecord] = []
    private var draining = false
    /// Virtual wall-clock time, milliseconds since the epoch; records sent without a timestamp
    /// get this one.
    public private(set) var currentTime: Int64
    /// The records that failed, with the stage and operator that refused them.
    public private(set) var failures: [RecordFailure] = []

    /// Where the pipeline's Avro serdes find schemas (an ``AvroSchemaCatalog``, say); nil when
    /// it has none.
    public let schemas: (any AvroSchemaSource)?

    /// - Parameter schemas: where Avro serdes (``Serde/avro(_:subject:)``) find schemas.
    public init(_ pipeline: some PipelineDefinition, partitions: Int = 1, startTime: Int64 = 1_750_000_000_000,
                schemas: (any AvroSchemaSource)? = nil) {
        precondition(partitions >= 1, "a pipeline needs at least one partition")
        self.schemas = schemas
        topology = pipeline.topology
        sourceTopics = Set(topology.sourceTopics)
        partitionCount = partitions
        currentTime = startTime
        workers = (0..<partitions).map { Worker(partition: Int32($0), driver: self) }
    }

    /// Sends a typed value, encoded as JSON, keyed by a string.
    public func send<Value: Encodable>(to topic: String, key: String?, value: Value, timestamp: Int64? = nil) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        sendRaw(to: topic, key: key.map { Array($0.utf8) }, bytes: Array(try encoder.encode(value)), timestamp: timestamp)
    }

    /// Sends bytes as they are (for poison and test data).
    public func sendRaw(to topic: String, key: [UInt8]?, bytes: [UInt8]?, timestamp: Int64? = nil, headers: [RawRecord.Header] = []) {
        pending.append(RawRecord(topic: topic, key: key, value: bytes, timestamp: timestamp ?? currentTime, headers: headers))
        drain()
    }

    /// Processes the pending records, including those the processing feeds back.
    private func drain() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while !pending.isEmpty {
            var record = pending.removeFirst()
            let partition = record.key.map { Int(Murmur2Partitioner.partition(forKey: $0, partitionCount: partitionCount).rawValue) } ?? 0
            record.partition = Int32(partition)
            record.offset = offsets[record.topic, default: 0]
            offsets[record.topic] = record.offset + 1
            workers[partition].process(record)
        }
    }

    /// Sends a string value keyed by a string.
    public func sendRaw(to topic: String, key: String?, value: String, timestamp: Int64? = nil) {
        sendRaw(to: topic, key: key.map { Array($0.utf8) }, bytes: Array(value.utf8), timestamp: timestamp)
    }

    /// Sends a tombstone (a null value) for a string key: it deletes the key from a table.
    public func sendTombstone(to topic: String, key: String, timestamp: Int64? = nil) {
        sendRaw(to: topic, key: Array(key.utf8), bytes: nil, timestamp: timestamp)
    }

    /// Moves virtual time forward.
    public func advanceTime(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        currentTime += seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Everything written to `topic`, in the order written.
    public func records(in topic: String) -> [RawRecord] { outputs[topic] ?? [] }

    /// The values written to `topic`, decoded from JSON.
    public func read<Value: Decodable>(from topic: String, as type: Value.Type) throws -> [Value] {
        try records(in: topic).map { try JSONDecoder().decode(Value.self, from: Data($0.value ?? [])) }
    }

    /// The (key, value) pairs written to `topic`, keys as text, values decoded from JSON.
    public func readKeyed<Value: Decodable>(from topic: String, as type: Value.Type) throws -> [(key: String, value: Value)] {
        try records(in: topic).map { (String(decoding: $0.key ?? [], as: UTF8.self), try JSONDecoder().decode(Value.self, from: Data($0.value ?? []))) }
    }

    /// A store's entries across all partitions.
    public func store(_ name: String) -> [[UInt8]: [UInt8]] {
        var merged: [[UInt8]: [UInt8]] = [:]
        for worker in workers {
            if let state = worker.stores[name] { merged.merge(state.entries) { _, new in new } }
        }
        return merged
    }

    fileprivate func record(_ output: RawRecord) {
        outputs[output.topic, default: []].append(output)
        if sourceTopics.contains(output.topic) { pending.append(output) }
    }
    fileprivate func record(_ failure: RecordFailure) { failures.append(failure) }

    /// One partition's worker: its compiled topology and its stores.
    private final class Worker: ProcessingContext {
        let partition: Int32
        unowned let driver: PipelineTestDriver
        var stores: [String: InMemoryKeyValueState] = [:]
        private var handlers: [String: (RawRecord) throws -> Void] = [:]
        /// The current record's outputs, recorded once it succeeded.
        private var recordOutputs: [RawRecord] = []

        init(partition: Int32, driver: PipelineTestDriver) {
            self.partition = partition
            self.driver = driver
            handlers = driver.topology.compile(for: self)
        }

        func process(_ record: RawRecord) {
            guard let handler = handlers[record.topic] else { return }
            defer { recordOutputs.removeAll(keepingCapacity: true) }
            do {
                try handler(record)
                for state in stores.values { state.setSavepoint() }
                for output in recordOutputs { driver.record(output) }
                return
            } catch let failure as RecordFailure {
                var located = failure
                located.source = located.source ?? record
                driver.record(located)
            } catch {
                driver.record(RecordFailure(stage: .process, operatorName: "pipeline", error: error, source: record))
            }
            for state in stores.values { state.rollBackToSavepoint() }
        }

        func keyValueStore(_ name: String) -> any KeyValueState {
            if let existing = stores[name] { return existing }
            let state = InMemoryKeyValueState()
            stores[name] = state
            return state
        }

        func emit(_ record: RawRecord) throws { recordOutputs.append(record) }

        var avroSchemas: (any AvroSchemaSource)? { driver.schemas }
    }
}
