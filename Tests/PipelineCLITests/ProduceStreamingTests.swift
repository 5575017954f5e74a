import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `produce` streams its input (memory stays bounded whatever the input's size) and makes lines
/// durable while stdin is idle, so a kill after a pause loses none of them (issue 18.11).
@Suite("produce streams its input", .serialized)
struct ProduceStreamingTests {
    /// The peak resident memory `produce` may reach on any input (VmHWM), with the debug build.
    static let peakResidentBytesMax = 96 << 20

    /// The process's peak resident set (VmHWM), in bytes, or nil once it is gone.
    static func peakResidentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    @Test("a 200 MB input file: every line produced, peak memory under the bound", .timeLimit(.minutes(5)))
    func boundedMemory() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t", ["--partitions", "4", "--compression", "lz4"])
        let lineCount = 1_300_000
        let path = scratch.root.appendingPathComponent("big.txt").path
        let output = try #require(FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: path, contents: nil); return path }()))
        var chunk = Data()
        for index in 0..<lineCount {
            chunk.append(contentsOf: #"{"event_type":"OrderCreated","order_id":"ORD-\#(index)","customer_id":"CUST-\#(index % 1000)","amount":12.50,"timestamp":"2025-06-11T12:00:00Z","pad":"xxxxxxxx"}"#.utf8)
            chunk.append(0x0A)
            if chunk.count > 1 << 20 { output.write(chunk); chunk.removeAll(keepingCapacity: true) }
        }
        output.write(chunk)
        try output.close()
        let inputBytes = try fileSize(path)
        #expect(inputBytes > 180_000_000, "\(inputBytes) bytes of input")

        let process = try PipelineProcess(["produce", "t", "--format", "raw", "--file", path, "--data-dir", scratch.dataDir],
                                          in: scratch.root, timeout: 280)
        var peak = 0
        while process.isRunning {
            if let bytes = Self.peakResidentBytes(pid: process.pid) { peak = max(peak, bytes) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let result = process.wait()
        expectSuccess(result)
        #expect(result.stdout.hasPrefix("produced \(lineCount) records"), "\(result)")
        #expect(peak > 0, "VmHWM was never read")
        #expect(peak < Self.peakResidentBytesMax, "peak resident memory \(peak >> 20) MiB for \(inputBytes >> 20) MiB of input (bound \(Self.peakResidentBytesMax >> 20) MiB)")
    }

    @Test("lines written to an open stdin are durable after a short idle: SIGKILLed then, none is lost")
    func idleFlush() throws {
        let scratch = try Scratch()
        try scratch.createTopic("t")
        let lines = (1...5).map { #"{"n":\#($0)}"# }
        let producer = try PipelineProcess(["produce", "t", "--data-dir", scratch.dataDir], in: scratch.root,
                                           stdin: Data((lines.joined(separator: "\n") + "\n").utf8), keepStdinOpen: true, timeout: 30)
        Thread.sleep(forTimeInterval: 1.0)
        #expect(producer.isRunning, "produce exited while its stdin was open")
        let killed = producer.killAndWait()
        #expect(killed.signaled, "the kill did not land while produce was waiting for input: \(killed)")
        #expect(try scratch.consumeLines("t") == lines)
    }
}
