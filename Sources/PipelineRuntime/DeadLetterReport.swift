package import LogStorage

/// What `pipeline dlq list` shows: a pipeline's committed dead letters counted by error type and
/// stage, with how many of each were already redriven.
///
/// - Invariant: `total` is the sum of the rows' counts, `redriven` of their redriven counts.
package struct DeadLetterReport: Sendable, Equatable {
    /// One error type at one stage.
    package struct Row: Sendable, Equatable {
        /// `dlq.error.type` (`-` when missing).
        package var errorType: String
        /// `dlq.stage` (`-` when missing).
        package var stage: String
        /// Committed dead letters of this type and stage.
        package var count: Int
        /// Of `count`, those with a committed redrive marker.
        package var redriven: Int
    }

    /// Whether `<pipeline>.dlq` exists at all.
    package var hasTopic: Bool
    /// Largest count first, then by error type and stage.
    package var rows: [Row]
    /// Every committed dead letter.
    package var total: Int { rows.reduce(0) { $0 + $1.count } }
    /// Dead letters with a committed redrive marker.
    package var redriven: Int { rows.reduce(0) { $0 + $1.redriven } }

    /// Counts the committed dead letters of `pipeline` (read-committed, the whole topic).
    /// `otherTopics`: the dead-letter topics the pipeline's operators chose.
    package static func make(log: LogManager, pipeline: String, otherTopics: [String] = []) throws -> DeadLetterReport {
        let redrivenPositions = try DeadLetterTopics.redrivenPositions(log: log, pipeline: pipeline)
        var counts: [String: Row] = [:]
        let hasTopic = try DeadLetterTopics.scanDeadLetters(log: log, pipeline: pipeline, otherTopics: otherTopics) { letter in
            let errorType = letter.errorType
            let stage = letter.stage
            let id = errorType + "\u{0}" + stage
            var row = counts[id] ?? Row(errorType: errorType, stage: stage, count: 0, redriven: 0)
            row.count += 1
            if redrivenPositions.contains(letter.position) { row.redriven += 1 }
            counts[id] = row
        }
        let rows = counts.values.sorted {
            ($0.count, $1.errorType, $1.stage) > ($1.count, $0.errorType, $0.stage)
        }
        return DeadLetterReport(hasTopic: hasTopic, rows: rows)
    }

    /// The committed dead letters of `pipeline` whose `dlq.error.type` is `errorType` (every one
    /// when nil), at most `limit` of them, in partition then offset order, each with whether it
    /// was redriven; nil when the pipeline has no DLQ topic.
    package static func deadLetters(log: LogManager, pipeline: String, otherTopics: [String] = [], errorType: String?, limit: Int?)
        throws -> [(letter: DeadLetter, redriven: Bool)]? {
        let redrivenPositions = try DeadLetterTopics.redrivenPositions(log: log, pipeline: pipeline)
        var letters: [(letter: DeadLetter, redriven: Bool)] = []
        let hasTopic = try DeadLetterTopics.scanDeadLetters(log: log, pipeline: pipeline, otherTopics: otherTopics) { letter in
            guard limit.map({ letters.count < $0 }) ?? true else { return }
            if let errorType, letter.errorType != errorType { return }
            letters.append((letter, redrivenPositions.contains(letter.position)))
        }
        return hasTopic ? letters : nil
    }
}
