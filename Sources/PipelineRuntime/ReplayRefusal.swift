package import StreamCore

/// Why `pipeline replay` refuses a plan before changing anything.
package struct ReplayRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which rule the plan breaks.
    package enum Code: Sendable, Equatable {
        /// No source partition would move back: a replay would reset state and rebuild nothing.
        case rewindsNothing
        /// The stores would restart empty while some source partition that built them is not
        /// rewound, so that partition's share of the state would be lost for good.
        case stateNotRebuilt
    }

    /// Which rule the plan breaks.
    package let code: Code
    /// The pipeline.
    package let pipeline: String
    /// What `--from` asked for.
    package let start: ReplayStart
    /// The source partitions that are not rewound, with their committed offset (at most the
    /// first few are named in the message).
    package let unrewound: [(topicPartition: TopicPartition, committed: Offset)]

    package static func == (lhs: ReplayRefusal, rhs: ReplayRefusal) -> Bool {
        lhs.code == rhs.code && lhs.pipeline == rhs.pipeline && lhs.start == rhs.start
            && lhs.unrewound.map(\.topicPartition) == rhs.unrewound.map(\.topicPartition)
            && lhs.unrewound.map(\.committed) == rhs.unrewound.map(\.committed)
    }

    /// How many partitions a message names before it says "and N more".
    static let namedPartitionsMax = 4

    package var description: String {
        let named = unrewound.prefix(Self.namedPartitionsMax).map { "\($0.topicPartition) at \($0.committed)" }.joined(separator: ", ")
        let more = unrewound.count > Self.namedPartitionsMax ? " and \(unrewound.count - Self.namedPartitionsMax) more" : ""
        switch code {
        case .rewindsNothing:
            return "replay of \(pipeline) from \(start) would rewind no partition (every committed offset is at or before it: \(named)\(more)); nothing changed"
        case .stateNotRebuilt:
            return "replay of \(pipeline) from \(start) would reset its state stores without rewinding \(named)\(more), which built part of that state; nothing changed: use an earlier --from (or --from earliest)"
        }
    }
}
