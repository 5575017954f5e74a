/// What a registration answers: the schema's global id and its version in the subject, and
/// the records that make it durable (none when the subject already held the schema).
package struct SchemaRegistration: Sendable, Equatable {
    package var id: Int32
    package var version: Int32
    package var records: [SchemaRecord]
    /// Whether this registration adds a version (false: the subject already held the schema).
    package var isNew: Bool { !records.isEmpty }
}

extension SchemaRegistryState {
    /// Plans registering `schema` (an identity text, ``SchemaRules/normalize``) under `subject`.
    ///
    /// A live version of the subject with the same identity answers its id and version and
    /// writes nothing. Otherwise the schema must be compatible with the subject's live versions
    /// at the subject's level; it then becomes version `newest held + 1` with the id the schema
    /// already has anywhere (any subject, soft-deleted versions included), else `highWaterID + 1`
    /// (with a high-water record, in the same batch).
    /// - Throws: `.incompatibleSchema` (409) with the checker's messages.
    package func planRegistration(subject: String, schema: String, rules: SchemaRules) throws(SchemaRegistryError) -> SchemaRegistration {
        let held = (subjects[subject]?.values ?? [:].values).sorted { $0.version < $1.version }
        if let existing = held.last(where: { !$0.deleted && $0.schema == schema }) {
            return SchemaRegistration(id: existing.id, version: existing.version, records: [])
        }
        let live = held.filter { !$0.deleted }.map(\.schema)
        let problems = rules.incompatibilities(schema, live, effectiveLevel(of: subject))
        if !problems.isEmpty { throw .incompatible(subject: subject, messages: problems) }
        let newest = held.last?.version ?? 0
        guard newest < Int32.max else { throw SchemaRegistryError(.invalidVersion, "Subject '\(subject)' has no version number left") }
        let version = newest + 1
        if let id = id(ofSchema: schema) {
            let entry = SubjectVersion(subject: subject, version: version, id: id, schema: schema)
            return SchemaRegistration(id: id, version: version, records: [.version(entry)])
        }
        guard highWaterID < Int32.max else { throw SchemaRegistryError(.store, "Error while registering schema: no schema id left") }
        let id = highWaterID + 1
        let entry = SubjectVersion(subject: subject, version: version, id: id, schema: schema)
        return SchemaRegistration(id: id, version: version, records: [.version(entry), .idHighWater(id)])
    }

    /// Why `schema` may not follow the subject's versions: against `selector`'s version alone, or
    /// with nil against every live version as the subject's level reads them. A subject without
    /// live versions accepts anything when asked about `latest` or all versions, as Confluent does.
    /// - Throws: `.subjectNotFound`, `.versionNotFound` for a numbered version not held.
    package func incompatibilities(
        of schema: String, subject: String, against selector: VersionSelector?, rules: SchemaRules
    ) throws(SchemaRegistryError) -> [String] {
        let level = effectiveLevel(of: subject)
        switch selector {
        case .number:
            let entry = try version(selector!, of: subject)
            return rules.incompatibilities(schema, [entry.schema], level)
        case .latest:
            guard let latest = try? version(.latest, of: subject) else { return [] }
            return rules.incompatibilities(schema, [latest.schema], level)
        case nil:
            let live = (try? versions(of: subject)) ?? []
            return rules.incompatibilities(schema, live.map(\.schema), level)
        }
    }

    /// Plans deleting a subject: soft (every live version marked deleted) or, with `permanent`,
    /// for good (every version, which must all be soft-deleted already, and the subject's level).
    /// - Returns: the versions deleted, oldest first, and the records that delete them.
    /// - Throws: `.subjectNotFound`; soft: `.subjectSoftDeleted` (40404) when nothing is live;
    ///   permanent: `.subjectNotSoftDeleted` (40405) while a version is live.
    package func planSubjectDeletion(_ subject: String, permanent: Bool) throws(SchemaRegistryError) -> (versions: [Int32], records: [SchemaRecord]) {
        let held = try versions(of: subject, includeDeleted: true)
        if permanent {
            if held.contains(where: { !$0.deleted }) {
                throw SchemaRegistryError(.subjectNotSoftDeleted, "Subject '\(subject)' was not deleted first before being permanently deleted")
            }
            var records = held.map { SchemaRecord.versionRemoved(subject: subject, version: $0.version) }
            if subjectLevels[subject] != nil { records.append(.levelRemoved(subject: subject)) }
            return (held.map(\.version), records)
        }
        let live = held.filter { !$0.deleted }
        if live.isEmpty {
            throw SchemaRegistryError(.subjectSoftDeleted, "Subject '\(subject)' was soft deleted.Set permanent=true to delete permanently")
        }
        return (live.map(\.version), live.map { entry in
            var deleted = entry
            deleted.deleted = true
            return .version(deleted)
        })
    }

    /// Plans deleting one version: soft, or with `permanent` for good (it must be soft-deleted
    /// already). `latest` names the newest live version (permanent: the newest held).
    /// - Throws: `.subjectNotFound`, `.versionNotFound`; soft: `.versionSoftDeleted` (40406);
    ///   permanent: `.versionNotSoftDeleted` (40407).
    package func planVersionDeletion(
        _ selector: VersionSelector, of subject: String, permanent: Bool
    ) throws(SchemaRegistryError) -> (version: Int32, records: [SchemaRecord]) {
        _ = try versions(of: subject, includeDeleted: true)
        let entry = try version(selector, of: subject, includeDeleted: true)
        if permanent {
            if !entry.deleted {
                throw SchemaRegistryError(
                    .versionNotSoftDeleted,
                    "Subject '\(subject)' Version \(entry.version) was not deleted first before being permanently deleted")
            }
            return (entry.version, [.versionRemoved(subject: subject, version: entry.version)])
        }
        if entry.deleted {
            throw SchemaRegistryError(
                .versionSoftDeleted, "Subject '\(subject)' Version \(entry.version) was soft deleted.Set permanent=true to delete permanently")
        }
        var deleted = entry
        deleted.deleted = true
        return (entry.version, [.version(deleted)])
    }

    /// Plans removing a subject's own level (it then follows the global one).
    /// - Returns: the level it had.
    /// - Throws: `.subjectNotFound` when the subject has no level of its own, as Confluent.
    package func planLevelRemoval(subject: String) throws(SchemaRegistryError) -> (previous: CompatibilityLevel, records: [SchemaRecord]) {
        guard let previous = subjectLevels[subject] else { throw .subjectNotFound(subject) }
        return (previous, [.levelRemoved(subject: subject)])
    }
}
