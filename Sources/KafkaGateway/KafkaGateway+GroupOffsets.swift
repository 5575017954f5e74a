import KafkaProtocol
import KafkaServer
import KafkaBroker

/// OffsetCommit, OffsetFetch and TxnOffsetCommit: a group's committed offsets in
/// `__consumer_offsets`, through ``GroupCoordinatorService``. The service writes and syncs under
/// its lock, which is why these run on the work queues and never on the event loop.
extension KafkaGateway {
    // MARK: OffsetCommit (v0–v9)

    /// v0 has no generation or member (-1 and "": a simple commit, allowed while the group has no
    /// members); `RetentionTimeMs` (v2–v4) and `CommitTimestamp` (v1) are ignored, as Kafka
    /// ignores them; the version decides GROUP_ID_NOT_FOUND (v9+) against ILLEGAL_GENERATION.
    static let offsetCommitRoute = KafkaRoute.immediate(0...9) { gateway, request, _ in
        let body = request.body
        let answer = gateway.groups.offsetCommit(OffsetCommitRequest(
            apiVersion: request.header.apiVersion, groupID: body.string("groupId"),
            generationIDOrMemberEpoch: body.int32("generationIdOrMemberEpoch"), memberID: body.string("memberId"),
            groupInstanceID: body.nullableString("groupInstanceId"), topics: committedTopics(body.array("topics"))))
        gateway.rearmGroupTimer()
        var response = KafkaStruct.response(.offsetCommit)
        response.set("topics", commitResults(answer.topics, in: response))
        return response
    }

    /// The topics and partitions of an OffsetCommit or TxnOffsetCommit request (their element
    /// structs share field names).
    static func committedTopics(_ topics: [KafkaStruct]) -> [OffsetCommitRequestTopic] {
        topics.map { topic in
            OffsetCommitRequestTopic(name: topic.string("name"), partitions: topic.array("partitions").map { partition in
                OffsetCommitRequestPartition(
                    partitionIndex: partition.int32("partitionIndex"), committedOffset: partition.int64("committedOffset"),
                    committedLeaderEpoch: partition.int32("committedLeaderEpoch"),
                    committedMetadata: partition.nullableString("committedMetadata"))
            })
        }
    }

    /// The per-partition results of an OffsetCommit or TxnOffsetCommit, as elements of
    /// `response`'s `topics`.
    static func commitResults(_ topics: [OffsetCommitResponseTopic], in response: KafkaStruct) -> [KafkaStruct] {
        topics.map { topic in
            var topicElement = response.makeElement("topics")
            topicElement.set("name", topic.name)
            topicElement.set("partitions", topic.partitions.map { partition in
                var element = topicElement.makeElement("partitions")
                element.set("partitionIndex", partition.partitionIndex)
                element.set("errorCode", partition.errorCode.rawValue)
                return element
            })
            return topicElement
        }
    }

    // MARK: TxnOffsetCommit (v0–v4)

    /// Offsets a transaction commits for a group, written through the broker's transactional
    /// write (the producer's lock, so the batch cannot land after EndTxn's marker); KIP-447's
    /// group metadata (generation, member, instance) from v3, else -1/""/null, which skips the
    /// member check.
    static let txnOffsetCommitRoute = KafkaRoute.immediate(0...4) { gateway, request, _ in
        let body = request.body
        let answer = gateway.groups.txnOffsetCommit(TxnOffsetCommitRequest(
            transactionalID: body.string("transactionalId"), groupID: body.string("groupId"),
            producerID: body.int64("producerId"), producerEpoch: body.int16("producerEpoch"),
            generationID: body.int32("generationId"), memberID: body.string("memberId"),
            groupInstanceID: body.nullableString("groupInstanceId"), topics: committedTopics(body.array("topics"))),
            through: gateway.broker)
        gateway.rearmGroupTimer()
        var response = KafkaStruct.response(.txnOffsetCommit)
        response.set("topics", commitResults(answer.topics, in: response))
        return response
    }

    // MARK: OffsetFetch (v0–v9)

    /// v0–v7 ask for one group (`topics` null from v2: every partition it has committed) and get
    /// its error at top level from v2 (v0–v1 carry it on every partition); v8+ ask for several
    /// groups at once. `requireStable` from v7. The v9 member id and epoch belong to KIP-848's
    /// consumer groups and are accepted unchecked (every group here is classic, as Kafka does not
    /// check them for a classic group).
    static let offsetFetchRoute = KafkaRoute.immediate(0...9) { gateway, request, _ in
        let body = request.body
        let version = request.header.apiVersion
        func requested(_ topics: [KafkaStruct]?) -> [OffsetFetchRequestTopic]? {
            topics?.map { OffsetFetchRequestTopic(name: $0.string("name"), partitionIndexes: $0.int32Array("partitionIndexes")) }
        }
        let groups: [OffsetFetchRequestGroup] =
            version <= 7
            ? [OffsetFetchRequestGroup(groupID: body.string("groupId"), topics: requested(body.nullableArray("topics")))]
            : body.array("groups").map { OffsetFetchRequestGroup(groupID: $0.string("groupId"), topics: requested($0.nullableArray("topics"))) }
        let answer = gateway.groups.offsetFetch(OffsetFetchRequest(groups: groups, requireStable: body.bool("requireStable")))
        var response = KafkaStruct.response(.offsetFetch)
        if version <= 7 {
            let group = answer.groups[0]
            if version <= 1, group.errorCode != .none {
                // The group's error has no field of its own before v2: every partition asked for carries it.
                response.set("topics", (groups[0].topics ?? []).map { topic in
                    var topicElement = response.makeElement("topics")
                    topicElement.set("name", topic.name)
                    topicElement.set("partitions", topic.partitionIndexes.map { index in
                        var element = topicElement.makeElement("partitions")
                        element.set("partitionIndex", index)
                        element.set("committedOffset", Int64(-1))
                        element.set("metadata", "")
                        element.set("errorCode", group.errorCode.rawValue)
                        return element
                    })
                    return topicElement
                })
            } else {
                response.set("topics", fetchedTopics(group.topics, in: response))
            }
            response.set("errorCode", version >= 2 ? group.errorCode.rawValue : 0)
        } else {
            response.set("groups", answer.groups.map { group in
                var element = response.makeElement("groups")
                element.set("groupId", group.groupID)
                element.set("topics", fetchedTopics(group.topics, in: element))
                element.set("errorCode", group.errorCode.rawValue)
                return element
            })
        }
        return response
    }

    /// One group's fetched offsets as elements of `parent`'s `topics` (the v0–v7 top level or a
    /// v8+ group: their element structs share field names).
    static func fetchedTopics(_ topics: [OffsetFetchResponseTopic], in parent: KafkaStruct) -> [KafkaStruct] {
        topics.map { topic in
            var topicElement = parent.makeElement("topics")
            topicElement.set("name", topic.name)
            topicElement.set("partitions", topic.partitions.map { partition in
                var element = topicElement.makeElement("partitions")
                element.set("partitionIndex", partition.partitionIndex)
                element.set("committedOffset", partition.committedOffset)
                element.set("committedLeaderEpoch", partition.committedLeaderEpoch)
                element.set("metadata", partition.metadata)
                element.set("errorCode", partition.errorCode.rawValue)
                return element
            })
            return topicElement
        }
    }
}
