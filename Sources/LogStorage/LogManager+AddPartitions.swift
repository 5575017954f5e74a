package import StreamCore
import Foundation
import Logging

extension LogManager {
    /// Grows a topic to `partitionCount` partitions (Kafka's CreatePartitions), crash-atomically:
    /// after a crash at any step the topic opens with either all its old partitions and nothing
    /// more, or all the new ones.
    ///
    /// ```
    /// topics/<topic>/<n>/ for each new n       created (a leftover of an interrupted growth is
    ///                                          removed first: it was never published), then the
    ///                                          topic directory synced
    /// topics/<topic>/topic.json.tmp            the new configuration, written and synced
    /// rename to topic.json                     the publishing step; the topic directory synced
    /// ```
    /// Opening reads only `topic.json` and opens partitions `0..<partitionCount`, so the new
    /// directories are invisible until the rename, and empty directories left by a crash before
    /// it are ignored (and replaced by the next growth). The new partitions are opened only after
    /// the rename is durable, so nothing is ever written to one that a crash could unpublish. The
    /// existing partitions stay open and keep their data; the topic's ``Topic`` is replaced, so
    /// callers holding the old one see the old partition count until they look the topic up again.
    /// - Throws: `.unknownTopic`; `.invalidPartition` when `partitionCount` is not larger than
    ///   the current count; `.invalidConfig` for an internal topic (their partition counts are
    ///   fixed: the partition of a group or transactional id is a hash modulo the count) or a
    ///   count over ``TopicConfig/partitionCountMax``; storage errors.
    @discardableResult
    package func addPartitions(to name: TopicName, partitionCount newCount: Int) throws(LogError) -> Topic {
        try syncFailure.check()
        lock.lock(); defer { lock.unlock() }
        guard let topic = topics[name] else { throw LogError.unknownTopic(name.rawValue) }
        if name.isInternal {
            throw LogError(.invalidConfig, "the partition count of internal topic '\(name)' is fixed")
        }
        let oldCount = topic.partitionCount
        guard newCount > oldCount else {
            throw LogError(.invalidPartition, "topic '\(name)' has \(oldCount) partitions; it can only grow, not to \(newCount)")
        }
        var config = topic.config
        config.partitionCount = newCount
        if let problem = config.problem() { throw LogError(.invalidConfig, "cannot grow topic '\(name)': \(problem)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: [UInt8]
        do { json = Array(try encoder.encode(config)) } catch {
            throw LogError(.invalidConfig, "cannot grow topic '\(name)': its configuration does not encode: \(error)")
        }
        let storage = self.storage
        let directory = topic.directory
        let configPath = joinPath(directory, "topic.json")
        let temporaryPath = configPath + ".tmp"
        try syncFailure.guarding { () throws(LogError) in
            let file = try storageCall("growing topic '\(name)'") { () throws(StorageError) -> any StorageFile in
                for index in oldCount..<newCount {
                    let partitionDirectory = joinPath(directory, String(index))
                    if storage.exists(partitionDirectory) { try storage.removeDirectory(partitionDirectory) }
                    try storage.createDirectory(partitionDirectory)
                }
                try storage.syncDirectory(directory)
                let file = try storage.openFile(temporaryPath, mode: .create)
                try file.truncate(to: 0)
                try file.write(json, at: 0)
                return file
            }
            defer { file.close() }
            try syncFile(file)
            try storageCall("growing topic '\(name)'") { () throws(StorageError) in
                try storage.rename(temporaryPath, to: configPath)
                try storage.syncDirectory(directory)
            }
        }
        for partition in topic.openedPartitions { partition.updateConfig(config) }
        let grown = topic.grown(to: config, openPartition: partitionOpener(name, config: config, directory: directory))
        topics[name] = grown
        logger.info("grew topic", metadata: ["topic": "\(name)", "partitions": "\(newCount)"])
        return grown
    }
}
