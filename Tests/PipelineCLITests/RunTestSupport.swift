import Foundation
import Testing
import StreamCore

/// Helpers shared by the `pipeline run` tests (RunCommandTests, RunCrashTests): `OrderCreated`
/// events with an exact reference of what `order-totals` must emit (integer cents, never floating
/// point), poison records with how they must be dead-lettered, and checks of `customer-totals`
/// and `order-totals.dlq` as `consume --format json` shows them. Processes are run with `Scratch`
/// and `PipelineProcess`; records are decoded with `Envelope`.

/// Why a poison order cannot be processed, and the `dlq.stage` the contract gives it.
enum PoisonKind: String, CaseIterable, Sendable {
    /// Not JSON at all, or a cut-off object.
    case malformedJSON = "malformed-json"
    /// An object without `customer_id`.
    case missingCustomer = "missing-customer"
    /// `"customer_id":""`.
    case emptyCustomer = "empty-customer"
    /// A negative amount.
    case negativeAmount = "negative-amount"

    /// The contract: `decode` for malformed JSON, `process` for the others.
    var expectedStage: String { self == .malformedJSON ? "decode" : "process" }
}

/// A poison record as produced: its key (`--key`), its bytes and its kind.
struct PoisonOrder: Sendable {
    var key: String
    var value: String
    var kind: PoisonKind
}

/// One `customer-totals` value: `{"customer_id":"CUST-4567","orders":3,"total_cents":3750}`.
struct CustomerTotalRow: Codable, Equatable, Sendable, CustomStringConvertible {
    var customer_id: String
    var orders: Int64
    var total_cents: Int64

    var description: String { "{\(customer_id) orders \(orders) total_cents \(total_cents)}" }

    /// Decodes many values in one pass (one JSON array), which keeps ~200k of them affordable
    /// in a debug build.
    static func decodeAll(_ values: [String]) throws -> [CustomerTotalRow] {
        var array = Data(capacity: values.reduce(2) { $0 + $1.utf8.count + 1 })
        array.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { array.append(UInt8(ascii: ",")) }
            array.append(contentsOf: value.utf8)
        }
        array.append(UInt8(ascii: "]"))
        return try JSONDecoder().decode([CustomerTotalRow].self, from: array)
    }
}

/// Every order produced to `orders` in a test, and what `order-totals` must make of them.
///
/// Good orders are keyed by `customer_id` (`produce --key-field customer_id`); poison orders by
/// a chosen customer (`produce --format raw --key`). Records of one key share a partition, so a
/// customer's good orders are processed in production order: its k-th committed update must
/// count k orders and total the first k amounts.
struct OrderLedger {
    /// Per customer with good orders: their amounts in cents, in production order.
    private(set) var cents: [String: [Int64]] = [:]
    private(set) var goodCount = 0
    /// Every poison record, in production order.
    private(set) var poison: [PoisonOrder] = []
    private var nextOrder = 1

    /// `CUST-00042`.
    static func customerID(_ number: Int) -> String {
        let digits = String(number)
        return "CUST-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// `12.50` for 1250 cents: always two decimals, never through floating point.
    static func amountText(cents: Int64) -> String {
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return (cents < 0 ? "-" : "") + "\(magnitude / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// A well-formed `OrderCreated` line.
    static func orderLine(orderID: String, customer: String, amount: String) -> String {
        "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(orderID)\",\"customer_id\":\"\(customer)\",\"amount\":\(amount),\"timestamp\":\"2025-06-11T12:00:00Z\"}"
    }

    /// Adds a good order of `cents` for `customer`; returns its line.
    mutating func good(customer: String, cents amount: Int64) -> String {
        precondition(amount >= 0)
        let line = Self.orderLine(orderID: "ORD-\(nextOrder)", customer: customer, amount: Self.amountText(cents: amount))
        nextOrder += 1
        cents[customer, default: []].append(amount)
        goodCount += 1
        return line
    }

    /// Adds `count` good orders over customers `customers` with random amounts of 0.00–2000.00.
    mutating func goodOrders(_ count: Int, customers: Range<Int>, using random: inout SeededRandom) -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(count)
        for _ in 0..<count {
            let customer = Self.customerID(Int.random(in: customers, using: &random))
            // Mostly small amounts, some large, and the edges.
            let amount: Int64
            switch Int.random(in: 0..<100, using: &random) {
            case 0: amount = 0
            case 1: amount = 1
            case 2..<10: amount = Int64.random(in: 100_000...10_000_000, using: &random)
            default: amount = Int64.random(in: 1...200_000, using: &random)
            }
            lines.append(good(customer: customer, cents: amount))
        }
        return lines
    }

    /// Adds a poison order of `kind` keyed by `key`; returns its (unique) line.
    mutating func poison(_ kind: PoisonKind, key: String, variant: Int = 0) -> String {
        let id = "BAD-\(nextOrder)"
        nextOrder += 1
        let line: String
        switch kind {
        case .malformedJSON:
            switch variant % 4 {
            case 0: line = "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(id)\",\"customer_id\":\"\(key)\",\"amount\":"
            case 1: line = "not json at all \(id)"
            case 2: line = "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(id)\",,\"customer_id\":\"\(key)\"}"
            default: line = "[\"\(id)\", 12.50"
            }
        case .missingCustomer:
            line = "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(id)\",\"amount\":12.50,\"timestamp\":\"2025-06-11T12:00:00Z\"}"
        case .emptyCustomer:
            line = Self.orderLine(orderID: id, customer: "", amount: "7.25")
        case .negativeAmount:
            line = Self.orderLine(orderID: id, customer: key, amount: Self.amountText(cents: -Int64(1 + variant % 50_000)))
        }
        poison.append(PoisonOrder(key: key, value: line, kind: kind))
        return line
    }

    /// Adds `count` poison orders keyed by `key`, of every kind in turn from a random start.
    mutating func poisonOrders(_ count: Int, key: String, using random: inout SeededRandom) -> [String] {
        let kinds = PoisonKind.allCases
        let start = Int.random(in: 0..<kinds.count, using: &random)
        return (0..<count).map { index in
            poison(kinds[(start + index) % kinds.count], key: key, variant: Int.random(in: 0..<1_000_000, using: &random))
        }
    }

    /// A customer's full total: order count and sum of cents.
    func total(of customer: String) -> CustomerTotalRow? {
        guard let amounts = cents[customer] else { return nil }
        return CustomerTotalRow(customer_id: customer, orders: Int64(amounts.count), total_cents: amounts.reduce(0, +))
    }
}

extension Scratch {
    /// Produces `OrderCreated` lines through `--file` keyed by `--key-field customer_id`.
    func produceOrders(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = try writeLines(lines, name: "orders-\(UUID().uuidString.prefix(8)).jsonl")
        let result = try run(["produce", "orders", "--key-field", "customer_id", "--file", path], timeout: 180)
        #expect(result.exitCode == 0, "produce orders failed: \(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.hasPrefix("produced \(lines.count) record"), "\(result)", sourceLocation: sourceLocation)
    }

    /// Produces raw lines (poison records) to `orders` with `--format raw --key key`.
    func producePoison(_ lines: [String], key: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = try writeLines(lines, name: "poison-\(UUID().uuidString.prefix(8)).txt")
        let result = try run(["produce", "orders", "--format", "raw", "--key", key, "--file", path], timeout: 180)
        #expect(result.exitCode == 0, "produce poison failed: \(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.hasPrefix("produced \(lines.count) record"), "\(result)", sourceLocation: sourceLocation)
    }

    /// `state show PIPELINE STORE --key KEY`: the printed `key<TAB>value` lines.
    func stateShow(_ pipeline: String, _ store: String, key: String? = nil) throws -> ProcessResult {
        try run(["state", "show", pipeline, store] + (key.map { ["--key", $0] } ?? []), timeout: 120)
    }
}

/// Expects a `run` that succeeded: exit 0 and nothing on stderr but swift-log lines and its
/// progress lines (`order-totals: N records, …`, about once a second).
func expectRunSuccess(_ result: ProcessResult, pipeline: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.exitCode == 0 && !result.signaled, "expected success: \(result)", sourceLocation: sourceLocation)
    let unexpected = result.stderrErrorLines.filter { !($0.hasPrefix("\(pipeline): ") && $0.contains(" records/s, lag ")) }
    #expect(unexpected.isEmpty, "unexpected stderr: \(result)", sourceLocation: sourceLocation)
}

/// The `records processed` count of `run`'s final line (`order-totals: processed N records in
/// …, dead-lettered D, lag L`).
func runSummary(_ stdout: String, pipeline: String) -> (processed: Int, deadLettered: Int, lag: Int)? {
    guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("\(pipeline): processed ") }) else { return nil }
    func number(after marker: String) -> Int? {
        guard let range = line.range(of: marker) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
    guard let processed = number(after: ": processed "), let dead = number(after: "dead-lettered "), let lag = number(after: ", lag ") else { return nil }
    return (processed, dead, lag)
}

/// The records count of the last progress line `run` wrote to stderr (`order-totals: N records,
/// R records/s, lag L, dead-lettered D`), if any: a run that printed one had been processing
/// (and so committing every 100 ms) for over a second.
func lastReportedRunRecords(_ stderr: String, pipeline: String) -> Int? {
    for line in stderr.split(separator: "\n").reversed() where line.hasPrefix("\(pipeline): ") && line.contains(" records/s") {
        return Int(line.dropFirst(pipeline.count + 2).prefix { $0.isNumber })
    }
    return nil
}

/// What `customer-totals` (as `consume --format json` shows it) gets wrong against `ledger`:
/// every customer with good orders must have updates counting exactly 1, 2, …, N in offset
/// order, each totalling the first k amounts (so the last is the full total), keyed by the
/// customer; customers without good orders must have none. Returns the problems (at most
/// `limit` described, all counted) and the last update per key. With `partial`, a customer may
/// have fewer updates than good orders (1, 2, …, k for some k ≤ N, possibly none): what a run
/// that stopped part-way must have committed.
func customerTotalsProblems(_ envelopes: [Envelope], ledger: OrderLedger, partial: Bool = false, limit: Int = 10) throws
    -> (count: Int, described: [String], last: [String: CustomerTotalRow]) {
    var count = 0
    var described: [String] = []
    func problem(_ text: @autoclosure () -> String) {
        count += 1
        if described.count < limit { described.append(text()) }
    }
    let sorted = envelopes.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    let rows = try CustomerTotalRow.decodeAll(sorted.map { $0.value ?? "null" })
    var updates: [String: [CustomerTotalRow]] = [:]
    for (envelope, row) in zip(sorted, rows) {
        if envelope.topic != "customer-totals" { problem("record from topic \(envelope.topic)") }
        guard let key = envelope.key else {
            problem("update without a key at \(envelope.partition)/\(envelope.offset): \(row)")
            continue
        }
        if row.customer_id != key { problem("update keyed \(key) names \(row.customer_id)") }
        updates[key, default: []].append(row)
    }
    for (customer, rows) in updates where ledger.cents[customer] == nil {
        problem("customer \(customer) has no good orders but \(rows.count) updates, e.g. \(rows[0])")
    }
    var last: [String: CustomerTotalRow] = [:]
    for (customer, amounts) in ledger.cents {
        let rows = updates[customer] ?? []
        guard let final = rows.last else {
            if !partial { problem("customer \(customer) has \(amounts.count) good orders but no update") }
            continue
        }
        last[customer] = final
        let counts = rows.map(\.orders)
        let expected = partial ? min(rows.count, amounts.count) : amounts.count
        if rows.count > amounts.count || counts != (0..<expected).map({ Int64($0) + 1 }) {
            problem("customer \(customer): update order counts \(counts.count > 12 ? "\(counts.prefix(12))… (\(counts.count) updates)" : "\(counts)"), expected 1…\(partial ? "k ≤ " : "")\(amounts.count)")
            continue
        }
        var sum: Int64 = 0
        for (index, row) in rows.enumerated() {
            sum += amounts[index]
            if row.total_cents != sum {
                problem("customer \(customer): update \(index + 1) totals \(row.total_cents) cents, expected \(sum)")
                break
            }
        }
    }
    return (count, described, last)
}

/// What `order-totals.dlq` (as `consume --format json` shows it) gets wrong against the poison
/// records of `ledger`, located in `orders` by `sources` (value → its `orders` envelope): each
/// exactly once, original key and bytes, every contract header with the right values.
/// `stageCheck` decides about `dlq.stage` per kind (returns a problem or nil).
func deadLetterProblems(
    _ envelopes: [Envelope], ledger: OrderLedger, sources: [String: Envelope], pipeline: String = "order-totals",
    limit: Int = 10, stageProblem: (PoisonOrder, String?) -> String? = { poison, stage in
        stage == poison.kind.expectedStage ? nil : "\(poison.kind) \(poison.value): dlq.stage \(stage ?? "nil"), expected \(poison.kind.expectedStage)"
    }
) -> (count: Int, described: [String]) {
    var count = 0
    var described: [String] = []
    func problem(_ text: @autoclosure () -> String) {
        count += 1
        if described.count < limit { described.append(text()) }
    }
    let poisonByValue = Dictionary(ledger.poison.map { ($0.value, $0) }, uniquingKeysWith: { first, _ in first })
    var seen: [String: Int] = [:]
    let required = ["dlq.pipeline", "dlq.operator", "dlq.stage", "dlq.error.type", "dlq.error.message", "dlq.source.topic",
                    "dlq.source.partition", "dlq.source.offset", "dlq.source.timestamp", "dlq.attempts",
                    "dlq.first.failure.time", "dlq.last.failure.time"]
    for envelope in envelopes {
        let value = envelope.value ?? "<null>"
        seen[value, default: 0] += 1
        guard let poison = poisonByValue[value] else {
            problem("dead letter that is no poison record: key \(envelope.key ?? "nil") value \(value.prefix(200))")
            continue
        }
        if envelope.topic != "\(pipeline).dlq" { problem("dead letter on topic \(envelope.topic)") }
        if envelope.key != poison.key { problem("\(value): key \(envelope.key ?? "nil"), expected \(poison.key)") }
        var headers: [String: String] = [:]
        for header in envelope.headers where header.key.hasPrefix("dlq.") {
            if headers[header.key] != nil { problem("\(value): header \(header.key) twice") }
            headers[header.key] = header.value ?? ""
        }
        let absent = required.filter { headers[$0] == nil }
        if !absent.isEmpty { problem("\(value): headers \(absent) missing (has \(headers.keys.sorted()))") }
        if headers["dlq.pipeline"] != pipeline { problem("\(value): dlq.pipeline \(headers["dlq.pipeline"] ?? "nil")") }
        if let text = stageProblem(poison, headers["dlq.stage"]) { problem(text) }
        for name in ["dlq.operator", "dlq.error.type", "dlq.error.message"] where (headers[name] ?? "").isEmpty {
            problem("\(value): \(name) empty")
        }
        if headers["dlq.source.topic"] != "orders" { problem("\(value): dlq.source.topic \(headers["dlq.source.topic"] ?? "nil")") }
        if let source = sources[value] {
            if headers["dlq.source.partition"] != String(source.partition) {
                problem("\(value): dlq.source.partition \(headers["dlq.source.partition"] ?? "nil"), the record is in partition \(source.partition)")
            }
            if headers["dlq.source.offset"] != String(source.offset) {
                problem("\(value): dlq.source.offset \(headers["dlq.source.offset"] ?? "nil"), the record is at offset \(source.offset) of partition \(source.partition)")
            }
            if headers["dlq.source.timestamp"] != String(source.timestamp) {
                problem("\(value): dlq.source.timestamp \(headers["dlq.source.timestamp"] ?? "nil"), the record's timestamp is \(source.timestamp)")
            }
        } else {
            problem("\(value): not found in orders")
        }
        let attempts = headers["dlq.attempts"].flatMap { Int($0) }
        if attempts == nil || attempts! < 1 { problem("\(value): dlq.attempts \(headers["dlq.attempts"] ?? "nil")") }
        let first = headers["dlq.first.failure.time"].flatMap { Int64($0) }
        let last = headers["dlq.last.failure.time"].flatMap { Int64($0) }
        if first == nil || last == nil || first! > last! || first! <= 0 {
            problem("\(value): failure times \(headers["dlq.first.failure.time"] ?? "nil")…\(headers["dlq.last.failure.time"] ?? "nil")")
        }
    }
    for (value, times) in seen where times > 1 { problem("dead-lettered \(times) times: \(value.prefix(200))") }
    for poison in ledger.poison where seen[poison.value] == nil { problem("poison record never dead-lettered: \(poison.kind) key \(poison.key) \(poison.value)") }
    return (count, described)
}
