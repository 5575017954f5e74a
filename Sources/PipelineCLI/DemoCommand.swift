import ArgumentParser
import StreamCore
import LogStorage
import Foundation

/// `pipeline demo`: the embedded default end to end. Creates the `orders` topic, produces
/// `OrderCreated` events keyed by customer, and consumes them back, checking every one arrived
/// exactly once.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create the 'orders' topic, produce OrderCreated events and consume them back.")

    @Option(help: "How many orders to produce.") var orders: Int = 10_000
    @Option(help: "Partitions of the orders topic when it is created.") var partitions: Int = 4
    @Option(help: "How many distinct customers.") var customers: Int = 500
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        guard orders > 0, customers > 0 else { throw CLIError("--orders and --customers must be positive") }
        try withLog(data, command: "demo") { log in
            let topic = TopicName(rawValue: "orders")!
            if !log.hasTopic(topic) {
                var config = TopicConfig(partitionCount: partitions)
                config.compression = .lz4
                try log.createTopic(topic, config: config)
                print("created topic orders (\(partitions) partitions, lz4)")
            }
            let target = try log.topic(topic)
            let startOffsets = target.partitions.map(\.logEndOffset)
            let started = Date()

            let producer = LogProducer(log: log)
            var generator = SeededRandom(seed: UInt64(Date().timeIntervalSince1970 * 1000))
            let runID = String(UInt32(truncatingIfNeeded: generator.next()), radix: 36)
            var expected = Set<String>()
            for index in 0..<orders {
                let order = OrderEvents.orderCreated(index: index, runID: runID, customers: customers, random: &generator)
                expected.insert(order.orderID)
                try producer.send(topic: topic, key: Array(order.customerID.utf8), value: Array(order.json.utf8))
            }
            try producer.close()
            let produceSeconds = Date().timeIntervalSince(started)
            print("produced \(orders) OrderCreated events in \(String(format: "%.2f", produceSeconds)) s")
            for partition in target.partitions {
                let id = Int(partition.topicPartition.partition.rawValue)
                print("  partition \(id): offsets \(startOffsets[id])..<\(partition.logEndOffset), \(Units.describeBytes(partition.sizeBytes)) on disk")
            }

            let consumer = LogConsumer(log: log, config: ConsumerConfig())
            try consumer.assign(target.partitions.map(\.topicPartition))
            for (index, partition) in target.partitions.enumerated() {
                try consumer.seek(partition.topicPartition, to: .offset(startOffsets[index]))
            }
            var seen = 0
            var duplicates = 0
            var samples: [String] = []
            while true {
                let records = try consumer.poll(maxRecords: 5000)
                if records.isEmpty {
                    guard consumer.isCaughtUp else { throw CLIError(try ConsumeCommand.stoppedShort(consumer, topic: topic)) }
                    break
                }
                for record in records {
                    guard let value = record.value, let orderID = OrderEvents.orderID(in: value), orderID.hasPrefix("ORD-\(runID)-") else { continue }
                    if expected.remove(orderID) == nil { duplicates += 1 } else { seen += 1 }
                    if samples.count < 3 { samples.append("  \(record.topicPartition) @\(record.offset): \(String(decoding: value, as: UTF8.self))") }
                }
            }
            print("consumed them back; for example:")
            samples.forEach { print($0) }
            guard expected.isEmpty, duplicates == 0 else {
                throw CLIError("demo check failed: \(expected.count) orders missing, \(duplicates) duplicated")
            }
            print("ok: all \(seen) orders came back exactly once, in \(String(format: "%.2f", Date().timeIntervalSince(started))) s in all")
            print("next: swift run pipeline consume orders --max 5   |   swift run pipeline topics describe orders")
        }
    }
}

/// The seed's `OrderCreated` events:
/// `{"event_type":"OrderCreated","order_id":"ORD-1234","customer_id":"CUST-4567","amount":12.50,"timestamp":"2025-06-11T12:00:00Z"}`.
enum OrderEvents {
    struct Order {
        var orderID: String
        var customerID: String
        var json: String
    }

    static func orderCreated(index: Int, runID: String, customers: Int, random: inout SeededRandom) -> Order {
        let orderID = "ORD-\(runID)-\(index)"
        let customerID = "CUST-\(Int(random.next() % UInt64(customers)) + 1000)"
        let cents = Int(random.next() % 200_000) + 1
        let amount = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
        let seconds = 1_749_643_200 + index
        let timestamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        let json = "{\"event_type\":\"OrderCreated\",\"order_id\":\"\(orderID)\",\"customer_id\":\"\(customerID)\",\"amount\":\(amount),\"timestamp\":\"\(timestamp)\"}"
        return Order(orderID: orderID, customerID: customerID, json: json)
    }

    /// The `order_id` of an `OrderCreated` JSON value.
    static func orderID(in value: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] else { return nil }
        return object["order_id"] as? String
    }
}
