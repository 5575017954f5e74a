/// One key's change in a table: its value before and after (nil when absent).
public struct TableChange<Value> {
    public var newValue: Value?
    public var oldValue: Value?

    public init(newValue: Value?, oldValue: Value?) {
        self.newValue = newValue
        self.oldValue = oldValue
    }
}

extension TableChange: Equatable where Value: Equatable {}
extension TableChange: Sendable where Value: Sendable {}

/// A table: per key, the latest value. A topic read as a table is materialized in a state store
/// (its changelog makes it survive restarts); a record with a null value (a tombstone) deletes
/// its key. Tables are what streams join against (``RecordStream/join(_:_:)``) and join with
/// each other (``join(_:_:)``).
///
/// ```
/// table store:  key = the key serde's bytes      value = the value's bytes as read from the topic
/// ```
///
/// - Invariant: the table's topic is co-partitioned with what joins it (same partition count,
///   keys partitioned by Kafka's default partitioner), so one worker holds every key it looks up.
/// - Invariant: a worker sees a table as of the records it has processed, in timestamp order
///   across its input partitions (the runtime merges them by timestamp).
public struct Table<Key, Value> {
    let graph: TopologyGraph
    /// Every change to a key, in processing order.
    let changes: StreamNode<Key, TableChange<Value>>
    let keySerde: Serde<Key>
    /// Per worker, the function giving a key's current value.
    let lookup: (any ProcessingContext) -> (Key) throws -> Value?

    init(graph: TopologyGraph, changes: StreamNode<Key, TableChange<Value>>, keySerde: Serde<Key>,
         lookup: @escaping (any ProcessingContext) -> (Key) throws -> Value?) {
        self.graph = graph
        self.changes = changes
        self.keySerde = keySerde
        self.lookup = lookup
    }

    /// Reads `topic` as a table, materialized in the state store `store` (default
    /// `<topic>-table`). Records whose key or value does not decode are refused (dead-lettered),
    /// and leave the table as it was.
    public init(_ topic: String, key: Serde<Key>, value: Serde<Value>, store: String? = nil) {
        let graph = TopologyGraph()
        let storeName = store ?? "\(topic)-table"
        graph.addStore(storeName)
        let node = StreamNode<Key, TableChange<Value>>()
        let operatorName = "table-\(topic)"
        graph.addSource(.init(topic: .external(topic), isTable: true) { context in
            let state = context.keyValueStore(storeName)
            let key = key.bound(for: context)
            let value = value.bound(for: context)
            let downstream = node.compile(context)
            // A table only looked up (by a stream join) has no change readers: it then skips
            // decoding the old value and building the change.
            let forwardsChanges = node.hasChildren
            return { raw in
                let decodedKey: Key
                let change: TableChange<Value>
                do {
                    decodedKey = try key.decode(raw.key ?? [])
                    let keyBytes = try key.encode(decodedKey)
                    let oldBytes = state.get(keyBytes)
                    let old = forwardsChanges ? try oldBytes.map { try value.decode($0) } : nil
                    if let bytes = raw.value {
                        change = TableChange(newValue: try value.decode(bytes), oldValue: old)
                        state.put(keyBytes, bytes)
                    } else {
                        guard oldBytes != nil else { return }
                        change = TableChange(newValue: nil, oldValue: old)
                        state.delete(keyBytes)
                    }
                    guard forwardsChanges else { return }
                } catch let failure as SchemaSourceFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .decode, operatorName: operatorName, error: error, source: raw)
                }
                try downstream(StreamRecord(key: decodedKey, value: change, timestamp: raw.timestamp,
                                            headers: raw.headers.map { ($0.key, $0.value) }))
            }
        })
        self.init(graph: graph, changes: node, keySerde: key) { context in
            let state = context.keyValueStore(storeName)
            let key = key.bound(for: context)
            let value = value.bound(for: context)
            return { wanted in try state.get(try key.encode(wanted)).map { try value.decode($0) } }
        }
    }

    /// The table's updates as a stream (deletions are not forwarded; see ``changeStream()``).
    public func toStream() -> RecordStream<Key, Value> {
        changeStream().flatMapValues { change in change.newValue.map { [$0] } ?? [] }
    }

    /// Every change to the table, deletions included.
    public func changeStream() -> RecordStream<Key, TableChange<Value>> {
        RecordStream(node: changes, graph: graph)
    }

    /// Writes the table's changes to a topic: each new value, and a tombstone (null value) for
    /// each deleted key, so the topic read as a table equals this one. `settings` configure the
    /// topic when the runtime creates it (``SinkTopic/compacted`` keeps it a table forever).
    public func sink(_ topic: String, key: Serde<Key>, value: Serde<Value>, topic settings: SinkTopic = .standard) -> Topology {
        attachSink(to: changes, graph: graph, topic: topic, settings: settings) { context in
            let key = key.bound(for: context)
            let value = value.bound(for: context)
            return { record in (try key.encode(record.key), try record.value.newValue.map(value.encode)) }
        }
    }
}

extension Table where Key == String {
    /// Reads `topic` as a table of string keys.
    public init(_ topic: String, value: Serde<Value>, store: String? = nil) {
        self.init(topic, key: .string, value: value, store: store)
    }

    /// Writes the table's changes to a topic with their string keys.
    public func sink(_ topic: String, value: Serde<Value>, topic settings: SinkTopic = .standard) -> Topology {
        sink(topic, key: .string, value: value, topic: settings)
    }
}
