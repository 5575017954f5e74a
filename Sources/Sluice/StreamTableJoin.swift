/// Stream–table joins: each stream record looks its key up in the table as the worker sees it
/// at that record (the table's records processed before it, in timestamp order).
///
/// The stream is repartitioned by key first when an operator changed its keys (the table's key
/// serde writes them); the table must be co-partitioned with the stream's source.
///
/// - Invariant: table updates never emit join results (only stream records do), so a late
///   table update does not revise joins already emitted, as in Kafka Streams.
extension RecordStream {
    /// The inner join: records whose key is not in the table are dropped (use ``leftJoin(_:_:)``
    /// to keep them).
    public func join<TableValue, Joined>(
        _ table: Table<Key, TableValue>, _ joiner: @escaping (Value, TableValue) throws -> Joined
    ) -> RecordStream<Key, Joined> {
        lookUp(in: table, kind: "join") { value, found in try found.map { try joiner(value, $0) } }
    }

    /// The left join: every record is joined, with nil when its key is not in the table.
    public func leftJoin<TableValue, Joined>(
        _ table: Table<Key, TableValue>, _ joiner: @escaping (Value, TableValue?) throws -> Joined
    ) -> RecordStream<Key, Joined> {
        lookUp(in: table, kind: "leftJoin") { value, found in try joiner(value, found) }
    }

    private func lookUp<TableValue, Joined>(
        in table: Table<Key, TableValue>, kind: String, _ joined: @escaping (Value, TableValue?) throws -> Joined?
    ) -> RecordStream<Key, Joined> {
        let stream = partitionedByKey(table.keySerde, for: kind)
        stream.graph.absorb(table.graph)
        let operatorName = stream.graph.nextOperatorName(kind)
        let next = StreamNode<Key, Joined>()
        let lookup = table.lookup
        stream.node.attach { context in
            let find = lookup(context)
            let downstream = next.compile(context)
            return { record in
                let result: Joined?
                do {
                    result = try joined(record.value, try find(record.key))
                } catch let failure as RecordFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
                }
                guard let result else { return }
                try downstream(StreamRecord(key: record.key, value: result, timestamp: record.timestamp, headers: record.headers))
            }
        }
        return RecordStream<Key, Joined>(node: next, graph: stream.graph, rekeyed: false)
    }
}
