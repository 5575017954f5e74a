/// Choosing a dead-letter topic per source or operator instead of the pipeline's default
/// `<pipeline>.dlq`.
///
/// `deadLetters(to:)` applies to the failures of every operator after it (the nearest one
/// upstream of a failing operator wins); placed right after a `Source`, it also takes that
/// source's decode failures:
/// ```swift
/// Source("orders", value: .json(OrderCreated.self))
///     .deadLetters(to: "orders.dlq")          // decode and later failures → orders.dlq
///     .filter { … }
/// ```
/// The topic is written in the worker's transaction like any dead letter, with the same `dlq.*`
/// headers; `pipeline dlq` reads it along with `<pipeline>.dlq`.
extension RecordStream {
    /// Sends the failures of the operators after this point to `topic`.
    public func deadLetters(to topic: String) -> RecordStream<Key, Value> {
        graph.addDeadLetterTopic(topic)
        sourceDeadLetters?.topic = topic
        let next = StreamNode<Key, Value>()
        node.attach { context in
            let downstream = next.compile(context)
            return { record in
                do {
                    try downstream(record)
                } catch var failure as RecordFailure {
                    if failure.deadLetterTopic == nil { failure.deadLetterTopic = topic }
                    throw failure
                }
            }
        }
        return RecordStream(node: next, graph: graph, valueSerde: valueSerde, rekeyed: rekeyed)
    }
}

/// Where a source's decode failures go; set while the body is built, read when it compiles.
///
/// Thread-safety: written during body evaluation only, read-only afterwards.
final class DeadLetterRouting: @unchecked Sendable {
    var topic: String?
}
