package import StreamCore
package import LogStorage
import Foundation

/// The cluster id a data directory answers with in Metadata and DescribeCluster: Kafka's form, 16
/// random bytes in unpadded URL-safe base64 (22 characters), created once and kept in
/// `<data-dir>/cluster-id`.
///
/// The file is written through `cluster-id.tmp`, synced, renamed and the directory synced, so
/// after a crash it is either absent (and created again) or whole; clients that cached the id
/// never see it change.
package enum ClusterID {
    package static let fileName = "cluster-id"
    package static let lengthCharacters = 22

    /// The data directory's cluster id, creating it the first time.
    /// - Throws: `.storage` when the file cannot be read or written, `.invalidConfig` when it
    ///   holds something that is not a cluster id.
    package static func loadOrCreate(in directory: String, storage: any Storage) throws(LogError) -> String {
        let path = joinPath(directory, fileName)
        if storage.exists(path) {
            let bytes: [UInt8]
            do {
                let file = try storage.openFile(path, mode: .read)
                defer { file.close() }
                bytes = try file.readAll()
            } catch {
                throw LogError(storage: error, context: "reading \(path)")
            }
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard isValid(text) else { throw LogError(.invalidConfig, "\(path) does not hold a cluster id") }
            return text
        }
        let id = generate()
        let temporaryPath = path + ".tmp"
        do {
            let file = try storage.openFile(temporaryPath, mode: .create)
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(Array((id + "\n").utf8), at: 0)
            try file.sync()
            try storage.rename(temporaryPath, to: path)
            try storage.syncDirectory(directory)
        } catch {
            throw LogError(storage: error, context: "writing \(path)")
        }
        return id
    }

    /// Whether `text` has the form of a cluster id.
    package static func isValid(_ text: String) -> Bool {
        text.utf8.count == lengthCharacters && text.utf8.allSatisfy { alphabet.utf8.contains($0) }
    }

    private static let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    private static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let symbols = Array(alphabet)
        var text = ""
        var bits: UInt32 = 0
        var count = 0
        for byte in bytes {
            bits = (bits << 8) | UInt32(byte)
            count += 8
            while count >= 6 {
                count -= 6
                text.append(symbols[Int((bits >> UInt32(count)) & 0x3F)])
            }
        }
        if count > 0 { text.append(symbols[Int((bits << UInt32(6 - count)) & 0x3F)]) }
        return text
    }
}
