/// Side outputs: routing some records of a stream to a topic of their own while the others go
/// on, e.g. suspicious orders to a review topic.
///
/// The side topic is written like any sink, in the worker's transaction with its other outputs,
/// its state changes and its consumed offsets, so a diverted record is written exactly once and
/// never also continues downstream.
extension RecordStream {
    /// Writes the records for which `predicate` holds to `topic` and passes the others on.
    public func sideOutput(
        to topic: String, key keySerde: Serde<Key>, value valueSerde: Serde<Value>,
        where predicate: @escaping (Key, Value) throws -> Bool
    ) -> RecordStream<Key, Value> {
        let graph = self.graph
        graph.addSink(topic)
        let operatorName = graph.nextOperatorName("sideOutput")
        let sinkName = "sideOutput-\(topic)"
        let next = StreamNode<Key, Value>()
        node.attach { context in
            let downstream = next.compile(context)
            let keySerde = keySerde.bound(for: context)
            let valueSerde = valueSerde.bound(for: context)
            return { record in
                let diverted: Bool
                do {
                    diverted = try predicate(record.key, record.value)
                } catch {
                    throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
                }
                guard diverted else { return try downstream(record) }
                do {
                    try context.emit(RawRecord(topic: topic, key: try keySerde.encode(record.key), value: try valueSerde.encode(record.value),
                                               timestamp: record.timestamp,
                                               headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) }))
                } catch {
                    throw RecordFailure(stage: .produce, operatorName: sinkName, error: error)
                }
            }
        }
        return RecordStream(node: next, graph: graph, valueSerde: valueSerde, rekeyed: rekeyed)
    }
}

extension RecordStream where Key == String {
    /// Writes the records for which `predicate` holds to `topic` with their string keys and
    /// passes the others on.
    public func sideOutput(
        to topic: String, value: Serde<Value>, where predicate: @escaping (Key, Value) throws -> Bool
    ) -> RecordStream<Key, Value> {
        sideOutput(to: topic, key: .string, value: value, where: predicate)
    }
}
