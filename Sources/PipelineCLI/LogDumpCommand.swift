import ArgumentParser
import StreamCore
import RecordFormat
import LogStorage
import Foundation

/// `pipeline log …`: inspect segment files.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Inspect log segments.", subcommands: [LogDump.self])
}

/// `pipeline log dump PATH`: every batch of a segment with its header fields and CRC validity.
/// Exits non-zero, after printing every batch it could read, when the file is damaged (a batch
/// failing its CRC, a header or length that does not hold) or is no segment at all.
struct LogDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every batch of a segment: offsets, count, codec, producer id/epoch, transactional/control bits, CRC validity.")

    @Argument(help: "A segment file (…/00000000000000000000.log).") var path: String
    @Flag(help: "Also print every record.") var records = false

    func run() throws {
        let storage = POSIXStorage()
        let file: any StorageFile
        do { file = try storage.openFile(path, mode: .read) } catch { throw CLIError(error.description) }
        defer { file.close() }
        let size: Int64
        do { size = try file.size() } catch { throw CLIError(error.description) }
        let output = OutputBuffer()
        output.line("dumping \(path) (\(size) bytes)")
        var batches = 0
        var failingChecksums: [Int64] = []
        let problem: ScanProblem?
        do {
            problem = try BatchScanner.scan(file, from: 0, to: size, verifyChecksums: false) { (batch: ScannedBatch) throws(LogError) -> Bool in
                batches += 1
                output.line(LogDump.describe(batch))
                if BatchScanner.checksum(of: batch.bytes) != batch.header.crc { failingChecksums.append(batch.position) }
                if records { LogDump.printRecords(of: batch, to: output) }
                return true
            }
        } catch {
            output.flush()
            throw CLIError(error.description)
        }
        if let problem { output.line("position: \(problem.position) PROBLEM: \(problem.reason)") }
        output.line("\(batches) batch\(batches == 1 ? "" : "es")")
        output.flush()
        // A damaged segment is a failure of the dump, after everything readable was printed.
        if let problem {
            let what = batches == 0 && problem.position == 0 ? "is not a segment (no valid batch at its start)" : "is damaged"
            throw CLIError("\(path) \(what): at position \(problem.position): \(problem.reason)")
        }
        if let first = failingChecksums.first {
            throw CLIError("\(path) is damaged: \(failingChecksums.count) batch\(failingChecksums.count == 1 ? "" : "es") with a failing CRC-32C, the first at position \(first)")
        }
    }

    static func describe(_ batch: ScannedBatch) -> String {
        let header = batch.header
        let valid = BatchScanner.checksum(of: batch.bytes) == header.crc
        var line = "baseOffset: \(header.baseOffset) lastOffset: \(header.lastOffset) count: \(header.recordCount)"
        line += " position: \(batch.position) size: \(header.totalSizeBytes)"
        line += " codec: \(header.codec?.name ?? "unknown(\(header.attributes & 0x7))")"
        line += " producerId: \(header.producerID) producerEpoch: \(header.producerEpoch) baseSequence: \(header.baseSequence)"
        line += " isTransactional: \(header.isTransactional) isControl: \(header.isControl)"
        line += " baseTimestamp: \(header.baseTimestamp) maxTimestamp: \(header.maxTimestamp)"
        line += " crc: \(BatchScanner.hex(header.crc)) crcValid: \(valid)"
        if header.isControl, valid, let batchView = try? RecordBatch(bytes: Array(batch.bytes)),
           let first = try? batchView.records().first, let key = first.key,
           let marker = try? ControlRecord(key: key, value: first.value) {
            line += " marker: \(marker.type == .commit ? "COMMIT" : "ABORT") coordinatorEpoch: \(marker.coordinatorEpoch)"
        }
        return line
    }

    static func printRecords(of batch: ScannedBatch, to output: OutputBuffer) {
        guard let view = try? RecordBatch(bytes: Array(batch.bytes)) else { return }
        do {
            for record in try view.records() {
                var line = "| offset: \(record.offset) timestamp: \(record.timestamp)"
                line += " key: \(record.key.map { JSONEnvelope.quote(String(decoding: $0, as: UTF8.self)) } ?? "null")"
                line += " value: \(record.value.map { JSONEnvelope.quote(String(decoding: $0, as: UTF8.self)) } ?? "null")"
                if !record.headers.isEmpty {
                    line += " headers: " + record.headers.map { "\($0.key)=\(String(decoding: $0.value ?? [], as: UTF8.self))" }.joined(separator: ",")
                }
                output.line(line)
            }
        } catch {
            output.line("| records unreadable: \(error)")
        }
    }
}
