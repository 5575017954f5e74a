import KafkaProtocol

extension KafkaGateway {
    /// The data plane's routes: Metadata, Produce, Fetch, ListOffsets, FindCoordinator,
    /// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, CreateTopics, DeleteTopics,
    /// CreatePartitions, DescribeConfigs, DescribeCluster.
    ///
    /// The versions are each API's full range that the broker answers with Kafka's meaning, with
    /// three deliberate floors and ceilings: Fetch starts at v4, the first version whose clients
    /// read record batches v2 (the log stores nothing else, and Kafka's down-conversion for
    /// v0–v3 is not built; Kafka 4 drops them too) and stops at v12 (v13+ name topics by id,
    /// which the engine has no notion of); AddPartitionsToTxn stops at v3 (v4+ is the brokers'
    /// own verification call); EndTxn stops at v4 (v5 is KIP-890's epoch bump on every
    /// transaction, which the coordinator does not do) and ListOffsets at v8 (v9 asks for
    /// KIP-1005's last tiered offset; this node has no tiered storage). Versions that only add an
    /// error code this node never sends (TRANSACTION_ABORTABLE: FindCoordinator v5,
    /// InitProducerId v5, AddOffsetsToTxn v4) are served.
    static var dataPlaneRoutes: [KafkaAPI: KafkaRoute] {
        [
            .metadata: metadataRoute,
            .produce: produceRoute,
            .fetch: fetchRoute,
            .listOffsets: listOffsetsRoute,
            .findCoordinator: findCoordinatorRoute,
            .initProducerId: initProducerIdRoute,
            .addPartitionsToTxn: addPartitionsToTxnRoute,
            .addOffsetsToTxn: addOffsetsToTxnRoute,
            .endTxn: endTxnRoute,
            .createTopics: createTopicsRoute,
            .deleteTopics: deleteTopicsRoute,
            .createPartitions: createPartitionsRoute,
            .describeConfigs: describeConfigsRoute,
            .describeCluster: describeClusterRoute,
        ]
    }
}

/// The operations a client may perform on a topic and on the cluster, as Metadata and
/// DescribeCluster report them when asked (`include…AuthorizedOperations`): a bit per Kafka
/// `AclOperation` code. Without ACLs every operation Kafka supports on the resource type is
/// allowed, which is what Kafka answers without an authorizer.
enum AuthorizedOperations {
    /// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
    static let topic: Int32 = bits([3, 4, 5, 6, 7, 8, 10, 11])
    /// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
    static let cluster: Int32 = bits([5, 7, 8, 9, 10, 11, 12])

    private static func bits(_ operations: [Int32]) -> Int32 {
        operations.reduce(0) { $0 | (1 << $1) }
    }
}

extension KafkaStruct {
    /// Whether the field `name` is on the wire at `version`: a field a version lacks must keep
    /// its default, or encoding the response fails (as in Kafka's generated code).
    func has(_ name: String, at version: Int16) -> Bool {
        schema.fields[schema.index(of: name)].versions.contains(version)
    }
}
