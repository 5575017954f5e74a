import Foundation
import Testing
import StreamCore
import RecordFormat

/// Cross-checks with a real Kafka peer: kafka-python's implementation of the record batch v2
/// format (`kafka.record.default_records`, installed by `.ci/setup`). Segments Sluice wrote are
/// read by kafka-python, CRCs included; batches kafka-python built are read by Sluice.
@Suite("Kafka peer: kafka-python reads and writes the same batches", .serialized)
struct KafkaPeerTests {
    /// Runs a Python script with arguments; returns stdout, failing the test on a non-zero exit.
    static func python(_ script: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python failed: \(String(decoding: errorData, as: UTF8.self))", sourceLocation: sourceLocation)
        return String(decoding: data, as: UTF8.self)
    }

    /// Prints, per batch of a segment file: base offset, last offset, transactional, control,
    /// producer id, and per record its offset, key and value (hex), after kafka-python checked
    /// the CRC.
    static let readSegment = """
    import sys
    from kafka.record.default_records import DefaultRecordBatch
    data = open(sys.argv[1], 'rb').read()
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 8:pos + 12], 'big', signed=True)
        batch = DefaultRecordBatch(data[pos:pos + 12 + length])
        assert batch.validate_crc(), 'CRC mismatch at position %d' % pos
        print('batch', batch.base_offset, batch.last_offset, int(batch.is_transactional), int(batch.is_control_batch),
              batch.producer_id, batch.compression_type)
        if batch.is_control_batch:
            pos += 12 + length
            continue
        for record in batch:
            key = record.key.hex() if record.key is not None else '-'
            value = record.value.hex() if record.value is not None else '-'
            print('record', record.offset, key, value)
        pos += 12 + length
    """

    @Test("segments Sluice writes decode in kafka-python, CRC, offsets, keys and values", arguments: ["none", "lz4", "zstd"])
    func kafkaPythonReadsSluiceSegments(codec: String) throws {
        let scratch = try Scratch()
        try scratch.createTopic("orders", ["--partitions", "1", "--compression", codec])
        let lines = (0..<200).map { #"{"order_id":"ORD-\#($0)","customer_id":"CUST-\#($0 % 7)","amount":\#($0).50}"# }
        try scratch.produce("orders", lines, ["--key-field", "customer_id"])
        // Transactional batches and COMMIT markers too.
        let copy = try scratch.run(["copy", "orders", "copied", "--group", "g", "--until-idle"])
        #expect(copy.exitCode == 0, "copy failed: \(copy)")

        for topic in ["orders", "copied"] {
            let output = try Self.python(Self.readSegment, [scratch.segmentPath(topic)])
            let batches = output.split(separator: "\n").filter { $0.hasPrefix("batch ") }
            let records = output.split(separator: "\n").filter { $0.hasPrefix("record ") }.map { $0.split(separator: " ") }
            #expect(!batches.isEmpty)
            let values = records.map { String(decoding: hexBytes(String($0[3])), as: UTF8.self) }
            #expect(values == lines, "kafka-python sees the records of \(topic) in order")
            #expect(records.map { Int64($0[1])! } == Array(0..<Int64(records.count)) || topic == "copied")
            for record in records {
                let value = String(decoding: hexBytes(String(record[3])), as: UTF8.self)
                let key = String(decoding: hexBytes(String(record[2])), as: UTF8.self)
                #expect(value.contains("\"customer_id\":\"\(key)\""), "key and value travel together")
            }
            // Fields: "batch" baseOffset lastOffset transactional control producerId codec.
            let fields = batches.map { $0.split(separator: " ").map(String.init) }
            if topic == "copied" {
                #expect(fields.contains { $0[3] == "1" && $0[4] == "1" }, "kafka-python sees the COMMIT control batch")
                #expect(fields.contains { $0[3] == "1" && $0[4] == "0" && $0[5] != "-1" }, "and the transactional data batches")
            } else {
                #expect(fields.allSatisfy { $0[3] == "0" && $0[4] == "0" })
            }
        }
    }

    /// Builds a segment with kafka-python: 3 batches (none, lz4, zstd) of records with keys,
    /// null values and headers.
    static let writeSegment = """
    import sys
    from kafka.record.default_records import DefaultRecordBatchBuilder
    out = open(sys.argv[1], 'wb')
    offset = 0
    for codec in (0, 3, 4):
        builder = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False,
                                            producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
        for i in range(5):
            value = None if i == 4 else ('value-%d-%d' % (codec, i)).encode()
            builder.append(i, timestamp=1750000000000 + i, key=('key-%d' % i).encode(), value=value,
                           headers=[('h', b'x'), ('n', None)])
        batch = bytearray(builder.build())
        batch[0:8] = offset.to_bytes(8, 'big')
        out.write(batch)
        offset += 5
    """

    @Test("batches kafka-python builds decode in Sluice, every codec, with headers and null values")
    func sluiceReadsKafkaPythonBatches() throws {
        let scratch = try Scratch()
        let path = scratch.root.appendingPathComponent("peer.log").path
        _ = try Self.python(Self.writeSegment, [path])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var position = 0
        var codecs: [CompressionCodec?] = []
        var values: [String?] = []
        while position < bytes.count {
            let header = try RecordBatchHeader.parse(bytes, at: position)
            let batch = try RecordBatch(bytes: Array(bytes[position..<position + header.totalSizeBytes]))
            #expect(batch.hasValidChecksum())
            codecs.append(header.codec)
            for record in try batch.records() {
                #expect(record.key.map { String(decoding: $0, as: UTF8.self) } == "key-\(record.offsetDelta)")
                #expect(record.headers == [RecordHeader(key: "h", value: Array("x".utf8)), RecordHeader(key: "n", value: nil)])
                #expect(record.timestamp == Timestamp(milliseconds: 1_750_000_000_000 + Int64(record.offsetDelta)))
                values.append(record.value.map { String(decoding: $0, as: UTF8.self) })
            }
            position += header.totalSizeBytes
        }
        #expect(codecs == [CompressionCodec.none, .lz4, .zstd])
        #expect(values.count == 15)
        #expect(values.compactMap { $0 }.count == 12)
        #expect(values[1] == "value-3-1" || values[6] == "value-3-1")
        // And the CLI's dump agrees.
        let dump = try scratch.runBare(["log", "dump", path, "--records"])
        expectSuccess(dump)
        #expect(dump.stdoutLines.filter { $0.contains("crcValid: true") }.count == 3)
    }
}

private func hexBytes(_ hex: String) -> [UInt8] {
    guard hex != "-" else { return [] }
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
