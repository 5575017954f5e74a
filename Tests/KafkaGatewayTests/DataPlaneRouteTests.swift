import Foundation
import Testing
import KafkaProtocol
import KafkaBroker
import KafkaServer
import RecordFormat
@testable import KafkaGateway

/// Each data-plane route at its lowest and highest served version and at the versions
/// kafka-python, confluent-kafka, aiokafka and kcat send, through the codec both ways.
@Suite struct DataPlaneRouteTests {
    @Test func theServedVersions() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        let served = fixture.gateway.servedVersions.ranges
        let expected: [KafkaAPI: ClosedRange<Int16>] = [
            .metadata: 0...12, .produce: 0...11, .fetch: 4...12, .listOffsets: 0...8, .findCoordinator: 0...5,
            .initProducerId: 0...5, .addPartitionsToTxn: 0...3, .addOffsetsToTxn: 0...4, .endTxn: 0...4,
            .createTopics: 0...7, .deleteTopics: 0...6, .createPartitions: 0...3, .describeConfigs: 0...4, .describeCluster: 0...1,
        ]
        for (api, range) in expected { #expect(served[api] == range, "\(api)") }
    }

    // MARK: Metadata

    @Test(arguments: [Int16(0), 1, 4, 5, 9, 10, 12])
    func metadataListsTopicsAndRefusesUnknownOnes(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders", partitions: 2)
        var body = KafkaStruct.request(.metadata)
        let names = ["orders", "missing"]
        body.set("topics", names.map { name in
            var topic = body.makeElement("topics")
            topic.set("name", name)
            return topic
        })
        if version >= 4 { body.set("allowAutoTopicCreation", false) }
        let response = try #require(try fixture.respond(.metadata, version: version, body))
        let broker = try #require(response.array("brokers").first)
        #expect(broker.int32("nodeId") == 1 && broker.string("host") == "127.0.0.1" && broker.int32("port") == 9092)
        let topics = response.array("topics")
        #expect(topics.map { $0.nullableString("name") } == ["orders", "missing"])
        #expect(topics[0].int16("errorCode") == 0)
        #expect(topics[0].array("partitions").map { $0.int32("partitionIndex") } == [0, 1])
        #expect(topics[0].array("partitions").allSatisfy { $0.int32("leaderId") == 1 && $0.int32Array("replicaNodes") == [1] })
        if version >= 4 {
            #expect(topics[1].int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        } else {
            // Before v4 a client cannot say no: Kafka auto-creates, and so does this node.
            #expect(topics[1].int16("errorCode") == 0 && topics[1].array("partitions").count == 1)
        }
        if version >= 2 { #expect(response.nullableString("clusterId") == fixture.gateway.broker.clusterID) }
        if version >= 1 { #expect(response.int32("controllerId") == 1) }
    }

    @Test(arguments: [Int16(0), 1, 12])
    func metadataAllTopics(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("a")
        fixture.createTopic("b")
        var body = KafkaStruct.request(.metadata)
        if version == 0 { body.set("topics", [KafkaStruct]()) } else { body.setNull("topics") }
        let response = try #require(try fixture.respond(.metadata, version: version, body))
        #expect(Set(response.array("topics").compactMap { $0.nullableString("name") }) == ["a", "b"])
        if version >= 1 {
            // v1+: an empty list asks for no topics.
            body.set("topics", [KafkaStruct]())
            #expect(try fixture.respond(.metadata, version: version, body)?.array("topics").isEmpty == true)
        }
    }

    @Test func metadataByTopicIdAndAuthorizedOperations() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        var body = KafkaStruct.request(.metadata)
        var byName = body.makeElement("topics")
        byName.set("name", "orders")
        var byID = body.makeElement("topics")
        byID.setNull("name")
        let id = KafkaUUID(high: 7, low: 9)
        byID.set("topicId", id)
        body.set("topics", [byName, byID])
        body.set("includeTopicAuthorizedOperations", true)
        let response = try #require(try fixture.respond(.metadata, version: 12, body))
        let topics = response.array("topics")
        #expect(topics.count == 2)
        #expect(topics[0].int32("topicAuthorizedOperations") == AuthorizedOperations.topic)
        #expect(topics[1].int16("errorCode") == KafkaErrorCode.unknownTopicId.rawValue)
        #expect(topics[1].uuid("topicId") == id && topics[1].nullableString("name") == nil)
    }

    // MARK: Produce and Fetch

    @Test(arguments: [(Int16(0), Int16(4)), (3, 4), (7, 11), (8, 11), (9, 12), (11, 12)])
    func produceThenFetchReturnsTheBatch(produceVersion: Int16, fetchVersion: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let produced = try #require(try fixture.respond(.produce, version: produceVersion, Requests.produce("orders", clientBatch(["a", "b"]))))
        #expect(produced.firstPartition.int16("errorCode") == 0)
        #expect(produced.firstPartition.int64("baseOffset") == 0)
        let second = try #require(try fixture.respond(.produce, version: produceVersion, Requests.produce("orders", clientBatch(["c"]), acks: 1)))
        #expect(second.firstPartition.int64("baseOffset") == 2)
        if produceVersion >= 5 { #expect(second.firstPartition.int64("logStartOffset") == 0) }

        let fetched = try #require(try fixture.respond(.fetch, version: fetchVersion, Requests.fetch("orders", offset: 0, version: fetchVersion)))
        let partition = fetched.firstPartition
        #expect(partition.int16("errorCode") == 0)
        #expect(partition.int64("highWatermark") == 3)
        #expect(partition.int64("lastStableOffset") == 3)
        if fetchVersion >= 5 { #expect(partition.int64("logStartOffset") == 0) }
        #expect(partition.nullableArray("abortedTransactions") == nil)
        #expect(try recordValues(partition.records("records")) == ["a", "b", "c"])
        if fetchVersion >= 7 { #expect(fetched.int32("sessionId") == 0 && fetched.int16("errorCode") == 0) }

        let later = try #require(try fixture.respond(.fetch, version: fetchVersion, Requests.fetch("orders", offset: 2, version: fetchVersion)))
        #expect(try recordValues(later.firstPartition.records("records")) == ["c"])
    }

    @Test(arguments: [Int16(0), 7, 9, 11])
    func produceWithAcksZeroGetsNoResponse(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        guard case .noResponse = try fixture.exchange(.produce, version: version, Requests.produce("orders", clientBatch(["x"]), acks: 0)) else {
            Issue.record("acks=0 was answered")
            return
        }
        // It was appended all the same.
        let fetched = try #require(try fixture.respond(.fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12)))
        #expect(try recordValues(fetched.firstPartition.records("records")) == ["x"])
    }

    @Test(arguments: [Int16(3), 9, 11])
    func produceErrors(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let unknown = try #require(try fixture.respond(.produce, version: version, Requests.produce("nope", clientBatch(["x"]))))
        #expect(unknown.firstPartition.int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        #expect(unknown.firstPartition.int64("baseOffset") == -1)
        var corrupt = clientBatch(["x"])
        corrupt[corrupt.count - 1] ^= 0xFF
        let damaged = try #require(try fixture.respond(.produce, version: version, Requests.produce("orders", corrupt)))
        #expect(damaged.firstPartition.int16("errorCode") == KafkaErrorCode.corruptMessage.rawValue)
        if version >= 8 { #expect(damaged.firstPartition.nullableString("errorMessage") != nil) }
        let badAcks = try #require(try fixture.respond(.produce, version: version, Requests.produce("orders", clientBatch(["x"]), acks: 2)))
        #expect(badAcks.firstPartition.int16("errorCode") == KafkaErrorCode.invalidRequiredAcks.rawValue)
    }

    @Test(arguments: [Int16(4), 11, 12])
    func fetchErrors(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let unknown = try #require(try fixture.respond(.fetch, version: version, Requests.fetch("nope", offset: 0, version: version, maxWaitMs: 5_000)))
        #expect(unknown.firstPartition.int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        #expect(unknown.firstPartition.int64("highWatermark") == -1)
        let outOfRange = try #require(try fixture.respond(.fetch, version: version, Requests.fetch("orders", offset: 5, version: version, maxWaitMs: 5_000)))
        #expect(outOfRange.firstPartition.int16("errorCode") == KafkaErrorCode.offsetOutOfRange.rawValue)
        #expect(outOfRange.firstPartition.int64("highWatermark") == 0)
    }

    @Test(arguments: [Int16(4), 7, 11, 12])
    func readCommittedFetchHidesAnAbortedTransactionAndListsIt(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let initialised = try #require(try fixture.respond(.initProducerId, version: 4, Requests.initProducerId("tx-1")))
        let producer = initialised.int64("producerId")
        let epoch = initialised.int16("producerEpoch")
        var sequence: Int32 = 0
        func transaction(_ values: [String], commit: Bool) throws {
            let added = try #require(try fixture.respond(.addPartitionsToTxn, version: 3,
                                                         Requests.addPartitions("tx-1", producer: producer, epoch: epoch, topic: "orders", partitions: [0])))
            #expect(added.array("resultsByTopicV3AndBelow")[0].array("resultsByPartition")[0].int16("partitionErrorCode") == 0)
            let batch = clientBatch(values, producer: producer, epoch: epoch, sequence: sequence, transactional: true)
            sequence += Int32(values.count)
            let produced = try #require(try fixture.respond(.produce, version: 9, Requests.produce("orders", batch, transactionalID: "tx-1")))
            #expect(produced.firstPartition.int16("errorCode") == 0)
            let ended = try #require(try fixture.respond(.endTxn, version: 3, Requests.endTxn("tx-1", producer: producer, epoch: epoch, commit: commit)))
            #expect(ended.int16("errorCode") == 0)
        }
        try transaction(["c1", "c2"], commit: true)
        try transaction(["a1", "a2"], commit: false)
        try transaction(["c3"], commit: true)

        let committed = try #require(try fixture.respond(.fetch, version: version, Requests.fetch("orders", offset: 0, version: version, isolation: 1)))
        let partition = committed.firstPartition
        let aborted = try #require(partition.nullableArray("abortedTransactions"))
        #expect(aborted.map { $0.int64("producerId") } == [producer])
        #expect(aborted.map { $0.int64("firstOffset") } == [3])
        #expect(partition.int64("lastStableOffset") == partition.int64("highWatermark"))
        // The records carry the aborted batch; a client drops it by the list, as here.
        let values = try readCommittedValues(partition)
        #expect(values == ["c1", "c2", "c3"])

        let uncommitted = try #require(try fixture.respond(.fetch, version: version, Requests.fetch("orders", offset: 0, version: version, isolation: 0)))
        #expect(uncommitted.firstPartition.nullableArray("abortedTransactions") == nil)
        #expect(try recordValues(uncommitted.firstPartition.records("records")) == ["c1", "c2", "a1", "a2", "c3"])
    }

    @Test func aLongPollParksAndIsAnsweredByALaterProduce() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = try? fixture.respond(.produce, version: 9, Requests.produce("orders", clientBatch(["late"])), connection: 2)
        }
        // On connection 1 while connection 2 produces: the parked fetch holds no work queue.
        let fetched = try #require(try fixture.respond(.fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12, maxWaitMs: 8_000)))
        let waited = Date().timeIntervalSince(started)
        #expect(try recordValues(fetched.firstPartition.records("records")) == ["late"])
        #expect(waited >= 0.25 && waited < 5, "answered after \(waited) s")
        #expect(fixture.gateway.parkedFetches.count == 0)
    }

    @Test func aLongPollIsAnsweredByItsTimeoutOtherwise() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let started = Date()
        let fetched = try #require(try fixture.respond(.fetch, version: 11, Requests.fetch("orders", offset: 0, version: 11, maxWaitMs: 400)))
        let waited = Date().timeIntervalSince(started)
        #expect(fetched.firstPartition.int16("errorCode") == 0)
        #expect(fetched.firstPartition.records("records")?.isEmpty ?? true)
        #expect(waited >= 0.38 && waited < 3, "answered after \(waited) s")
    }

    @Test func aLongPollWaitsForMinBytesAcrossSmallAppends() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let one = clientBatch(["x"]).count
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) {
            _ = try? fixture.respond(.produce, version: 9, Requests.produce("orders", clientBatch(["x"])), connection: 2)
            Thread.sleep(forTimeInterval: 0.3)
            _ = try? fixture.respond(.produce, version: 9, Requests.produce("orders", clientBatch(["y"])), connection: 2)
        }
        let fetched = try #require(try fixture.respond(
            .fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12, maxWaitMs: 8_000, minBytes: Int32(one + 1))))
        let waited = Date().timeIntervalSince(started)
        #expect(try recordValues(fetched.firstPartition.records("records")) == ["x", "y"])
        #expect(waited >= 0.45 && waited < 5, "answered after \(waited) s")
    }

    @Test func aReadCommittedLongPollIsAnsweredByTheCommit() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let initialised = try #require(try fixture.respond(.initProducerId, version: 4, Requests.initProducerId("tx-poll")))
        let producer = initialised.int64("producerId")
        let epoch = initialised.int16("producerEpoch")
        _ = try fixture.respond(.addPartitionsToTxn, version: 3,
                                Requests.addPartitions("tx-poll", producer: producer, epoch: epoch, topic: "orders", partitions: [0]))
        let batch = clientBatch(["open"], producer: producer, epoch: epoch, sequence: 0, transactional: true)
        let produced = try #require(try fixture.respond(.produce, version: 9, Requests.produce("orders", batch, transactionalID: "tx-poll")))
        #expect(produced.firstPartition.int16("errorCode") == 0)
        // The open transaction is unreadable to read-committed: the fetch parks until the commit.
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = try? fixture.respond(.endTxn, version: 3, Requests.endTxn("tx-poll", producer: producer, epoch: epoch, commit: true), connection: 2)
        }
        let fetched = try #require(try fixture.respond(
            .fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12, isolation: 1, maxWaitMs: 8_000)))
        let waited = Date().timeIntervalSince(started)
        #expect(try readCommittedValues(fetched.firstPartition) == ["open"])
        #expect(fetched.firstPartition.int64("lastStableOffset") == 2)
        #expect(waited >= 0.25 && waited < 5, "answered after \(waited) s")
    }

    @Test func closingAnswersParkedFetches() throws {
        let fixture = try GatewayFixture()
        fixture.createTopic("orders")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { fixture.gateway.close() }
        let started = Date()
        let fetched = try #require(try fixture.respond(.fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12, maxWaitMs: 20_000)))
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(fetched.firstPartition.int16("errorCode") == 0)
        fixture.close()
    }

    @Test func fetchSessionsAreSessionless() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        _ = try fixture.respond(.produce, version: 9, Requests.produce("orders", clientBatch(["a"])))
        // Asking for a session (epoch 0): a full answer, no session made.
        let opened = try #require(try fixture.respond(.fetch, version: 12, Requests.fetch("orders", offset: 0, version: 12, sessionEpoch: 0)))
        #expect(opened.int16("errorCode") == 0 && opened.int32("sessionId") == 0)
        #expect(try recordValues(opened.firstPartition.records("records")) == ["a"])
        // An incremental fetch names a session this node does not have.
        let incremental = try #require(try fixture.respond(
            .fetch, version: 12, Requests.fetch("orders", offset: 1, version: 12, sessionId: 42, sessionEpoch: 1)))
        #expect(incremental.int16("errorCode") == KafkaErrorCode.fetchSessionIdNotFound.rawValue)
        #expect(incremental.array("responses").isEmpty)
    }

    // MARK: ListOffsets

    @Test(arguments: [Int16(0), 1, 2, 3, 7, 8])
    func listOffsetsEarliestLatestAndCommitted(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        _ = try fixture.respond(.produce, version: 9, Requests.produce("orders", clientBatch(["a", "b", "c"])))
        func list(_ timestamp: Int64, isolation: Int8 = 0, topic: String = "orders", maxNumOffsets: Int32 = 1) throws -> KafkaStruct {
            var body = KafkaStruct.request(.listOffsets)
            body.set("replicaId", Int32(-1))
            if version >= 2 { body.set("isolationLevel", isolation) }
            var element = body.makeElement("topics")
            element.set("name", topic)
            var partition = element.makeElement("partitions")
            partition.set("partitionIndex", Int32(0))
            partition.set("timestamp", timestamp)
            if version == 0 { partition.set("maxNumOffsets", maxNumOffsets) }
            element.set("partitions", [partition])
            body.set("topics", [element])
            return try #require(try fixture.respond(.listOffsets, version: version, body)).firstPartition
        }
        let latest = try list(-1)
        let earliest = try list(-2)
        if version == 0 {
            #expect(latest.int64Array("oldStyleOffsets") == [3])
            #expect(earliest.int64Array("oldStyleOffsets") == [0])
            #expect(try list(-1, maxNumOffsets: 0).int64Array("oldStyleOffsets") == [])
        } else {
            #expect(latest.int64("offset") == 3 && latest.int64("timestamp") == -1)
            #expect(earliest.int64("offset") == 0)
            let byTime = try list(1_750_000_000_001)
            #expect(byTime.int64("offset") == 1 && byTime.int64("timestamp") == 1_750_000_000_001)
            if version >= 4 { #expect(byTime.int32("leaderEpoch") == 0) }
        }
        if version >= 2 { #expect(try list(-1, isolation: 1).int64("offset") == 3) }
        #expect(try list(-1, topic: "nope").int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
    }

    // MARK: FindCoordinator

    @Test(arguments: [Int16(0), 1, 2, 3, 4, 5])
    func findCoordinatorAnswersThisNode(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        var body = KafkaStruct.request(.findCoordinator)
        if version >= 4 { body.set("coordinatorKeys", ["payment-service", "other"]) } else { body.set("key", "payment-service") }
        let response = try #require(try fixture.respond(.findCoordinator, version: version, body))
        if version >= 4 {
            let coordinators = response.array("coordinators")
            #expect(coordinators.map { $0.string("key") } == ["payment-service", "other"])
            #expect(coordinators.allSatisfy { $0.int32("nodeId") == 1 && $0.int32("port") == 9092 && $0.int16("errorCode") == 0 })
        } else {
            #expect(response.int16("errorCode") == 0 && response.int32("nodeId") == 1 && response.string("host") == "127.0.0.1")
        }
        if version >= 1 {
            body.set("keyType", Int8(1))
            if version >= 4 { body.set("coordinatorKeys", [""]) } else { body.set("key", "") }
            let empty = try #require(try fixture.respond(.findCoordinator, version: version, body))
            let error = version >= 4 ? empty.array("coordinators")[0].int16("errorCode") : empty.int16("errorCode")
            #expect(error == KafkaErrorCode.invalidRequest.rawValue)
        }
    }

    // MARK: Transactions

    @Test(arguments: [Int16(0), 1, 2, 3, 4, 5])
    func transactionalRoutesAndFencing(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        let idempotent = try #require(try fixture.respond(.initProducerId, version: version, Requests.initProducerId(nil)))
        #expect(idempotent.int16("errorCode") == 0 && idempotent.int64("producerId") >= 0 && idempotent.int16("producerEpoch") == 0)

        let first = try #require(try fixture.respond(.initProducerId, version: version, Requests.initProducerId("tx")))
        #expect(first.int16("errorCode") == 0)
        let producer = first.int64("producerId")
        let epoch = first.int16("producerEpoch")
        let addVersion = min(version, 3)
        let offsetsVersion = min(version, 4)
        let endVersion = min(version, 4)
        let added = try #require(try fixture.respond(.addPartitionsToTxn, version: addVersion,
                                                     Requests.addPartitions("tx", producer: producer, epoch: epoch, topic: "orders", partitions: [0, 7])))
        let results = added.array("resultsByTopicV3AndBelow")[0].array("resultsByPartition")
        #expect(results.map { $0.int32("partitionIndex") } == [0, 7])
        #expect(results.map { $0.int16("partitionErrorCode") }
            == [KafkaErrorCode.operationNotAttempted.rawValue, KafkaErrorCode.unknownTopicOrPartition.rawValue])

        var offsets = KafkaStruct.request(.addOffsetsToTxn)
        offsets.set("transactionalId", "tx")
        offsets.set("producerId", producer)
        offsets.set("producerEpoch", epoch)
        offsets.set("groupId", "payment-service")
        #expect(try fixture.respond(.addOffsetsToTxn, version: offsetsVersion, offsets)?.int16("errorCode") == 0)

        // A second InitProducerId fences the first epoch.
        let second = try #require(try fixture.respond(.initProducerId, version: version, Requests.initProducerId("tx")))
        #expect(second.int64("producerId") == producer && second.int16("producerEpoch") > epoch)
        let zombie = try #require(try fixture.respond(.endTxn, version: endVersion, Requests.endTxn("tx", producer: producer, epoch: epoch, commit: true)))
        let fenced = version >= 2 ? KafkaErrorCode.producerFenced : .invalidProducerEpoch
        #expect(zombie.int16("errorCode") == fenced.rawValue)
        let nothingOpen = try #require(try fixture.respond(.endTxn, version: endVersion,
                                                           Requests.endTxn("tx", producer: producer, epoch: second.int16("producerEpoch"), commit: true)))
        #expect(nothingOpen.int16("errorCode") == KafkaErrorCode.invalidTxnState.rawValue)
    }

    // MARK: Admin

    @Test(arguments: [Int16(0), 1, 3, 4, 5, 7])
    func createTopics(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        var body = KafkaStruct.request(.createTopics)
        var topic = body.makeElement("topics")
        topic.set("name", "orders")
        topic.set("numPartitions", Int32(3))
        topic.set("replicationFactor", Int16(1))
        var setting = topic.makeElement("configs")
        setting.set("name", "cleanup.policy")
        setting.set("value", "compact")
        topic.set("configs", [setting])
        body.set("topics", [topic])
        let created = try #require(try fixture.respond(.createTopics, version: version, body)).array("topics")[0]
        #expect(created.string("name") == "orders" && created.int16("errorCode") == 0)
        if version >= 5 {
            #expect(created.int32("numPartitions") == 3 && created.int16("replicationFactor") == 1)
            let policy = created.nullableArray("configs")?.first { $0.string("name") == "cleanup.policy" }
            #expect(policy?.nullableString("value") == "compact")
        }
        let again = try #require(try fixture.respond(.createTopics, version: version, body)).array("topics")[0]
        #expect(again.int16("errorCode") == KafkaErrorCode.topicAlreadyExists.rawValue)
        if version >= 1 { #expect(again.nullableString("errorMessage") != nil) }
        #expect(fixture.gateway.broker.metadata(MetadataRequest(topics: ["orders"])).topics[0].partitions.count == 3)
    }

    @Test(arguments: [Int16(0), 1, 5, 6])
    func deleteTopics(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        var body = KafkaStruct.request(.deleteTopics)
        body.set("timeoutMs", Int32(30_000))
        if version >= 6 {
            var byName = body.makeElement("topics")
            byName.set("name", "orders")
            var missing = body.makeElement("topics")
            missing.set("name", "missing")
            var byID = body.makeElement("topics")
            byID.set("topicId", KafkaUUID(high: 1, low: 2))
            body.set("topics", [byName, missing, byID])
        } else {
            body.set("topicNames", ["orders", "missing"])
        }
        let results = try #require(try fixture.respond(.deleteTopics, version: version, body)).array("responses")
        #expect(results[0].nullableString("name") == "orders" && results[0].int16("errorCode") == 0)
        #expect(results[1].int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        if version >= 6 {
            #expect(results.count == 3 && results[2].int16("errorCode") == KafkaErrorCode.unknownTopicId.rawValue)
        }
        #expect(fixture.gateway.broker.metadata(MetadataRequest(topics: nil)).topics.isEmpty)
    }

    @Test(arguments: [Int16(0), 1, 3])
    func createPartitionsGrowsATopic(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        func grow(_ name: String, to count: Int32) throws -> KafkaStruct {
            var body = KafkaStruct.request(.createPartitions)
            var topic = body.makeElement("topics")
            topic.set("name", name)
            topic.set("count", count)
            topic.setNull("assignments")
            body.set("topics", [topic])
            body.set("timeoutMs", Int32(30_000))
            return try #require(try fixture.respond(.createPartitions, version: version, body)).array("results")[0]
        }
        #expect(try grow("orders", to: 3).int16("errorCode") == 0)
        #expect(fixture.gateway.broker.metadata(MetadataRequest(topics: ["orders"])).topics[0].partitions.count == 3)
        let shrink = try grow("orders", to: 2)
        #expect(shrink.int16("errorCode") == KafkaErrorCode.invalidPartitions.rawValue && shrink.nullableString("errorMessage") != nil)
        #expect(try grow("nope", to: 2).int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)
    }

    @Test(arguments: [Int16(0), 1, 3, 4])
    func describeConfigsShowsCleanupPolicy(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        fixture.createTopic("orders")
        var body = KafkaStruct.request(.describeConfigs)
        var resource = body.makeElement("resources")
        resource.set("resourceType", Int8(2))
        resource.set("resourceName", "orders")
        resource.setNull("configurationKeys")
        var missing = resource
        missing.set("resourceName", "missing")
        body.set("resources", [resource, missing])
        if version >= 1 { body.set("includeSynonyms", true) }
        let results = try #require(try fixture.respond(.describeConfigs, version: version, body)).array("results")
        #expect(results[0].int16("errorCode") == 0 && results[0].string("resourceName") == "orders")
        let policy = try #require(results[0].array("configs").first { $0.string("name") == "cleanup.policy" })
        #expect(policy.nullableString("value") == "delete")
        if version == 0 { #expect(policy.bool("isDefault")) } else {
            #expect(policy.int8("configSource") == KafkaConfigEntry.defaultConfigSource)
            #expect(policy.array("synonyms").map { $0.string("name") } == ["cleanup.policy"])
        }
        // Kafka's ConfigType LIST (7).
        if version >= 3 { #expect(policy.int8("configType") == 7 && policy.nullableString("documentation") == nil) }
        #expect(results[1].int16("errorCode") == KafkaErrorCode.unknownTopicOrPartition.rawValue)

        // Only the keys asked for.
        resource.set("configurationKeys", ["cleanup.policy", "no.such.key"])
        body.set("resources", [resource])
        let keyed = try #require(try fixture.respond(.describeConfigs, version: version, body)).array("results")[0]
        #expect(keyed.array("configs").map { $0.string("name") } == ["cleanup.policy"])
    }

    @Test(arguments: [Int16(0), 1])
    func describeClusterIsThisNode(version: Int16) throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        var body = KafkaStruct.request(.describeCluster)
        body.set("includeClusterAuthorizedOperations", true)
        let response = try #require(try fixture.respond(.describeCluster, version: version, body))
        #expect(response.int16("errorCode") == 0 && response.string("clusterId") == fixture.gateway.broker.clusterID)
        #expect(response.int32("controllerId") == 1)
        #expect(response.array("brokers").map { $0.int32("brokerId") } == [1])
        #expect(response.int32("clusterAuthorizedOperations") == AuthorizedOperations.cluster)
        if version >= 1 {
            body.set("endpointType", Int8(2))
            let controllers = try #require(try fixture.respond(.describeCluster, version: version, body))
            #expect(controllers.int16("errorCode") == KafkaErrorCode.mismatchedEndpointType.rawValue)
        }
    }
}
