package import StreamCore
import RecordFormat
package import LogStorage
import Foundation

/// The schema registry over a data directory: subjects, versions and global ids kept in the
/// compacted, one-partition `__schemas` topic (``SchemaRecord``) and mirrored in memory
/// (``SchemaRegistryState``).
///
/// Every change is one batch appended to `__schemas` and synced before it is applied to memory
/// and answered, so an answered registration survives any crash, and one that was not answered
/// is either wholly there after a restart or not at all. Opening the registry replays the topic.
///
/// - Invariant: the in-memory state equals the fold of the topic's records in offset order.
/// - Invariant: changes are serialized (one lock around plan → append → sync → apply), so two
///   registrations never plan the same new id.
/// Thread-safety: safe from any thread; an operation that writes holds the lock through its sync.
package final class SchemaRegistry: @unchecked Sendable {
    /// The registry's topic.
    package static let topicName = TopicName(rawValue: "__schemas")!
    /// The largest schema document accepted, in UTF-8 bytes (Confluent's 42209 beyond it); with
    /// the topic's batch limit (its segment size, 16 MiB by default) it bounds a subject's
    /// deletion, which is one batch, to about 30 versions of this size (more answers 50001).
    package static let schemaBytesMax = 512 * 1024
    /// The longest subject name accepted, in UTF-8 bytes.
    package static let subjectBytesMax = 1024

    private let partition: PartitionLog
    private let clock: any EngineClock
    package let rules: SchemaRules
    private let lock = Lock()
    private var state = SchemaRegistryState()

    /// Opens the registry over `log`, creating `__schemas` when missing, and replays it.
    /// - Throws: `.store` (50001) when the topic cannot be created or read.
    package init(log: LogManager, rules: SchemaRules) throws(SchemaRegistryError) {
        self.rules = rules
        self.clock = log.clock
        let topic: Topic
        do {
            if log.hasTopic(SchemaRegistry.topicName) {
                topic = try log.topic(SchemaRegistry.topicName)
            } else {
                var config = TopicConfig.compacted(partitionCount: 1)
                config.segmentBytesMax = log.options.internalSegmentBytesMax
                // A change is one batch: a subject's deletion rewrites every version in it, so the
                // batch may be as large as a segment (Kafka's 1 MiB default would refuse the
                // deletion of three versions near `schemaBytesMax`).
                config.batchBytesMax = log.options.internalSegmentBytesMax
                topic = try log.createTopic(SchemaRegistry.topicName, config: config)
            }
            partition = try topic.partition(PartitionID(0))
        } catch {
            throw SchemaRegistryError(.store, "Error opening \(SchemaRegistry.topicName): \(error)")
        }
        try loadUntilStable()
    }

    /// Replays the topic twice or more until two passes agree (record offsets sit outside the
    /// batch CRC and a compacted topic has gaps; see ConsumerOffsets).
    private func loadUntilStable() throws(SchemaRegistryError) {
        var previous: SchemaRegistryState?
        for _ in 0..<5 {
            let loaded = try load()
            if loaded == previous { break }
            previous = loaded
        }
        state = previous ?? SchemaRegistryState()
    }

    private func load() throws(SchemaRegistryError) -> SchemaRegistryState {
        var loaded = SchemaRegistryState()
        do {
            var offset = partition.logStartOffset
            while offset < partition.logEndOffset {
                let fetched = try partition.read(from: offset, maxBytes: 4 << 20)
                guard let last = fetched.batches.last else { break }
                for batch in fetched.batches where !batch.header.isControl {
                    for record in try batch.records() where record.offset >= offset {
                        guard let key = record.key, let decoded = SchemaRecord.decode(key: key, value: record.value) else { continue }
                        loaded.apply(decoded)
                    }
                }
                offset = last.header.lastOffset + 1
            }
        } catch {
            throw SchemaRegistryError(.store, "Error reading \(SchemaRegistry.topicName): \(error)")
        }
        return loaded
    }

    /// Appends `records` as one batch, syncs it, then applies them: the only way state changes.
    private func commit(_ records: [SchemaRecord], _ what: String) throws(SchemaRegistryError) {
        guard !records.isEmpty else { return }
        let now = clock.now()
        var builder = RecordBatchBuilder()
        for record in records {
            let (key, value) = record.encoded
            builder.append(key: key, value: value, headers: [], timestamp: now)
        }
        do {
            try partition.append(try builder.build())
            try partition.sync()
        } catch {
            throw SchemaRegistryError(.store, "Error while \(what): \(error)")
        }
        for record in records { state.apply(record) }
    }

    private func withState<T>(_ body: (SchemaRegistryState) throws(SchemaRegistryError) -> T) throws(SchemaRegistryError) -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(state)
    }

    /// A copy of the whole state (for listings and tests).
    package var snapshot: SchemaRegistryState {
        lock.lock(); defer { lock.unlock() }
        return state
    }

    // MARK: Validation

    /// The identity of a schema document given with `schemaType` (nil: AVRO).
    /// - Throws: `.invalidSchema` (42201) for another type or a document that is not a schema;
    ///   `.schemaTooLarge` (42209).
    package func identity(of text: String, schemaType: String? = nil) throws(SchemaRegistryError) -> String {
        let type = schemaType ?? rules.schemaType
        guard type == rules.schemaType else {
            throw SchemaRegistryError(.invalidSchema, "Invalid schema: schemaType \(type) is not supported; this registry serves \(rules.schemaType)")
        }
        guard text.utf8.count <= SchemaRegistry.schemaBytesMax else {
            throw SchemaRegistryError(.schemaTooLarge, "Schema too large: \(text.utf8.count) bytes, at most \(SchemaRegistry.schemaBytesMax)")
        }
        return try rules.normalize(text)
    }

    private static func check(subject: String) throws(SchemaRegistryError) {
        guard !subject.isEmpty, subject.utf8.count <= subjectBytesMax, !subject.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw SchemaRegistryError(.invalidSubject, "Invalid subject '\(subject)': 1 to \(subjectBytesMax) bytes, no control characters")
        }
    }

    // MARK: Operations

    /// Registers a schema under `subject` (``SchemaRegistryState/planRegistration(subject:schema:rules:)``),
    /// durably before it returns.
    package func register(subject: String, schema text: String, schemaType: String? = nil) throws(SchemaRegistryError) -> SchemaRegistration {
        try Self.check(subject: subject)
        let identity = try identity(of: text, schemaType: schemaType)
        lock.lock(); defer { lock.unlock() }
        let registration = try state.planRegistration(subject: subject, schema: identity, rules: rules)
        try commit(registration.records, "registering schema under subject '\(subject)'")
        return registration
    }

    /// The version of `subject` holding the schema `text`.
    package func lookup(subject: String, schema text: String, schemaType: String? = nil, includeDeleted: Bool = false) throws(SchemaRegistryError) -> SubjectVersion {
        let identity = try identity(of: text, schemaType: schemaType)
        return try withState { state throws(SchemaRegistryError) in try state.lookup(schema: identity, in: subject, includeDeleted: includeDeleted) }
    }

    package func subjectNames(includeDeleted: Bool = false) -> [String] {
        lock.lock(); defer { lock.unlock() }
        return state.subjectNames(includeDeleted: includeDeleted)
    }

    package func versions(of subject: String, includeDeleted: Bool = false) throws(SchemaRegistryError) -> [SubjectVersion] {
        try withState { state throws(SchemaRegistryError) in try state.versions(of: subject, includeDeleted: includeDeleted) }
    }

    package func version(_ selector: VersionSelector, of subject: String, includeDeleted: Bool = false) throws(SchemaRegistryError) -> SubjectVersion {
        try withState { state throws(SchemaRegistryError) in try state.version(selector, of: subject, includeDeleted: includeDeleted) }
    }

    package func schema(id: Int32) throws(SchemaRegistryError) -> String {
        try withState { state throws(SchemaRegistryError) in try state.schema(id: id) }
    }

    package func subjectVersions(ofID id: Int32, includeDeleted: Bool = false) throws(SchemaRegistryError) -> [SubjectVersion] {
        try withState { state throws(SchemaRegistryError) in try state.subjectVersions(ofID: id, includeDeleted: includeDeleted) }
    }

    /// Why `text` may not follow `subject`'s version `selector` (nil: all live versions per the level).
    package func incompatibilities(
        of text: String, schemaType: String? = nil, subject: String, against selector: VersionSelector?
    ) throws(SchemaRegistryError) -> [String] {
        let identity = try identity(of: text, schemaType: schemaType)
        let rules = self.rules
        return try withState { state throws(SchemaRegistryError) in
            try state.incompatibilities(of: identity, subject: subject, against: selector, rules: rules)
        }
    }

    /// Deletes a subject, soft or for good; returns the versions deleted.
    package func deleteSubject(_ subject: String, permanent: Bool) throws(SchemaRegistryError) -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        let plan = try state.planSubjectDeletion(subject, permanent: permanent)
        try commit(plan.records, "deleting subject '\(subject)'")
        return plan.versions
    }

    /// Deletes one version, soft or for good; returns its number.
    package func deleteVersion(_ selector: VersionSelector, of subject: String, permanent: Bool) throws(SchemaRegistryError) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        let plan = try state.planVersionDeletion(selector, of: subject, permanent: permanent)
        try commit(plan.records, "deleting subject '\(subject)' version \(selector)")
        return plan.version
    }

    /// The level of `subject` as set on it (nil when it has none), or with nil the global level.
    package func configuredLevel(subject: String?) -> CompatibilityLevel? {
        lock.lock(); defer { lock.unlock() }
        guard let subject else { return state.globalLevel ?? .default }
        return state.subjectLevels[subject]
    }

    /// The level that applies to `subject` (its own, else the global one).
    package func effectiveLevel(subject: String?) -> CompatibilityLevel {
        lock.lock(); defer { lock.unlock() }
        return state.effectiveLevel(of: subject)
    }

    /// Sets the level of `subject` (nil: the global level), durably.
    package func setLevel(_ level: CompatibilityLevel, subject: String?) throws(SchemaRegistryError) {
        if let subject { try Self.check(subject: subject) }
        lock.lock(); defer { lock.unlock() }
        try commit([.level(subject: subject, level)], "setting the compatibility level of \(subject.map { "subject '\($0)'" } ?? "the registry")")
    }

    /// Removes the level of `subject` (it then follows the global one); returns the level it had.
    package func removeLevel(subject: String) throws(SchemaRegistryError) -> CompatibilityLevel {
        lock.lock(); defer { lock.unlock() }
        let plan = try state.planLevelRemoval(subject: subject)
        try commit(plan.records, "deleting the compatibility level of subject '\(subject)'")
        return plan.previous
    }

    /// Resets the global level to BACKWARD; returns the level it had.
    package func removeGlobalLevel() throws(SchemaRegistryError) -> CompatibilityLevel {
        lock.lock(); defer { lock.unlock() }
        let previous = state.globalLevel ?? .default
        try commit([.levelRemoved(subject: nil)], "deleting the global compatibility level")
        return previous
    }
}
