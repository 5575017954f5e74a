/// A stream grouped by its key, ready for a stateful aggregation. Each aggregation keeps its
/// state in a key-value store owned by the worker of the record's partition, and emits the
/// updated aggregate for the key on every record (a changelog stream).
///
/// - Invariant: records with the same key are in the same partition (the source's keying, or a
///   repartition), so one worker owns all of a key's state.
public struct GroupedStream<Key, Value> {
    let stream: RecordStream<Key, Value>
    let keySerde: Serde<Key>

    /// Counts records per key.
    public func count(store: String? = nil) -> RecordStream<Key, Int64> {
        aggregate(store: store, initial: Int64(0), value: Serde<Int64>.int64) { count, _ in count + 1 }
    }

    /// Combines the values of each key, the first value as it is.
    public func reduce(store: String? = nil, value serde: Serde<Value>, _ combine: @escaping (Value, Value) throws -> Value) -> RecordStream<Key, Value> {
        fold(store: store, kind: "reduce", serde: serde) { previous, record in
            try previous.map { try combine($0, record.value) } ?? record.value
        }
    }

    /// Folds the records of each key into an aggregate, starting from `initial`.
    public func aggregate<Aggregate>(
        store: String? = nil, initial: Aggregate, value serde: Serde<Aggregate>,
        _ add: @escaping (Aggregate, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> RecordStream<Key, Aggregate> {
        fold(store: store, kind: "aggregate", serde: serde) { previous, record in try add(previous ?? initial, record) }
    }

    private func fold<Aggregate>(
        store: String?, kind: String, serde: Serde<Aggregate>,
        _ step: @escaping (Aggregate?, StreamRecord<Key, Value>) throws -> Aggregate
    ) -> RecordStream<Key, Aggregate> {
        let graph = stream.graph
        let storeName = store ?? graph.nextOperatorName("\(kind)-store")
        graph.addStore(storeName)
        let keySerde = self.keySerde
        let next = StreamNode<Key, Aggregate>()
        stream.node.attach { context in
            let state = context.keyValueStore(storeName)
            let downstream = next.compile(context)
            let serde = serde.bound(for: context)
            return { record in
                let updated: Aggregate
                do {
                    let keyBytes = try keySerde.encode(record.key)
                    let previous = try state.get(keyBytes).map { try serde.decode($0) }
                    updated = try step(previous, record)
                    state.put(keyBytes, try serde.encode(updated))
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: storeName, error: error)
                }
                try downstream(StreamRecord(key: record.key, value: updated, timestamp: record.timestamp, headers: record.headers))
            }
        }
        return RecordStream(node: next, graph: graph)
    }
}

extension RecordStream {
    /// Groups by the current key, which `key` serialises for the state store. After a change
    /// of key (``key(by:)``) the records are first repartitioned by their new key.
    public func groupByKey(key: Serde<Key>) -> GroupedStream<Key, Value> {
        GroupedStream(stream: partitionedByKey(key, for: "groupByKey"), keySerde: key)
    }
}

extension RecordStream where Key == String {
    /// Groups by the current string key.
    public func groupByKey() -> GroupedStream<Key, Value> { groupByKey(key: .string) }
}

extension Serde where Value == Int64 {
    /// A 64-bit integer, 8 bytes big-endian.
    public static var int64: Serde<Int64> {
        Serde(encode: { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } }, decode: { bytes in
            guard bytes.count == 8 else { throw SerdeError.wrongLength(expected: 8, actual: bytes.count) }
            return bytes.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        })
    }
}
