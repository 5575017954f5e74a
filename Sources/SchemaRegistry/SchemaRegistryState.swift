/// The registry's whole state, as a value: subjects → versions → global ids, the compatibility
/// levels, and the highest id ever given. It is the fold of `__schemas` in offset order
/// (``apply(_:)``); every change is planned first (the `plan…` methods of the `+Changes`
/// extension return the records to append, without changing anything) and applied only once
/// those records are durable, so memory never runs ahead of the log.
///
/// - Invariant: one schema identity has one id (``idsBySchema`` and ``schemasByID`` are inverse
///   maps over every version held, soft-deleted included).
/// - Invariant: `highWaterID` ≥ every id held; a new id is `highWaterID + 1`, so no id is ever
///   reused, even after every version holding it was deleted for good.
/// Thread-safety: a value; the store shell (``SchemaRegistry``) serializes access.
package struct SchemaRegistryState: Sendable, Equatable {
    /// Every version held (soft-deleted included), by subject and version.
    package private(set) var subjects: [String: [Int32: SubjectVersion]] = [:]
    /// The global level when set (nil: ``CompatibilityLevel/default``).
    package private(set) var globalLevel: CompatibilityLevel?
    /// Subjects' own levels.
    package private(set) var subjectLevels: [String: CompatibilityLevel] = [:]
    /// The highest id ever given.
    package private(set) var highWaterID: Int32 = 0
    private(set) var schemasByID: [Int32: String] = [:]
    private(set) var idsBySchema: [String: Int32] = [:]

    package init() {}

    /// Folds one `__schemas` record into the state.
    package mutating func apply(_ record: SchemaRecord) {
        switch record {
        case .version(let entry):
            if let previous = subjects[entry.subject]?[entry.version], previous.id != entry.id {
                subjects[entry.subject]?[entry.version] = nil
                forgetIfUnused(previous.id)
            }
            subjects[entry.subject, default: [:]][entry.version] = entry
            if let other = idsBySchema[entry.schema], other != entry.id {
                // Two ids for one schema can only come from a log this registry did not write;
                // the lower id keeps the identity, both stay readable by id.
                idsBySchema[entry.schema] = min(other, entry.id)
            } else {
                idsBySchema[entry.schema] = entry.id
            }
            schemasByID[entry.id] = entry.schema
            highWaterID = max(highWaterID, entry.id)
        case .versionRemoved(let subject, let version):
            guard let previous = subjects[subject]?.removeValue(forKey: version) else { return }
            if subjects[subject]?.isEmpty == true { subjects[subject] = nil }
            forgetIfUnused(previous.id)
        case .level(let subject, let level):
            if let subject { subjectLevels[subject] = level } else { globalLevel = level }
        case .levelRemoved(let subject):
            if let subject { subjectLevels[subject] = nil } else { globalLevel = nil }
        case .idHighWater(let id):
            highWaterID = max(highWaterID, id)
        }
    }

    private mutating func forgetIfUnused(_ id: Int32) {
        let used = subjects.values.contains { versions in versions.values.contains { $0.id == id } }
        guard !used, let schema = schemasByID.removeValue(forKey: id) else { return }
        if idsBySchema[schema] == id { idsBySchema[schema] = nil }
    }

    // MARK: Reads

    /// Subjects with a live version (with `includeDeleted`, also those holding only soft-deleted ones), sorted.
    package func subjectNames(includeDeleted: Bool = false) -> [String] {
        subjects.filter { includeDeleted || $0.value.values.contains { !$0.deleted } }.keys.sorted()
    }

    /// A subject's versions, oldest first.
    /// - Throws: `.subjectNotFound` when it has none (with `includeDeleted` false: no live one).
    package func versions(of subject: String, includeDeleted: Bool = false) throws(SchemaRegistryError) -> [SubjectVersion] {
        let held = (subjects[subject]?.values ?? [:].values).filter { includeDeleted || !$0.deleted }.sorted { $0.version < $1.version }
        if held.isEmpty { throw .subjectNotFound(subject) }
        return held
    }

    /// One version of a subject; `latest` is the newest live one (with `includeDeleted`, the newest held).
    /// - Throws: `.subjectNotFound`, `.versionNotFound`.
    package func version(_ selector: VersionSelector, of subject: String, includeDeleted: Bool = false) throws(SchemaRegistryError) -> SubjectVersion {
        guard let held = subjects[subject], held.values.contains(where: { includeDeleted || !$0.deleted }) else {
            throw .subjectNotFound(subject)
        }
        switch selector {
        case .latest:
            return try versions(of: subject, includeDeleted: includeDeleted).last!
        case .number(let number):
            guard let entry = held[number], includeDeleted || !entry.deleted else { throw .versionNotFound(number) }
            return entry
        }
    }

    /// The schema with global id `id` (held by some version, soft-deleted included).
    /// - Throws: `.schemaNotFound` (40403).
    package func schema(id: Int32) throws(SchemaRegistryError) -> String {
        guard let schema = schemasByID[id] else { throw .schemaNotFound(id: id) }
        return schema
    }

    /// The subject-versions holding id `id`, by subject then version.
    /// - Throws: `.schemaNotFound` when none holds it (with `includeDeleted` false: no live one).
    package func subjectVersions(ofID id: Int32, includeDeleted: Bool = false) throws(SchemaRegistryError) -> [SubjectVersion] {
        let held = subjects.values.flatMap { $0.values }.filter { $0.id == id && (includeDeleted || !$0.deleted) }
            .sorted { ($0.subject, $0.version) < ($1.subject, $1.version) }
        if held.isEmpty { throw .schemaNotFound(id: id) }
        return held
    }

    /// The version of `subject` whose schema has identity `schema` (the newest, if several).
    /// - Throws: `.subjectNotFound` when the subject holds nothing; `.schemaNotFound` when none matches.
    package func lookup(schema: String, in subject: String, includeDeleted: Bool = false) throws(SchemaRegistryError) -> SubjectVersion {
        let held = try versions(of: subject, includeDeleted: true)
        guard let match = held.last(where: { $0.schema == schema && (includeDeleted || !$0.deleted) }) else {
            throw SchemaRegistryError(.schemaNotFound, "Schema not found")
        }
        return match
    }

    /// The level that applies to `subject` (its own, else the global one, else BACKWARD); with
    /// nil, the global level.
    package func effectiveLevel(of subject: String?) -> CompatibilityLevel {
        subject.flatMap { subjectLevels[$0] } ?? globalLevel ?? .default
    }

    /// The id the schema with identity `schema` has, if any version holds it.
    package func id(ofSchema schema: String) -> Int32? { idsBySchema[schema] }
}
