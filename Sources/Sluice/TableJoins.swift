/// Table–table joins: a table whose value for a key combines the two tables' values for it.
///
/// The joined table is not materialized: a change on either side looks the key up on the other
/// side and emits the joined change; a lookup into the joined table looks up both sides. Both
/// tables must be co-partitioned (see ``Table``).
///
/// - Invariant: after every processed record, the joined table's value for a key equals the
///   joiner applied to the two sides' current values (nil where the join kind drops the key).
extension Table {
    /// The inner join: a key is present when it is present in both tables.
    public func join<OtherValue, Joined>(
        _ other: Table<Key, OtherValue>, _ joiner: @escaping (Value, OtherValue) throws -> Joined
    ) -> Table<Key, Joined> {
        combine(other, kind: "join") { left, right in
            guard let left, let right else { return nil }
            return try joiner(left, right)
        }
    }

    /// The left join: a key is present when it is present in this table; `joiner` gets nil
    /// when the other table lacks it.
    public func leftJoin<OtherValue, Joined>(
        _ other: Table<Key, OtherValue>, _ joiner: @escaping (Value, OtherValue?) throws -> Joined
    ) -> Table<Key, Joined> {
        combine(other, kind: "leftJoin") { left, right in
            guard let left else { return nil }
            return try joiner(left, right)
        }
    }

    /// The outer join: a key is present when it is present in either table.
    public func outerJoin<OtherValue, Joined>(
        _ other: Table<Key, OtherValue>, _ joiner: @escaping (Value?, OtherValue?) throws -> Joined
    ) -> Table<Key, Joined> {
        combine(other, kind: "outerJoin") { left, right in
            guard left != nil || right != nil else { return nil }
            return try joiner(left, right)
        }
    }

    /// The joined table for a joiner that decides, from both sides' values, the joined value
    /// (nil: the key is absent).
    private func combine<OtherValue, Joined>(
        _ other: Table<Key, OtherValue>, kind: String, _ joined: @escaping (Value?, OtherValue?) throws -> Joined?
    ) -> Table<Key, Joined> {
        graph.absorb(other.graph)
        let operatorName = graph.nextOperatorName(kind)
        let node = StreamNode<Key, TableChange<Joined>>()
        let leftLookup = lookup
        let rightLookup = other.lookup
        Self.attachJoinedChanges(of: changes, lookingUp: rightLookup, into: node, operatorName: operatorName) { changed, current in
            try joined(changed, current)
        }
        Self.attachJoinedChanges(of: other.changes, lookingUp: leftLookup, into: node, operatorName: operatorName) { changed, current in
            try joined(current, changed)
        }
        return Table<Key, Joined>(graph: graph, changes: node, keySerde: keySerde) { context in
            let left = leftLookup(context)
            let right = rightLookup(context)
            return { key in
                try joined(try left(key), try right(key))
            }
        }
    }

    /// On each change of one side, looks the key up on the other side and forwards the joined
    /// change to `node` (nothing when the key is absent from the join before and after).
    private static func attachJoinedChanges<Changed, Other, Joined>(
        of changes: StreamNode<Key, TableChange<Changed>>, lookingUp otherLookup: @escaping (any ProcessingContext) -> (Key) throws -> Other?,
        into node: StreamNode<Key, TableChange<Joined>>, operatorName: String,
        _ joined: @escaping (Changed?, Other?) throws -> Joined?
    ) {
        changes.attach { context in
            let other = otherLookup(context)
            let downstream = node.compile(context)
            return { record in
                let change: TableChange<Joined>
                do {
                    let current = try other(record.key)
                    change = TableChange(newValue: try joined(record.value.newValue, current), oldValue: try joined(record.value.oldValue, current))
                } catch {
                    throw RecordFailure(stage: .process, operatorName: operatorName, error: error)
                }
                guard change.newValue != nil || change.oldValue != nil else { return }
                try downstream(StreamRecord(key: record.key, value: change, timestamp: record.timestamp, headers: record.headers))
            }
        }
    }
}
