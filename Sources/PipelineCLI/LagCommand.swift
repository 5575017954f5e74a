import ArgumentParser
import StreamCore
import LogStorage
import Foundation

/// `pipeline lag [GROUP] [--isolation read-committed|read-uncommitted] [--format text|json]`:
/// every consumer group's lag (pipelines and Kafka clients alike), or one group's, per topic and
/// partition, from a data directory that no process holds. Lag is the data records from the
/// group's committed offset up to the last stable offset (read-committed, the default) or the
/// log end (read-uncommitted); transaction markers, and read-committed aborted records, are not
/// counted. The same numbers as `sluice_consumer_lag_records`.
struct LagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lag", abstract: "Print consumer groups' lag per partition.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Argument(help: "One consumer group (default: every group with committed offsets).") var group: String?
    @Option(help: "read-committed (up to the last stable offset) or read-uncommitted (up to the log end).")
    var isolation: String = IsolationLevel.readCommitted.rawValue
    @Option(help: "text (a table) or json (an array of objects).") var format: Format = .text
    @OptionGroup var data: DataDirectoryOptions

    func validate() throws {
        guard IsolationLevel(rawValue: isolation) != nil else {
            throw ValidationError("--isolation '\(isolation)': expected read-committed or read-uncommitted")
        }
    }

    func run() throws {
        let level = IsolationLevel(rawValue: isolation) ?? .readCommitted
        try withLog(data, command: "lag") { log in
            if let group, log.offsets.committedOffsets(group: group).isEmpty {
                throw CLIError("consumer group '\(group)' has no committed offsets")
            }
            let lags = try ConsumerLag.all(in: log, group: group, isolation: level)
            switch format {
            case .json: print(try Self.json(lags))
            case .text: print(Self.table(lags), terminator: "")
            }
        }
    }

    /// `[{"committed_offset":…,"end_offset":…,"group":…,"lag":…,"partition":…,"topic":…}, …]`.
    static func json(_ lags: [ConsumerLag]) throws -> String {
        struct Entry: Encodable {
            var group: String
            var topic: String
            var partition: Int32
            var committed_offset: Int64
            var end_offset: Int64
            var lag: Int64
        }
        let entries = lags.map {
            Entry(group: $0.group, topic: $0.topicPartition.topic.rawValue, partition: $0.topicPartition.partition.rawValue,
                  committed_offset: $0.committedOffset.rawValue, end_offset: $0.endOffset.rawValue, lag: $0.lagRecords)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(entries), as: UTF8.self)
    }

    /// A table with a header line, columns aligned; `no consumer groups` when there is none.
    static func table(_ lags: [ConsumerLag]) -> String {
        guard !lags.isEmpty else { return "no consumer groups\n" }
        let rows = [["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]] + lags.map {
            [$0.group, $0.topicPartition.topic.rawValue, String($0.topicPartition.partition.rawValue),
             String($0.committedOffset.rawValue), String($0.endOffset.rawValue), String($0.lagRecords)]
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 5 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
