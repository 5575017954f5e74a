import LogStorage
import KafkaProtocol
import KafkaBroker
import KafkaServer
import Logging

extension KafkaGateway {
    /// Produce v0–v11 (v0 advertised so that librdkafka keeps compression on; the batches must
    /// still be v2, see ``KafkaBroker/produce(_:)``). acks 0 sends no response (`respond(nil)`);
    /// acks -1 answers once the batches are synced, through the gateway's ``GroupSync``: the
    /// connection's queue goes on to its next request at once (its response still goes out
    /// after this one), and requests of every connection that wait at the same time share one
    /// flush group. A refused batch of an acks=0 request is logged, as its client hears nothing
    /// (Kafka also closes such a connection, so the client refreshes its metadata; the shell's
    /// `respond` has no way to ask for that).
    static let produceRoute = KafkaRoute(versions: 0...11) { gateway, request, context, respond in
        let version = request.header.apiVersion
        let appended = gateway.broker.appendProduced(produceRequest(request.body, version: version))
        let partitions = appended.partitionsToSync
        guard partitions.isEmpty else {
            gateway.groupSync.sync(partitions) { error in
                if let error {
                    gateway.logger.error("syncing produced batches failed", metadata: ["connection": "\(context.connectionId)", "error": "\(error)"])
                }
                respond(KafkaResponse(body: produceResponse(appended.response(syncError: error), version: version)))
            }
            return
        }
        let answer = appended.response(syncError: nil)
        guard answer.sendsResponse else {
            for topic in answer.responses {
                for partition in topic.partitionResponses where partition.errorCode != .none {
                    gateway.logger.warning("a Produce with acks=0 was refused", metadata: [
                        "connection": "\(context.connectionId)", "topic": "\(topic.name)", "partition": "\(partition.index)",
                        "error": "\(partition.errorCode)", "message": "\(partition.errorMessage ?? "")",
                    ])
                }
            }
            respond(nil)
            return
        }
        respond(KafkaResponse(body: produceResponse(answer, version: version)))
    }

    static func produceRequest(_ body: KafkaStruct, version: Int16) -> ProduceRequest {
        ProduceRequest(
            apiVersion: version, transactionalID: body.nullableString("transactionalId"), acks: body.int16("acks"),
            timeoutMilliseconds: body.int32("timeoutMs"),
            topicData: body.array("topicData").map { topic in
                ProduceTopicRequest(name: topic.string("name"), partitionData: topic.array("partitionData").map {
                    ProducePartitionRequest(index: $0.int32("index"), records: $0.records("records"))
                })
            })
    }

    static func produceResponse(_ answer: ProduceResponse, version: Int16) -> KafkaStruct {
        var response = KafkaStruct.response(.produce)
        response.set("responses", answer.responses.map { result in
            var topic = response.makeElement("responses")
            topic.set("name", result.name)
            topic.set("partitionResponses", result.partitionResponses.map { partition in
                var element = topic.makeElement("partitionResponses")
                element.set("index", partition.index)
                element.set("errorCode", partition.errorCode.rawValue)
                element.set("baseOffset", partition.baseOffset)
                if element.has("logAppendTimeMs", at: version) { element.set("logAppendTimeMs", partition.logAppendTimeMilliseconds) }
                if element.has("logStartOffset", at: version) { element.set("logStartOffset", partition.logStartOffset) }
                if element.has("errorMessage", at: version) { element.set("errorMessage", partition.errorMessage) }
                return element
            })
            return topic
        })
        return response
    }
}
