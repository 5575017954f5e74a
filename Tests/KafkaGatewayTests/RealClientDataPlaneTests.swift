import Foundation
import Testing
import LogStorage
import Transactions
import KafkaProtocol
import KafkaServer
import KafkaBroker
@testable import KafkaGateway

/// The data plane's routes behind the real network shell, driven by real Kafka clients
/// (each test runs only when its client is installed): kafka-python producing and consuming
/// by assignment, confluent-kafka's idempotent and transactional producers read back
/// read-committed, and Debian's kcat (librdkafka 2.0.2) listing, producing and consuming.
@Suite("Data plane with real clients", .serialized)
struct RealClientDataPlaneTests {
    /// A gateway over a fresh data directory behind a `KafkaServer` on a free loopback port,
    /// which the broker advertises (so clients reconnect to it after Metadata).
    private func withServer(_ body: (String) async throws -> Void) async throws {
        let port = try freePort()
        let directory = NSTemporaryDirectory() + "sluice-gateway-clients-\(UUID().uuidString)"
        let log = try LogManager.open(directory: directory)
        let coordinator = try TransactionCoordinator(log: log)
        var config = KafkaBrokerConfig()
        config.advertisedPort = Int32(port)
        let gateway = try KafkaGateway(log: log, coordinator: coordinator, brokerConfig: config)
        for topic in ["kafka-python", "confluent", "kcat"] {
            _ = gateway.broker.createTopics(CreateTopicsRequest(topics: [CreatableTopic(name: topic, numPartitions: 1)]))
        }
        let server = KafkaServer(configuration: KafkaServerConfiguration(host: "127.0.0.1", port: port), handler: gateway)
        try await server.start()
        do {
            try await body("127.0.0.1:\(port)")
        } catch {
            try await server.shutdown()
            gateway.close()
            log.close()
            throw error
        }
        try await server.shutdown()
        gateway.close()
        log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("kafka-python produces and a KafkaConsumer with an assignment reads it back",
          .enabled(if: pythonImports("kafka")))
    func kafkaPython() async throws {
        try await withServer { bootstrap in
            let result = try run(["python3", "-c", """
                from kafka import KafkaProducer, KafkaConsumer, TopicPartition
                from kafka import codec
                # Plain batches, then lz4 and zstd ones when kafka-python has those extras.
                compressions = [None] + [name for name, present in [('lz4', codec.has_lz4()), ('zstd', codec.has_zstd())] if present]
                for index, compression in enumerate(compressions):
                    producer = KafkaProducer(bootstrap_servers='\(bootstrap)', acks='all', compression_type=compression)
                    for i in range(index * 20 // len(compressions), (index + 1) * 20 // len(compressions)):
                        producer.send('kafka-python', value=('v%d' % i).encode())
                    producer.flush(30)
                    producer.close()
                print('COMPRESSIONS', compressions)
                consumer = KafkaConsumer(bootstrap_servers='\(bootstrap)', enable_auto_commit=False,
                                         auto_offset_reset='earliest', consumer_timeout_ms=15000)
                partition = TopicPartition('kafka-python', 0)
                consumer.assign([partition])
                consumer.seek_to_beginning(partition)
                got = []
                for message in consumer:
                    got.append(message.value.decode())
                    if len(got) == 20:
                        break
                print('GOT', ','.join(got))
                print('END', consumer.end_offsets([partition])[partition])
                assert got == ['v%d' % i for i in range(20)], got
                """])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("END 20"), "\(result.output)")
        }
    }

    @Test("confluent-kafka: idempotent and transactional produce, an aborted transaction hidden from read_committed",
          .enabled(if: pythonImports("confluent_kafka")))
    func confluentKafka() async throws {
        try await withServer { bootstrap in
            let result = try run(["python3", "-c", """
                import time
                from confluent_kafka import Producer, Consumer, TopicPartition
                idempotent = Producer({'bootstrap.servers': '\(bootstrap)', 'enable.idempotence': True, 'linger.ms': 5})
                for i in range(10):
                    idempotent.produce('confluent', value='i%d' % i)
                assert idempotent.flush(30) == 0
                tx = Producer({'bootstrap.servers': '\(bootstrap)', 'transactional.id': 'confluent-tx'})
                tx.init_transactions(30)
                tx.begin_transaction()
                for i in range(3):
                    tx.produce('confluent', value='c%d' % i)
                tx.commit_transaction(30)
                tx.begin_transaction()
                tx.produce('confluent', value='aborted')
                tx.flush(30)
                tx.abort_transaction(30)
                tx.begin_transaction()
                tx.produce('confluent', value='last')
                tx.commit_transaction(30)

                def read(isolation, count):
                    consumer = Consumer({'bootstrap.servers': '\(bootstrap)', 'group.id': 'reader-' + isolation,
                                         'isolation.level': isolation, 'enable.auto.commit': False,
                                         'enable.partition.eof': True})
                    consumer.assign([TopicPartition('confluent', 0, 0)])
                    got = []
                    deadline = time.time() + 30
                    while time.time() < deadline:
                        message = consumer.poll(1.0)
                        if message is None:
                            continue
                        if message.error():
                            if message.error().code() == -191 and len(got) >= count:
                                break
                            continue
                        got.append(message.value().decode())
                    low, high = consumer.get_watermark_offsets(TopicPartition('confluent', 0), timeout=10)
                    consumer.close()
                    return got, high

                committed, high = read('read_committed', 14)
                print('COMMITTED', committed, high)
                assert committed == ['i%d' % i for i in range(10)] + ['c0', 'c1', 'c2', 'last'], committed
                everything, _ = read('read_uncommitted', 15)
                print('UNCOMMITTED', everything)
                assert 'aborted' in everything, everything
                """], timeout: 120)
            #expect(result.status == 0, "\(result.output)")
        }
    }

    @Test("Debian's kcat (librdkafka 2.0.2) lists, produces and consumes",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat")))
    func kcat() async throws {
        try await withServer { bootstrap in
            let listed = try run(["/usr/bin/kcat", "-b", bootstrap, "-L"])
            #expect(listed.status == 0 && listed.output.contains("topic \"kcat\" with 1 partitions"), "\(listed.output)")
            let produced = try run(["/usr/bin/kcat", "-b", bootstrap, "-t", "kcat", "-P"], input: "one\ntwo\nthree\n")
            #expect(produced.status == 0, "\(produced.output)")
            let consumed = try run(["/usr/bin/kcat", "-b", bootstrap, "-t", "kcat", "-C", "-o", "beginning", "-e", "-q"])
            #expect(consumed.status == 0, "\(consumed.output)")
            #expect(consumed.output.split(separator: "\n") == ["one", "two", "three"], "\(consumed.output)")
        }
    }
}

/// A loopback port free now (bound and released), for a server whose broker must advertise
/// its port before it starts.
private func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw CocoaError(.fileReadUnknown) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs a program (with `input` on its standard input); its exit status and output.
private func run(_ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let collected = OutputCollector(output.fileHandleForReading)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, collected.text())
}

/// Reads a pipe to its end on a background thread, so a chatty child never blocks on a full pipe.
private final class OutputCollector: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()
    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }
    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Whether `python3` can import `module`.
private func pythonImports(_ module: String) -> Bool {
    (try? run(["python3", "-c", "import \(module)"], timeout: 30).status) == 0
}
