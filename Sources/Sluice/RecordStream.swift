/// Why a record could not be processed, with where it came from. Records are never dropped
/// silently: the runtime routes each failure by its policy (the test driver collects them).
public struct RecordFailure: Error, CustomStringConvertible, Sendable {
    public enum Stage: String, Sendable {
        case decode
        case process
        case produce
    }

    public var stage: Stage
    public var operatorName: String
    public var errorType: String
    public var message: String
    public var source: RawRecord?
    /// The error's own word on retrying (``ClassifiedError``); nil when it does not say.
    public var isRetryable: Bool?
    /// The dead-letter topic chosen for the failing operator (``RecordStream/deadLetters(to:)``);
    /// nil for the pipeline's default, `<pipeline>.dlq`.
    public var deadLetterTopic: String?
    /// Headers the error adds to the dead letter (``DeadLetterContext``), after the `dlq.*` context.
    public var deadLetterHeaders: [(name: String, value: String)]

    public var description: String { "\(stage) failed in \(operatorName): \(errorType): \(message)" }

    init(stage: Stage, operatorName: String, error: any Error, source: RawRecord? = nil) {
        self.stage = stage
        self.operatorName = operatorName
        self.errorType = String(describing: type(of: error))
        self.message = String(describing: error)
        self.source = source
        self.isRetryable = (error as? any ClassifiedError)?.isRetryable
        self.deadLetterHeaders = (error as? any DeadLetterContext)?.deadLetterHeaders ?? []
    }
}

/// Reads a topic: each record's key and value are decoded with the given serdes.
/// A null key decodes as empty bytes (so a `.string` key reads as ""); a null value (a
/// tombstone) fails to decode, since a stream has no use for it.
public func Source<Key, Value>(_ topic: String, key: Serde<Key>, value: Serde<Value>) -> RecordStream<Key, Value> {
    let graph = TopologyGraph()
    let node = StreamNode<Key, Value>()
    let operatorName = "source-\(topic)"
    let decodeDeadLetters = DeadLetterRouting()
    graph.addSource(.init(topic: .external(topic)) { context in
        let downstream = node.compile(context)
        let deadLetterTopic = decodeDeadLetters.topic
        let key = key.bound(for: context)
        let value = value.bound(for: context)
        return { raw in
            let record: StreamRecord<Key, Value>
            do {
                let decodedKey = try key.decode(raw.key ?? [])
                guard let bytes = raw.value else { throw SerdeError.missingValue }
                record = StreamRecord(key: decodedKey, value: try value.decode(bytes), timestamp: raw.timestamp,
                                      headers: raw.headers.map { ($0.key, $0.value) })
            } catch let failure as SchemaSourceFailure {
                // The registry's fault, not the record's: the pipeline stops rather than dead-letter it.
                throw failure
            } catch {
                var failure = RecordFailure(stage: .decode, operatorName: operatorName, error: error, source: raw)
                failure.deadLetterTopic = deadLetterTopic
                throw failure
            }
            try downstream(record)
        }
    })
    // A serde that needs schemas (Avro) is not carried to internal topics and stores: written
    // there it would register the reader's schema under the source's subject. They take JSON
    // (the value is Codable) instead.
    return RecordStream(node: node, graph: graph, valueSerde: value.needsSchemas ? nil : value, sourceDeadLetters: decodeDeadLetters)
}

/// Reads a topic of string keys.
public func Source<Value>(_ topic: String, value: Serde<Value>) -> RecordStream<String, Value> {
    Source(topic, key: .string, value: value)
}

/// A typed stream of records: the result of a source or of an operator.
///
/// Operators are values: applying one returns a new stream and never changes this one; one
/// stream may feed several operators (each gets every record).
public struct RecordStream<Key, Value> {
    let node: StreamNode<Key, Value>
    let graph: TopologyGraph
    /// How to write this stream's values to an internal topic, when known (the source's serde,
    /// kept by operators that keep the value type); repartitioning uses it.
    var valueSerde: Serde<Value>? = nil
    /// Whether an operator may have changed the keys since the source (or the last
    /// repartition), so records may sit in a partition other than their key's.
    var rekeyed = false
    /// The source's decode-failure routing, while this stream is the source itself (no operator
    /// in between), so ``deadLetters(to:)`` right after a source covers its decode failures.
    var sourceDeadLetters: DeadLetterRouting? = nil

    /// This stream's records with the given value serde and keying.
    func carrying(_ serde: Serde<Value>?, rekeyed: Bool) -> RecordStream<Key, Value> {
        RecordStream(node: node, graph: graph, valueSerde: serde, rekeyed: rekeyed)
    }

    /// Attaches a stateless step that turns each record into zero or more records.
    func derive<K2, V2>(_ kind: String, _ step: @escaping (StreamRecord<Key, Value>, (StreamRecord<K2, V2>) throws -> Void) throws -> Void) -> RecordStream<K2, V2> {
        let next = StreamNode<K2, V2>()
        let operatorName = graph.nextOperatorName(kind)
        node.attach { context in
            let downstream = next.compile(context)
            return { record in
                do {
                    try step(record, downstream)
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
                }
            }
        }
        return RecordStream<K2, V2>(node: next, graph: graph)
    }

    /// Transforms each value.
    public func mapValues<V2>(_ transform: @escaping (Value) throws -> V2) -> RecordStream<Key, V2> {
        derive("mapValues") { record, forward in
            try forward(StreamRecord(key: record.key, value: try transform(record.value), timestamp: record.timestamp, headers: record.headers))
        }.carrying(nil, rekeyed: rekeyed)
    }

    /// Transforms each record into a new key and value. Like ``key(by:)``, a stateful step after
    /// it repartitions; since the value type changed, give that step's serdes with
    /// ``repartition(key:value:name:)``.
    public func map<K2, V2>(_ transform: @escaping (Key, Value) throws -> (K2, V2)) -> RecordStream<K2, V2> {
        derive("map") { record, forward in
            let (key, value) = try transform(record.key, record.value)
            try forward(StreamRecord(key: key, value: value, timestamp: record.timestamp, headers: record.headers))
        }.carrying(nil, rekeyed: true)
    }

    /// Keeps the records for which `isIncluded` is true.
    public func filter(_ isIncluded: @escaping (Key, Value) throws -> Bool) -> RecordStream<Key, Value> {
        derive("filter") { record, forward in
            if try isIncluded(record.key, record.value) { try forward(record) }
        }.carrying(valueSerde, rekeyed: rekeyed)
    }

    /// Turns each record into any number of values under the same key.
    public func flatMapValues<V2>(_ transform: @escaping (Value) throws -> [V2]) -> RecordStream<Key, V2> {
        derive("flatMapValues") { record, forward in
            for value in try transform(record.value) {
                try forward(StreamRecord(key: record.key, value: value, timestamp: record.timestamp, headers: record.headers))
            }
        }.carrying(nil, rekeyed: rekeyed)
    }

    /// Turns each record into any number of records.
    public func flatMap<K2, V2>(_ transform: @escaping (Key, Value) throws -> [(K2, V2)]) -> RecordStream<K2, V2> {
        derive("flatMap") { record, forward in
            for (key, value) in try transform(record.key, record.value) {
                try forward(StreamRecord(key: key, value: value, timestamp: record.timestamp, headers: record.headers))
            }
        }.carrying(nil, rekeyed: true)
    }

    /// Sets each record's event time (milliseconds since the epoch) from its key and value;
    /// windows use it. Without this, event time is the source record's timestamp.
    public func withTimestamps(_ extract: @escaping (Key, Value) throws -> Int64) -> RecordStream<Key, Value> {
        derive("withTimestamps") { record, forward in
            var stamped = record
            stamped.timestamp = try extract(record.key, record.value)
            try forward(stamped)
        }.carrying(valueSerde, rekeyed: rekeyed)
    }

    /// Sees each record without changing it (logging, metrics).
    public func peek(_ action: @escaping (Key, Value) throws -> Void) -> RecordStream<Key, Value> {
        derive("peek") { record, forward in
            try action(record.key, record.value)
            try forward(record)
        }.carrying(valueSerde, rekeyed: rekeyed)
    }

    /// Chooses a new key from each value. Records may then sit in a partition other than their
    /// new key's, so a stateful step after this (a grouping, a join) first sends them through
    /// an internal repartition topic (`<pipeline>-<operator>-repartition`), partitioned by the
    /// new key, inside the same transactions as everything else.
    public func key<K2>(by selector: @escaping (Value) throws -> K2) -> RecordStream<K2, Value> {
        derive("key") { record, forward in
            try forward(StreamRecord(key: try selector(record.value), value: record.value, timestamp: record.timestamp, headers: record.headers))
        }.carrying(valueSerde, rekeyed: true)
    }

    /// Splits the stream: each record goes to the first branch whose predicate holds; records
    /// no predicate takes go to the `default` branch, when one is asked for.
    public func branch(
        _ predicates: [(name: String, (Key, Value) throws -> Bool)]
    ) -> [String: RecordStream<Key, Value>] {
        let nodes = predicates.map { _ in StreamNode<Key, Value>() }
        let fallback = StreamNode<Key, Value>()
        let operatorName = graph.nextOperatorName("branch")
        node.attach { context in
            let downstreams = nodes.map { $0.compile(context) }
            let otherwise = fallback.compile(context)
            return { record in
                do {
                    for (index, predicate) in predicates.enumerated() where try predicate.1(record.key, record.value) {
                        try downstreams[index](record)
                        return
                    }
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
                }
                try otherwise(record)
            }
        }
        var result: [String: RecordStream<Key, Value>] = [
            "default": RecordStream(node: fallback, graph: graph, valueSerde: valueSerde, rekeyed: rekeyed),
        ]
        for (index, predicate) in predicates.enumerated() {
            result[predicate.name] = RecordStream(node: nodes[index], graph: graph, valueSerde: valueSerde, rekeyed: rekeyed)
        }
        return result
    }

    /// Interleaves another stream of the same types into this one.
    public func merge(_ other: RecordStream<Key, Value>) -> RecordStream<Key, Value> {
        graph.absorb(other.graph)
        let merged = StreamNode<Key, Value>()
        node.attach { context in merged.compile(context) }
        other.node.attach { context in merged.compile(context) }
        return RecordStream(node: merged, graph: graph, valueSerde: valueSerde ?? other.valueSerde, rekeyed: rekeyed || other.rekeyed)
    }

    /// Writes every record to a topic, encoding key and value with the given serdes. Keyed
    /// records go to the partition Kafka's default partitioner picks. `settings` configure the
    /// topic when the runtime creates it (see ``SinkTopic``).
    public func sink(_ topic: String, key: Serde<Key>, value: Serde<Value>, topic settings: SinkTopic = .standard) -> Topology {
        attachSink(to: node, graph: graph, topic: topic, settings: settings) { context in
            let key = key.bound(for: context)
            let value = value.bound(for: context)
            return { record in (try key.encode(record.key), try value.encode(record.value)) }
        }
    }
}

/// Attaches to `node` a sink writing each record to `topic` with the key and value bytes
/// the encoder made for the worker gives (a nil value is a tombstone), its timestamp and headers;
/// any failure is a produce-stage failure of operator `sink-<topic>`.
func attachSink<Key, Value>(
    to node: StreamNode<Key, Value>, graph: TopologyGraph, topic: String, settings: SinkTopic,
    encoder: @escaping (any ProcessingContext) -> (StreamRecord<Key, Value>) throws -> (key: [UInt8]?, value: [UInt8]?)
) -> Topology {
    graph.addSink(topic, settings: settings)
    let operatorName = "sink-\(topic)"
    node.attach { context in
        let encode = encoder(context)
        return { record in
            do {
                let (key, value) = try encode(record)
                try context.emit(RawRecord(topic: topic, key: key, value: value, timestamp: record.timestamp,
                                           headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) }))
            } catch {
                throw RecordFailure(stage: .produce, operatorName: operatorName, error: error)
            }
        }
    }
    return Topology([graph])
}

extension RecordStream where Key == String {
    /// Writes every record to a topic with its string key.
    public func sink(_ topic: String, value: Serde<Value>, topic settings: SinkTopic = .standard) -> Topology {
        sink(topic, key: .string, value: value, topic: settings)
    }
}
