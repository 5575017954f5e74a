import Avro
import Foundation
import Sluice

/// The seed's `OrderCreated` as the Avro pipelines read it: the reader schema is
/// `Pipelines/schemas/order-created-v2.avsc`, so orders written with v1 (no `amount`) read with
/// the default, 0.00.
struct AvroOrderCreated: AvroRecord, Equatable {
    static let avroSchema = #"""
        {"type": "record", "name": "OrderCreated", "fields": [{"name": "order_id", "type": "string"}, {"name": "customer_id", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "default": "\u0000"}]}
        """#

    var orderID: String
    var customerID: String
    var timestamp: String
    var amount: AvroDecimal

    enum CodingKeys: String, CodingKey {
        case orderID = "order_id"
        case customerID = "customer_id"
        case timestamp
        case amount
    }

    /// The amount in cents, exactly.
    /// - Throws: ``OrderRejected/negativeAmount(_:)`` for a negative amount.
    func amountInCents() throws -> Int64 {
        // The schema's scale is 2, so the unscaled value is the cents.
        guard let cents = amount.rescaled(to: 2)?.unscaled else { preconditionFailure("a decimal(12,2) always has scale 2") }
        guard cents >= 0 else { throw OrderRejected.negativeAmount(Decimal(cents) / 100) }
        return cents
    }
}

/// A customer's running total as `avro-order-totals` writes it
/// (`Pipelines/schemas/customer-total-v1.avsc`).
struct AvroCustomerTotal: AvroRecord, Equatable {
    static let avroSchema = #"""
        {"type": "record", "name": "CustomerTotal", "fields": [{"name": "customer_id", "type": "string"}, {"name": "orders", "type": "long"}, {"name": "total_cents", "type": "long"}]}
        """#

    var customerID: String
    var orders: Int64
    var totalCents: Int64

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case orders
        case totalCents = "total_cents"
    }

    static let none = AvroCustomerTotal(customerID: "", orders: 0, totalCents: 0)

    /// This total with `order` counted, in checked arithmetic.
    /// - Throws: ``OrderRejected/totalOverflow`` when the count or the cents would overflow.
    func adding(_ order: AvroOrderCreated) throws -> AvroCustomerTotal {
        let cents = try order.amountInCents()
        let (sum, sumOverflows) = totalCents.addingReportingOverflow(cents)
        let (count, countOverflows) = orders.addingReportingOverflow(1)
        guard !sumOverflows && !countOverflows else {
            throw OrderRejected.totalOverflow(customerID: order.customerID, totalCents: totalCents, amountCents: cents)
        }
        return AvroCustomerTotal(customerID: order.customerID, orders: count, totalCents: sum)
    }
}

/// `avro-order-totals`: `order-totals` over Avro. It reads `orders-avro` in Confluent's wire
/// format (subject `orders-avro-value`, any registered version that resolves to v2) and writes
/// each customer's updated total to `customer-totals-avro` in the wire format under
/// `customer-totals-avro-value` (registered on first write). Records keyed by `customer_id`, as
/// the other keyed pipelines; one not in the wire format, with an unknown schema id or that does
/// not decode is dead-lettered at stage decode (`NotAvro`, `UnknownSchemaId`, `SchemaMismatch`).
struct AvroOrderTotals: PipelineDefinition {
    let name = "avro-order-totals"
    let summary = "orders-avro → customer-totals-avro: order-totals over Avro in Confluent's wire format"

    var body: Topology {
        Source("orders-avro", value: .avro(AvroOrderCreated.self, subject: "orders-avro-value"))
            .filter { key, order in
                guard !order.customerID.isEmpty else { throw OrderRejected.missingCustomer }
                try RecordKeys.require(key, isCustomer: order.customerID)
                return true
            }
            .groupByKey()
            .aggregate(store: "customer-totals", initial: AvroCustomerTotal.none, value: .avroBinary(AvroCustomerTotal.self)) { total, record in
                try total.adding(record.value)
            }
            .sink("customer-totals-avro", value: .avro(AvroCustomerTotal.self, subject: "customer-totals-avro-value"))
    }
}

// Both records read and write their fields by their own code (the fast path), with the
// `Codable` conformance kept for anything that asks for it.
extension AvroOrderCreated: AvroRecordCodable {
    init(avroFields fields: AvroRecordFields) throws {
        orderID = try fields.string("order_id")
        customerID = try fields.string("customer_id")
        timestamp = try fields.string("timestamp")
        amount = try fields.decimal("amount")
    }

    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(orderID, "order_id")
        try fields.write(customerID, "customer_id")
        try fields.write(timestamp, "timestamp")
        try fields.write(amount, "amount")
    }
}

extension AvroCustomerTotal: AvroRecordCodable {
    init(avroFields fields: AvroRecordFields) throws {
        customerID = try fields.string("customer_id")
        orders = try fields.long("orders")
        totalCents = try fields.long("total_cents")
    }

    func encode(avroFields fields: inout AvroRecordFieldWriter) throws {
        try fields.write(customerID, "customer_id")
        try fields.write(orders, "orders")
        try fields.write(totalCents, "total_cents")
    }
}
