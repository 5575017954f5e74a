import KafkaProtocol
import KafkaBroker
import LogStorage

extension KafkaGateway {
    /// ListOffsets v0–v8. v0 answers its old-style offset list with the one offset found (none
    /// when there is none, or when `maxNumOffsets` is 0); v1+ the offset and its timestamp; v2+
    /// honour the isolation level (read-committed latest is the LSO).
    static let listOffsetsRoute = KafkaRoute.immediate(0...8) { gateway, request, _ in
        let version = request.header.apiVersion
        let body = request.body
        let answer = gateway.broker.listOffsets(ListOffsetsRequest(
            isolationLevel: isolationLevel(body.int8("isolationLevel")),
            topics: body.array("topics").map { topic in
                ListOffsetsTopicRequest(name: topic.string("name"), partitions: topic.array("partitions").map {
                    ListOffsetsPartitionRequest(partitionIndex: $0.int32("partitionIndex"), currentLeaderEpoch: $0.int32("currentLeaderEpoch"),
                                                timestamp: $0.int64("timestamp"))
                })
            }))
        let wantsOffsets = body.array("topics").map { $0.array("partitions").map { $0.int32("maxNumOffsets") > 0 } }
        var response = KafkaStruct.response(.listOffsets)
        response.set("topics", zip(answer.topics, wantsOffsets).map { result, wanted in
            var topic = response.makeElement("topics")
            topic.set("name", result.name)
            topic.set("partitions", zip(result.partitions, wanted).map { partition, wantsOffset in
                var element = topic.makeElement("partitions")
                element.set("partitionIndex", partition.partitionIndex)
                element.set("errorCode", partition.errorCode.rawValue)
                if version == 0 {
                    element.set("oldStyleOffsets", partition.offset >= 0 && wantsOffset ? [partition.offset] : [Int64]())
                } else {
                    element.set("timestamp", partition.timestamp)
                    element.set("offset", partition.offset)
                    if element.has("leaderEpoch", at: version) { element.set("leaderEpoch", partition.leaderEpoch) }
                }
                return element
            })
            return topic
        })
        return response
    }

    /// Kafka's isolation level byte: 1 read committed, anything else read uncommitted (0).
    static func isolationLevel(_ value: Int8) -> IsolationLevel {
        value == 1 ? .readCommitted : .readUncommitted
    }
}
