import Foundation
import Testing

@testable import Avro

extension Array where Element == UInt8 {
    init?(hexString: String) {
        let digits = Array(hexString.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self = bytes
    }
}

/// Sluice's codec against the reference libraries, fastavro and Apache `avro` (CI installs
/// both; see `.ci/setup`): Tests/avro-reference/crosscheck.py reads the corpus this test
/// writes and reports every disagreement.
@Suite struct AvroReferenceCrossCheckTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func agreesWithFastavroAndApacheAvro() throws {
        let corpus = AvroReferenceCorpus.build(randomSchemas: 120, seed: 20_261_202)
        #expect(corpus.problems.isEmpty, "Sluice's own round trips: \(corpus.problems.prefix(20).joined(separator: "\n"))")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("avro-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try corpus.fileText.write(to: directory.appendingPathComponent("corpus.json"), atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.packageRoot.appendingPathComponent("Tests/avro-reference/crosscheck.py").path, directory.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record(
                process.terminationStatus == 3
                    ? "fastavro and avro must be installed for the cross-check (python3 -m pip install fastavro avro; .ci/setup does it): \(errorText)"
                    : "crosscheck.py failed (status \(process.terminationStatus)): \(errorText)"
            )
            return
        }
        let report = try AvroJSON(parsing: String(contentsOf: directory.appendingPathComponent("report.json"), encoding: .utf8))
        guard case .array(let mismatches)? = report["mismatches"], case .object(let counts)? = report["counts"] else {
            Issue.record("unreadable report: \(report.compactText)")
            return
        }
        let lines = mismatches.map { if case .string(let line) = $0 { line } else { $0.compactText } }
        #expect(lines.isEmpty, "\(lines.count) disagreements with the reference libraries:\n\(lines.prefix(30).joined(separator: "\n"))")
        let count = Dictionary(uniqueKeysWithValues: counts.map { member -> (String, Int64) in
            if case .integer(let value) = member.value { (member.key, value) } else { (member.key, 0) }
        })
        // fastavro's bytes for the seed's decimals: Sluice decodes each into the struct it encoded,
        // and writes the same bytes but where fastavro spends a byte more than the minimal two's
        // complement (Java's BigInteger.toByteArray, which Sluice follows): -2^(8k-1), e.g. -1.28.
        guard case .array(let theirHex)? = report["decimalHex"], theirHex.count == corpus.decimalRecords.count else {
            Issue.record("the report lacks fastavro's decimal bytes")
            return
        }
        let v2 = try AvroSchema(parsing: SeedSchemas.orderCreatedV2)
        let decoder = AvroBinaryDecoder(schema: v2)
        for ((order, ours), hex) in zip(corpus.decimalRecords, theirHex) {
            guard case .string(let text) = hex, let theirs = [UInt8](hexString: text) else { continue }
            #expect(try decoder.decode(OrderCreated.self, from: theirs) == order, "fastavro's \(text)")
            #expect(try decoder.decode(OrderCreatedRecord.self, from: theirs) == OrderCreatedRecord(order), "fastavro's \(text), by field code")
            let unscaled = order.amount.unscaled
            let fastavroPadsIt = unscaled < 0 && unscaled.magnitude.nonzeroBitCount == 1 && (unscaled.magnitude.trailingZeroBitCount + 1) % 8 == 0
            if fastavroPadsIt {
                #expect(theirs.count == ours.count + 1, "\(order.amount): fastavro \(text), Sluice \(ours.hex)")
            } else {
                #expect(theirs == ours, "\(order.amount): fastavro \(text), Sluice \(ours.hex)")
                #expect(try AvroBinaryEncoder(schema: v2).encode(OrderCreatedRecord(order)) == theirs, "\(order.amount) by field code")
            }
        }
        print("Avro cross-check against fastavro \(report["fastavro"]?.compactText ?? "?") and avro: \(count.sorted { $0.key < $1.key })")
        #expect(count["schemas"]! >= 130)
        #expect(count["decimal"]! == Int64(corpus.decimalRecords.count))
        #expect(count["encode"]! >= 700 && count["decode"]! >= 700)
        #expect(count["resolve"]! >= 300)
        #expect(count["compat"]! >= 200 && count["compatTrue"]! >= 50 && count["compatFalse"]! >= 50, "\(count)")
    }
}
