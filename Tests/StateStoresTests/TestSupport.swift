import Foundation
import Logging
import StreamCore
import RecordFormat
import LogStorage
import Transactions
import StateStores
import Simulation
import EngineTestSupport

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

/// A committed key-value map as strings, for readable expectations.
func contents(_ store: KeyValueStore) -> [String: String] {
    var result: [String: String] = [:]
    for entry in store.all() { result[text(entry.key)!] = text(entry.value)! }
    return result
}
