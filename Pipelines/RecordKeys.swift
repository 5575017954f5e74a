import Sluice

/// The keyed pipelines (`order-totals`, `orders-per-minute`, `order-enrichment`) keep their state
/// by the record key, which the services set to the order's `customer_id` (`produce --key-field
/// customer_id`, murmur2-partitioned). A record whose key is missing or is another customer's would
/// be aggregated under the wrong key — the empty one merging every keyless order — so it is
/// dead-lettered instead, with one of these errors, at stage process.
///
/// Re-keying by `customer_id` (`key(by:)`) would accept such records, but it sends every record
/// through a repartition topic (written and read again, in the transaction) to serve the few
/// that are wrong; see the README for the measured cost.
enum RecordKeys {
    /// Throws unless `key` is `customerID`.
    static func require(_ key: String, isCustomer customerID: String) throws {
        guard key != customerID else { return }
        if key.isEmpty { throw MissingKey(customerID: customerID) }
        throw KeyMismatch(key: key, customerID: customerID)
    }
}

/// A record without a key (or with an empty one) where its `customer_id` must be the key.
struct MissingKey: Error, CustomStringConvertible {
    let customerID: String
    var description: String { "the record has no key; it must be keyed by its customer_id '\(customerID)'" }
}

/// A record whose key is not its `customer_id`.
struct KeyMismatch: Error, CustomStringConvertible {
    let key: String
    let customerID: String
    var description: String { "the record is keyed '\(key)' but its customer_id is '\(customerID)'; it must be keyed by its customer_id" }
}
