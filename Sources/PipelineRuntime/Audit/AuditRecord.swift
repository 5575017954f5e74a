package import Foundation
import Sluice

/// One committed transaction of a pipeline, as its audit record in `<pipeline>.audit` says:
///
/// ```
/// {"pipeline":"order-totals","worker":3,"transactional_id":"order-totals-3","producer_id":12,"epoch":4,
///  "commit_time":"2026-12-02T08:30:00.123Z",
///  "inputs":[{"topic":"orders","partition":3,"from":1200,"to":1300}],
///  "outputs":[{"topic":"customer-totals","partition":3,"from":560,"to":660}],
///  "dead_letters":[],"changelogs":[{"topic":"order-totals-customer-totals-changelog","partition":3,"from":560,"to":660}]}
/// ```
///
/// Every range is half-open (`to` is one past the last data record): `inputs` are the consumed
/// positions before and after the transaction (the offsets it committed), the others the offsets
/// its data batches took, per partition in append order (another producer's batches between two
/// of its own split a range). Transaction markers are no data records.
///
/// - Invariant: the record is the last record its transaction writes, appended before the
///   commit decision, so the ranges cover every data record of the transaction and the record
///   commits or aborts with them.
package struct AuditRecord: Codable, Sendable, Equatable {
    /// A half-open range `from..<to` of offsets of one partition.
    package struct Range: Codable, Sendable, Equatable, CustomStringConvertible {
        package var topic: String
        package var partition: Int32
        package var from: Int64
        package var to: Int64

        package init(topic: String, partition: Int32, from: Int64, to: Int64) {
            self.topic = topic
            self.partition = partition
            self.from = from
            self.to = to
        }

        package func contains(topic: String, partition: Int32, offset: Int64) -> Bool {
            self.topic == topic && self.partition == partition && from <= offset && offset < to
        }

        /// `customer-totals/3 [560, 660)`.
        package var description: String { "\(topic)/\(partition) [\(from), \(to))" }

        var json: String {
            "{\"topic\":\(JSONText.quote(topic)),\"partition\":\(partition),\"from\":\(from),\"to\":\(to)}"
        }
    }

    package var pipeline: String
    /// The worker's partition number.
    package var worker: Int32
    package var transactionalID: String
    package var producerID: Int64
    package var epoch: Int16
    /// When the record was written, just before the commit decision (ISO 8601, UTC, milliseconds).
    package var commitTime: String
    package var inputs: [Range]
    package var outputs: [Range]
    package var deadLetters: [Range]
    package var changelogs: [Range]

    enum CodingKeys: String, CodingKey {
        case pipeline, worker, epoch, inputs, outputs, changelogs
        case transactionalID = "transactional_id"
        case producerID = "producer_id"
        case commitTime = "commit_time"
        case deadLetters = "dead_letters"
    }

    /// The record's JSON, keys in the documented order.
    package var json: String {
        func list(_ ranges: [Range]) -> String { "[" + ranges.map(\.json).joined(separator: ",") + "]" }
        return "{\"pipeline\":\(JSONText.quote(pipeline)),\"worker\":\(worker),\"transactional_id\":\(JSONText.quote(transactionalID))"
            + ",\"producer_id\":\(producerID),\"epoch\":\(epoch),\"commit_time\":\(JSONText.quote(commitTime))"
            + ",\"inputs\":\(list(inputs)),\"outputs\":\(list(outputs)),\"dead_letters\":\(list(deadLetters))"
            + ",\"changelogs\":\(list(changelogs))}"
    }

    /// Decodes an audit record's value; nil when it is not one.
    package init?(json bytes: [UInt8]) {
        guard let decoded = try? JSONDecoder().decode(AuditRecord.self, from: Data(bytes)) else { return nil }
        self = decoded
    }

    package init(pipeline: String, worker: Int32, transactionalID: String, producerID: Int64, epoch: Int16, commitTime: String,
                 inputs: [Range], outputs: [Range], deadLetters: [Range], changelogs: [Range]) {
        self.pipeline = pipeline
        self.worker = worker
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.epoch = epoch
        self.commitTime = commitTime
        self.inputs = inputs
        self.outputs = outputs
        self.deadLetters = deadLetters
        self.changelogs = changelogs
    }

    /// `milliseconds` since the Unix epoch as `2026-12-02T08:30:00.123Z` (proleptic Gregorian,
    /// UTC), without Foundation's formatters on the commit path.
    package static func isoTime(milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let inDay = milliseconds - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = inDay % 1000
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(year)-\(two(month))-\(two(day))T\(two(inDay / 3_600_000)):\(two(inDay / 60_000 % 60)):\(two(inDay / 1000 % 60)).\(fraction)Z"
    }
}
