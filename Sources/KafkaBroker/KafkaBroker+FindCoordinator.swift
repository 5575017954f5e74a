/// FindCoordinator (API key 10): v0-v3 ask for one key, v4+ for a batch of keys.
package struct FindCoordinatorRequest: Sendable {
    /// v0-v3: the single key (a group id or a transactional id).
    package var key: String?
    /// 0: group, 1: transaction.
    package var keyType: Int8
    /// v4+: the keys.
    package var coordinatorKeys: [String]?

    package init(key: String? = nil, keyType: Int8 = FindCoordinatorRequest.groupKeyType, coordinatorKeys: [String]? = nil) {
        self.key = key
        self.keyType = keyType
        self.coordinatorKeys = coordinatorKeys
    }

    package static let groupKeyType: Int8 = 0
    package static let transactionKeyType: Int8 = 1
}

package struct FindCoordinatorResponse: Sendable, Equatable {
    /// v0-v3: the answer for `key`.
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
    package var nodeID: Int32
    package var host: String
    package var port: Int32
    /// v4+: one answer per key, in order.
    package var coordinators: [FindCoordinatorResult]
}

package struct FindCoordinatorResult: Sendable, Equatable {
    package var key: String
    package var nodeID: Int32
    package var host: String
    package var port: Int32
    package var errorCode: KafkaErrorCode
    package var errorMessage: String?
}

extension KafkaBroker {
    /// Answers FindCoordinator: this node coordinates every group and every transactional id
    /// (their state lives in this data directory's `__consumer_offsets` and
    /// `__transaction_state`). A key type other than group (0) or transaction (1) is
    /// INVALID_REQUEST, and so is an empty transactional id (Kafka's answers); a failed key gives
    /// node -1, host "" and port -1.
    package func findCoordinator(_ request: FindCoordinatorRequest) -> FindCoordinatorResponse {
        let keys = request.coordinatorKeys ?? [request.key ?? ""]
        let results = keys.map { key -> FindCoordinatorResult in
            let problem: String?
            switch request.keyType {
            case FindCoordinatorRequest.groupKeyType: problem = nil
            case FindCoordinatorRequest.transactionKeyType: problem = key.isEmpty ? "a transactional id must not be empty" : nil
            default: problem = "unknown coordinator key type \(request.keyType)"
            }
            if let problem {
                return FindCoordinatorResult(key: key, nodeID: -1, host: "", port: -1, errorCode: .invalidRequest, errorMessage: problem)
            }
            return FindCoordinatorResult(key: key, nodeID: node.nodeID, host: node.host, port: node.port, errorCode: .none, errorMessage: nil)
        }
        let single = results.first ?? FindCoordinatorResult(key: "", nodeID: -1, host: "", port: -1, errorCode: .invalidRequest, errorMessage: "no key")
        return FindCoordinatorResponse(
            errorCode: single.errorCode, errorMessage: single.errorMessage, nodeID: single.nodeID, host: single.host, port: single.port,
            coordinators: request.coordinatorKeys == nil ? [] : results)
    }
}
