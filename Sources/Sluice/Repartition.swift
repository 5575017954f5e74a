/// Repartitioning: sending a re-keyed stream through an internal topic so that every record
/// lands in the partition of its new key (Kafka's default partitioner over the encoded key),
/// where the worker that owns the key's state reads it back.
///
/// The internal topic is `<pipeline>-<name>-repartition`; the runtime creates it with the
/// sources' partition count. Writes to it are part of the worker's transaction and the reading
/// worker reads it read-committed, so a record crosses it exactly once.
extension RecordStream {
    /// Sends the stream through an internal repartition topic, encoding keys and values with
    /// the given serdes; the result is keyed and partitioned by its current key.
    ///
    /// Stateful steps (``groupByKey(key:)``, joins) call this themselves after ``key(by:)``,
    /// using the source's value serde; call it yourself when the value type changed since the
    /// source (after ``map(_:)`` or ``mapValues(_:)``).
    public func repartition(key keySerde: Serde<Key>, value valueSerde: Serde<Value>, name: String? = nil) -> RecordStream<Key, Value> {
        let operatorName = name ?? graph.nextOperatorName("rekey")
        let topic = TopicReference.internal(suffix: "\(operatorName)-repartition")
        let graph = self.graph
        graph.addSink(topic)
        node.attach { context in
            let resolved = graph.resolve(topic)
            let keySerde = keySerde.bound(for: context)
            let valueSerde = valueSerde.bound(for: context)
            return { record in
                let raw: RawRecord
                do {
                    raw = RawRecord(topic: resolved, key: try keySerde.encode(record.key), value: try valueSerde.encode(record.value),
                                    timestamp: record.timestamp,
                                    headers: record.headers.map { RawRecord.Header(key: $0.key, value: $0.value) })
                } catch {
                    throw RecordFailure(stage: .produce, operatorName: operatorName, error: error)
                }
                do {
                    try context.emit(raw)
                } catch {
                    throw RecordFailure(stage: .produce, operatorName: operatorName, error: error)
                }
            }
        }
        let next = StreamNode<Key, Value>()
        graph.addSource(.init(topic: topic) { context in
            let downstream = next.compile(context)
            let keySerde = keySerde.bound(for: context)
            let valueSerde = valueSerde.bound(for: context)
            return { raw in
                let record: StreamRecord<Key, Value>
                do {
                    guard let bytes = raw.value else { throw SerdeError.missingValue }
                    record = StreamRecord(key: try keySerde.decode(raw.key ?? []), value: try valueSerde.decode(bytes),
                                          timestamp: raw.timestamp, headers: raw.headers.map { ($0.key, $0.value) })
                } catch let failure as SchemaSourceFailure {
                    throw failure
                } catch {
                    throw RecordFailure(stage: .decode, operatorName: operatorName, error: error, source: raw)
                }
                try downstream(record)
            }
        })
        return RecordStream(node: next, graph: graph, valueSerde: valueSerde, rekeyed: false)
    }

    /// This stream, partitioned by its key: itself when no operator changed the keys, else
    /// through a repartition topic.
    /// The value serde is the source's when the value type is unchanged, else JSON when the
    /// value is `Codable`.
    /// - Precondition: when re-keyed, one of those serdes applies (else see
    ///   ``repartition(key:value:name:)``).
    func partitionedByKey(_ keySerde: Serde<Key>, for step: String) -> RecordStream<Key, Value> {
        guard rekeyed else { return self }
        return repartition(key: keySerde, value: knownValueSerde(
            for: "\(step) follows a change of key, so its records must be repartitioned, but",
            remedy: "call .repartition(key:value:) with a serde for it before \(step)"))
    }

    /// The serde this stream's values can be written with: the source's while the value type
    /// is unchanged, else JSON for a `Codable` value.
    /// - Precondition: one of them applies; `reason` and `remedy` explain the failure otherwise.
    func knownValueSerde(for reason: String, remedy: String) -> Serde<Value> {
        guard let serde = valueSerde ?? Self.codableSerde() else {
            preconditionFailure("\(reason) the value type \(Value.self) changed since the source and is not Codable: \(remedy)")
        }
        return serde
    }

    /// JSON for a `Codable` value type, else nil.
    private static func codableSerde() -> Serde<Value>? {
        guard let codable = Value.self as? any Codable.Type else { return nil }
        func json<T: Codable>(_ type: T.Type) -> Any { Serde<T>.json(type) }
        return json(codable) as? Serde<Value>
    }
}
