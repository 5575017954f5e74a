import Foundation
import Sluice

/// The hot path's serde for `OrderCreated`: it reads the five fields straight from the bytes
/// when the record has the plain shape the services emit (one flat object, strings without
/// escapes, a plain decimal amount) and falls back to `Codable` for anything else, so it
/// decodes exactly what ``Serde/json(_:)`` decodes, only faster. Both accept only valid JSON
/// (``JSONValidation``): the scan checks every non-ASCII sequence in a string with the same
/// UTF-8 rule, and leaves anything else to the fallback, which validates first.
enum OrderCreatedFastDecoding {
    static let serde = Serde<OrderCreated>(
        encode: { order in try Serde<OrderCreated>.json(OrderCreated.self).encode(order) },
        decode: { bytes in try decode(bytes) })

    static func decode(_ bytes: [UInt8]) throws -> OrderCreated {
        if let order = bytes.withUnsafeBufferPointer(scanFlatObject) { return order }
        return try JSONValidation.decode(OrderCreated.self, from: bytes)
    }

    /// The order, or nil when the bytes are not the plain shape (the caller then uses Codable).
    private static func scanFlatObject(_ bytes: UnsafeBufferPointer<UInt8>) -> OrderCreated? {
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 } }
        /// A string of valid UTF-8 without escapes or control characters; nil otherwise.
        func plainString() -> String? {
            guard index < bytes.count, bytes[index] == 0x22 else { return nil }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != 0x22 {
                let byte = bytes[index]
                if byte == 0x5C || byte < 0x20 { return nil }
                if byte < 0x80 {
                    index += 1
                } else {
                    guard let length = JSONValidation.utf8SequenceLength(bytes, at: index) else { return nil }
                    index += length
                }
            }
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
        /// A plain JSON number: -?digits(.digits)? — no exponent. With at most two decimal places
        /// it is read as whole cents (exact, no Decimal parsing); otherwise through Decimal.
        func plainNumber() -> (amount: Decimal, cents: Int64?)? {
            let start = index
            let negative = index < bytes.count && bytes[index] == 0x2D
            if negative { index += 1 }
            let digitsStart = index
            var whole: Int64 = 0
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                whole = whole &* 10 &+ Int64(bytes[index] - 0x30)
                index += 1
            }
            guard index > digitsStart, index - digitsStart <= 15 else { return nil }
            if bytes[digitsStart] == 0x30 && index - digitsStart > 1 { return nil }
            var fraction: Int64 = 0
            var fractionDigits = 0
            if index < bytes.count, bytes[index] == 0x2E {
                index += 1
                let fractionStart = index
                while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                    if index - fractionStart < 2 { fraction = fraction * 10 + Int64(bytes[index] - 0x30) }
                    index += 1
                }
                fractionDigits = index - fractionStart
                guard fractionDigits > 0, fractionDigits <= 6 else { return nil }
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 { return nil }
            if fractionDigits <= 2 {
                let magnitude = whole * 100 + (fractionDigits == 1 ? fraction * 10 : fraction)
                let cents = negative ? -magnitude : magnitude
                return (Decimal(sign: negative ? .minus : .plus, exponent: -2, significand: Decimal(magnitude)), cents)
            }
            guard let amount = Decimal(string: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self),
                                       locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            return (amount, nil)
        }
        var eventType: String?, orderID: String?, customerID: String?, amount: (amount: Decimal, cents: Int64?)?, timestamp: String?
        skipSpace()
        guard index < bytes.count, bytes[index] == 0x7B else { return nil }
        index += 1
        while true {
            skipSpace()
            guard let name = plainString() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x3A else { return nil }
            index += 1
            skipSpace()
            switch name {
            case "event_type": guard eventType == nil, let value = plainString() else { return nil }; eventType = value
            case "order_id": guard orderID == nil, let value = plainString() else { return nil }; orderID = value
            case "customer_id": guard customerID == nil, let value = plainString() else { return nil }; customerID = value
            case "timestamp": guard timestamp == nil, let value = plainString() else { return nil }; timestamp = value
            case "amount": guard amount == nil, let value = plainNumber() else { return nil }; amount = value
            default: return nil
            }
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x2C { index += 1; continue }
            guard bytes[index] == 0x7D else { return nil }
            index += 1
            break
        }
        skipSpace()
        guard index == bytes.count, let eventType, let orderID, let customerID, let amount, let timestamp else { return nil }
        var order = OrderCreated(eventType: eventType, orderID: orderID, customerID: customerID, amount: amount.amount, timestamp: timestamp)
        order.exactCents = amount.cents
        return order
    }
}

extension CustomerTotal {
    /// The store's serde: the same JSON as the output (so `pipeline state show` reads it),
    /// written directly and read back by ``parse(_:)`` — no `Codable` on the hot path.
    static let storeSerde = Serde<CustomerTotal>(
        encode: { total in try outputSerde.encode(total) },
        decode: { bytes in try parse(bytes) ?? JSONValidation.decode(CustomerTotal.self, from: bytes) })

    private static let parsePrefix = Array("{\"customer_id\":\"".utf8)
    private static let parseMiddle = Array("\",\"orders\":".utf8)
    private static let parseSuffix = Array(",\"total_cents\":".utf8)

    /// Reads exactly what ``outputSerde`` writes (a customer id without escapes), or nil.
    static func parse(_ bytes: [UInt8]) -> CustomerTotal? {
        let prefix = parsePrefix, middle = parseMiddle, suffix = parseSuffix
        guard bytes.count > prefix.count + middle.count + suffix.count + 3, bytes.starts(with: prefix), bytes.last == 0x7D else { return nil }
        var index = prefix.count
        let idStart = index
        while index < bytes.count, bytes[index] != 0x22 {
            if bytes[index] == 0x5C { return nil }
            index += 1
        }
        let customerID = String(decoding: bytes[idStart..<index], as: UTF8.self)
        guard bytes[index...].starts(with: middle) else { return nil }
        index += middle.count
        func integer() -> Int64? {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            guard index > start, index - start <= 18 else { return nil }
            return bytes[start..<index].reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        }
        guard let orders = integer(), bytes[index...].starts(with: suffix) else { return nil }
        index += suffix.count
        guard let cents = integer(), index == bytes.count - 1 else { return nil }
        return CustomerTotal(customerID: customerID, orders: orders, totalCents: cents)
    }

    /// The output serde: the contract's JSON, `{"customer_id":"CUST-4567","orders":3,"total_cents":3750}`,
    /// written directly (the same bytes `JSONEncoder` with sorted keys writes).
    static let outputSerde = Serde<CustomerTotal>(
        encode: { total in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(parsePrefix.count + parseMiddle.count + parseSuffix.count + total.customerID.utf8.count + 24)
            bytes.append(contentsOf: parsePrefix.dropLast())  // the quote comes with the escaped id
            JSONText.appendQuoted(total.customerID, to: &bytes)
            bytes.append(contentsOf: parseMiddle.dropFirst())
            JSONText.appendInteger(total.orders, to: &bytes)
            bytes.append(contentsOf: parseSuffix)
            JSONText.appendInteger(total.totalCents, to: &bytes)
            bytes.append(0x7D)
            return bytes
        },
        decode: { bytes in try JSONValidation.decode(CustomerTotal.self, from: bytes) })
}
