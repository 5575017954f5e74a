package import StreamCore
import Foundation
import Logging

extension LogManager {
    /// Sets (or with nil, removes) the subject a topic's record values must belong to
    /// (``TopicConfig/valueSubject``), crash-atomically: `topic.json.tmp` is written and synced,
    /// then renamed over `topic.json` and the directory synced, so after a crash the topic has
    /// the old configuration or the new one. The log itself never reads it; the producers'
    /// checks do, from the returned ``Topic`` (callers holding the old one see the old subject
    /// until they look the topic up again).
    /// - Throws: `.unknownTopic`; `.invalidConfig` for an internal topic or an empty subject;
    ///   storage errors.
    @discardableResult
    package func setValueSubject(_ subject: String?, of name: TopicName) throws(LogError) -> Topic {
        try syncFailure.check()
        lock.lock(); defer { lock.unlock() }
        guard let topic = topics[name] else { throw LogError.unknownTopic(name.rawValue) }
        if name.isInternal { throw LogError(.invalidConfig, "internal topic '\(name)' cannot require a subject") }
        if subject?.isEmpty == true { throw LogError(.invalidConfig, "the value subject of topic '\(name)' cannot be empty") }
        var config = topic.config
        config.valueSubject = subject
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: [UInt8]
        do { json = Array(try encoder.encode(config)) } catch {
            throw LogError(.invalidConfig, "cannot change topic '\(name)': its configuration does not encode: \(error)")
        }
        let storage = self.storage
        let configPath = joinPath(topic.directory, "topic.json")
        let temporaryPath = configPath + ".tmp"
        try syncFailure.guarding { () throws(LogError) in
            let file = try storageCall("changing topic '\(name)'") { () throws(StorageError) -> any StorageFile in
                let file = try storage.openFile(temporaryPath, mode: .create)
                try file.truncate(to: 0)
                try file.write(json, at: 0)
                return file
            }
            defer { file.close() }
            try syncFile(file)
            try storageCall("changing topic '\(name)'") { () throws(StorageError) in
                try storage.rename(temporaryPath, to: configPath)
                try storage.syncDirectory(topic.directory)
            }
        }
        let changed = topic.grown(to: config, openPartition: partitionOpener(name, config: config, directory: topic.directory))
        topics[name] = changed
        logger.info("changed topic", metadata: ["topic": "\(name)", "value.subject": "\(subject ?? "none")"])
        return changed
    }
}
