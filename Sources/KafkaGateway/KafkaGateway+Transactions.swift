import KafkaProtocol
import KafkaBroker

extension KafkaGateway {
    /// FindCoordinator v0–v5: one key up to v3 (group only at v0), a batch of keys from v4.
    static let findCoordinatorRoute = KafkaRoute.immediate(0...5) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        let batched = body.has("coordinatorKeys", at: version)
        let answer = gateway.broker.findCoordinator(FindCoordinatorRequest(
            key: batched ? nil : body.string("key"), keyType: body.int8("keyType"),
            coordinatorKeys: batched ? body.stringArray("coordinatorKeys") : nil))
        var response = KafkaStruct.response(.findCoordinator)
        if batched {
            response.set("coordinators", answer.coordinators.map { result in
                var coordinator = response.makeElement("coordinators")
                coordinator.set("key", result.key)
                coordinator.set("nodeId", result.nodeID)
                coordinator.set("host", result.host)
                coordinator.set("port", result.port)
                coordinator.set("errorCode", result.errorCode.rawValue)
                coordinator.set("errorMessage", result.errorMessage)
                return coordinator
            })
        } else {
            response.set("errorCode", answer.errorCode.rawValue)
            if response.has("errorMessage", at: version) { response.set("errorMessage", answer.errorMessage) }
            response.set("nodeId", answer.nodeID)
            response.set("host", answer.host)
            response.set("port", answer.port)
        }
        return response
    }

    /// InitProducerId v0–v5: a null transactional id asks for an idempotent producer id; v3+
    /// may name the producer id and epoch the client had (to resume after an epoch error).
    static let initProducerIdRoute = KafkaRoute.immediate(0...5) { gateway, request, _ in
        let body = request.body
        let answer = gateway.broker.initProducerID(InitProducerIdRequest(
            apiVersion: request.header.apiVersion, transactionalID: body.nullableString("transactionalId"),
            transactionTimeoutMilliseconds: body.int32("transactionTimeoutMs"),
            producerID: body.int64("producerId"), producerEpoch: body.int16("producerEpoch")))
        var response = KafkaStruct.response(.initProducerId)
        response.set("errorCode", answer.errorCode.rawValue)
        response.set("producerId", answer.producerID)
        response.set("producerEpoch", answer.producerEpoch)
        return response
    }

    /// AddPartitionsToTxn v0–v3, the client's version (v4+ batch transactions for brokers).
    static let addPartitionsToTxnRoute = KafkaRoute.immediate(0...3) { gateway, request, _ in
        let body = request.body
        let answer = gateway.broker.addPartitionsToTxn(AddPartitionsToTxnRequest(
            apiVersion: request.header.apiVersion, transactionalID: body.string("v3AndBelowTransactionalId"),
            producerID: body.int64("v3AndBelowProducerId"), producerEpoch: body.int16("v3AndBelowProducerEpoch"),
            topics: body.array("v3AndBelowTopics").map {
                AddPartitionsToTxnTopic(name: $0.string("name"), partitions: $0.int32Array("partitions"))
            }))
        var response = KafkaStruct.response(.addPartitionsToTxn)
        response.set("resultsByTopicV3AndBelow", answer.resultsByTopic.map { result in
            var topic = response.makeElement("resultsByTopicV3AndBelow")
            topic.set("name", result.name)
            topic.set("resultsByPartition", result.resultsByPartition.map { partition in
                var element = topic.makeElement("resultsByPartition")
                element.set("partitionIndex", partition.partitionIndex)
                element.set("partitionErrorCode", partition.partitionErrorCode.rawValue)
                return element
            })
            return topic
        })
        return response
    }

    /// AddOffsetsToTxn v0–v4: adds the group's `__consumer_offsets` partition to the transaction.
    static let addOffsetsToTxnRoute = KafkaRoute.immediate(0...4) { gateway, request, _ in
        let body = request.body
        let error = gateway.broker.addOffsetsToTxn(AddOffsetsToTxnRequest(
            apiVersion: request.header.apiVersion, transactionalID: body.string("transactionalId"),
            producerID: body.int64("producerId"), producerEpoch: body.int16("producerEpoch"), groupID: body.string("groupId")))
        var response = KafkaStruct.response(.addOffsetsToTxn)
        response.set("errorCode", error.rawValue)
        return response
    }

    /// EndTxn v0–v4: commits or aborts the producer's transaction.
    static let endTxnRoute = KafkaRoute.immediate(0...4) { gateway, request, _ in
        let body = request.body
        let error = gateway.broker.endTxn(EndTxnRequest(
            apiVersion: request.header.apiVersion, transactionalID: body.string("transactionalId"),
            producerID: body.int64("producerId"), producerEpoch: body.int16("producerEpoch"), committed: body.bool("committed")))
        var response = KafkaStruct.response(.endTxn)
        response.set("errorCode", error.rawValue)
        return response
    }
}
