import Foundation
import Testing
import StreamCore

/// Helpers of the `pipeline dlq` and `pipeline replay` tests: a data directory where
/// `order-totals` dead-lettered known poison records, and parsers of the commands' output.

/// A data directory after `order-totals` ran over good orders and poison records.
struct DeadLetteredData {
    let scratch: Scratch
    var ledger: OrderLedger
    /// The committed dead letters as `consume order-totals.dlq --format json` shows them.
    var deadLetters: [Envelope]

    /// `orders` (3 partitions) with `goodCount` good orders over 10 customers, 3 malformed JSON,
    /// 2 without customer_id and 3 with a negative amount (keyed by two customers), run through
    /// `order-totals --until-idle`.
    static func make(goodCount: Int = 60, seed: UInt64 = 5) throws -> DeadLetteredData {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "3"])
        var ledger = OrderLedger()
        var random = SeededRandom(seed: seed)
        try scratch.produceOrders(ledger.goodOrders(goodCount, customers: 0..<10, using: &random))
        var first: [String] = []
        for variant in 0..<3 { first.append(ledger.poison(.malformedJSON, key: "CUST-00001", variant: variant)) }
        first.append(ledger.poison(.negativeAmount, key: "CUST-00001", variant: 1))
        try scratch.producePoison(first, key: "CUST-00001")
        var second: [String] = []
        for variant in 0..<2 { second.append(ledger.poison(.missingCustomer, key: "CUST-00007", variant: variant)) }
        for variant in 2..<4 { second.append(ledger.poison(.negativeAmount, key: "CUST-00007", variant: variant)) }
        try scratch.producePoison(second, key: "CUST-00007")
        let run = try scratch.run(["run", "order-totals", "--until-idle"], timeout: 120)
        expectRunSuccess(run, pipeline: "order-totals")
        let deadLetters = try scratch.envelopes("order-totals.dlq")
        #expect(deadLetters.count == ledger.poison.count, "\(deadLetters.count) dead letters for \(ledger.poison.count) poison records")
        return DeadLetteredData(scratch: scratch, ledger: ledger, deadLetters: deadLetters)
    }
}

extension Envelope {
    /// The value of the first header called `name`.
    func header(_ name: String) -> String? { headers.first { $0.key == name }?.value }

    /// `"<partition>:<offset>"`.
    var position: String { "\(partition):\(offset)" }
}

/// The counts `dlq redrive` prints: `<pipeline>.dlq: redriven R, already redriven A, filtered out F`.
struct RedriveCounts: Equatable, CustomStringConvertible {
    var redriven: Int
    var alreadyRedriven: Int
    var filteredOut: Int

    var description: String { "redriven \(redriven), already redriven \(alreadyRedriven), filtered out \(filteredOut)" }

    init(redriven: Int, alreadyRedriven: Int, filteredOut: Int) {
        self.redriven = redriven
        self.alreadyRedriven = alreadyRedriven
        self.filteredOut = filteredOut
    }

    init?(_ stdout: String) {
        guard let line = stdout.split(separator: "\n").first(where: { $0.contains(": redriven ") }) else { return nil }
        func number(after marker: String) -> Int? {
            guard let range = line.range(of: marker) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        guard let redriven = number(after: ": redriven "), let already = number(after: "already redriven "),
              let filtered = number(after: "filtered out ") else { return nil }
        self.init(redriven: redriven, alreadyRedriven: already, filteredOut: filtered)
    }
}

extension Scratch {
    /// `dlq redrive order-totals options…`, expecting success; the printed counts.
    func redrive(_ options: [String], pipeline: String = "order-totals", timeout: TimeInterval = 120,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> RedriveCounts {
        let result = try run(["dlq", "redrive", pipeline] + options, timeout: timeout)
        expectSuccess(result, sourceLocation: sourceLocation)
        return try #require(RedriveCounts(result.stdout), "no counts in \(result)", sourceLocation: sourceLocation)
    }
}

/// The rows of `dlq list`'s table (`ERROR TYPE  STAGE  COUNT  REDRIVEN`) and its total line.
struct DeadLetterListing {
    struct Row: Hashable {
        var errorType: String
        var stage: String
        var count: Int
        var redriven: Int
    }

    var rows: [Row] = []
    var totalLine: String?

    init(_ stdout: String) {
        let lines = stdout.split(separator: "\n").map(String.init)
        totalLine = lines.first { $0.hasPrefix("total: ") }
        for line in lines.dropFirst() where !line.hasPrefix("total: ") {
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard cells.count == 4, let count = Int(cells[2]), let redriven = Int(cells[3]) else { continue }
            rows.append(Row(errorType: cells[0], stage: cells[1], count: count, redriven: redriven))
        }
    }
}
