import ArgumentParser
import LogStorage
import SchemaRegistry
import Foundation

/// `pipeline schemas …`: the schema registry of a data directory (the `__schemas` topic), for
/// when no server holds it (`pipeline serve --registry-listen` serves the same registry over
/// Confluent's REST API).
struct SchemasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas", abstract: "Manage the schema registry (subjects, versions, compatibility).",
        subcommands: [RegisterSchema.self, ListSchemas.self, ShowSchema.self, CheckSchema.self, SchemaCompatibility.self, DeleteSchema.self])
}

/// Runs `body` with the data directory's registry open, turning its errors into one-line CLI errors.
func withRegistry<T>(_ options: DataDirectoryOptions, command: String, _ body: (SchemaRegistry) throws -> T) throws -> T {
    try withLog(options, command: command) { log in
        do {
            return try body(try SchemaRegistry(log: log, rules: .avro))
        } catch let error as SchemaRegistryError {
            throw CLIError(error.description)
        }
    }
}

/// The text of a schema file.
func schemaText(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        throw CLIError("cannot read schema file \(path)")
    }
    return text
}

/// `--version V` on the command line: a number or `latest`.
func versionSelector(_ text: String?) throws -> VersionSelector {
    guard let text else { return .latest }
    do { return try VersionSelector(parsing: text) } catch { throw CLIError(error.description) }
}

/// `pipeline schemas register SUBJECT --file schema.avsc`
struct RegisterSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "Register a schema under a subject (checked against the subject's compatibility level).")
    @Argument(help: "The subject (e.g. orders-value).") var subject: String
    @Option(help: "The schema document (Avro JSON).") var file: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let text = try schemaText(file)
        try withRegistry(data, command: "schemas register") { registry in
            let registration = try registry.register(subject: subject, schema: text)
            if registration.isNew {
                print("registered \(subject) version \(registration.version) (id \(registration.id))")
            } else {
                print("\(subject) already has this schema: version \(registration.version) (id \(registration.id))")
            }
        }
    }
}

/// `pipeline schemas list [--deleted]`: one line per subject.
struct ListSchemas: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List subjects with their versions, one per line.")
    @Flag(help: "Include soft-deleted subjects and versions.") var deleted = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        try withRegistry(data, command: "schemas list") { registry in
            for subject in registry.subjectNames(includeDeleted: deleted) {
                let versions = try registry.versions(of: subject, includeDeleted: deleted)
                let listed = versions.map { "\($0.version)\($0.deleted ? "(deleted)" : "")" }.joined(separator: ",")
                let latest = versions.last(where: { !$0.deleted }).map { "\tlatest=\($0.version)\tid=\($0.id)" } ?? ""
                print("\(subject)\tversions=\(listed)\(latest)\tcompatibility=\(registry.effectiveLevel(subject: subject).rawValue)")
            }
        }
    }
}

/// `pipeline schemas show SUBJECT [--version V]`
struct ShowSchema: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one version of a subject (the latest by default).")
    @Argument var subject: String
    @Option(help: "A version number or 'latest'.") var version: String?
    @Flag(help: "Also find a soft-deleted version.") var deleted = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let selector = try versionSelector(version)
        try withRegistry(data, command: "schemas show") { registry in
            let entry = try registry.version(selector, of: subject, includeDeleted: deleted)
            print("subject: \(entry.subject)")
            print("version: \(entry.version)\(entry.deleted ? " (soft-deleted)" : "")")
            print("id: \(entry.id)")
            print("schema: \(entry.schema)")
        }
    }
}

/// `pipeline schemas check SUBJECT --file new.avsc`: exit 0 when the schema may be registered,
/// 1 with the reasons when the subject's level refuses it.
struct CheckSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check a schema against a subject's versions at its compatibility level (exit 1 when incompatible).")
    @Argument var subject: String
    @Option(help: "The new schema document (Avro JSON).") var file: String
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let text = try schemaText(file)
        let compatible = try withRegistry(data, command: "schemas check") { registry in
            let level = registry.effectiveLevel(subject: subject)
            let problems = try registry.incompatibilities(of: text, subject: subject, against: nil)
            if problems.isEmpty {
                print("compatible with \(subject) (\(level.rawValue))")
                return true
            }
            print("incompatible with \(subject) (\(level.rawValue)):")
            for problem in problems { print("  \(problem)") }
            return false
        }
        if !compatible { throw ExitCode(1) }
    }
}

/// `pipeline schemas compatibility [SUBJECT] [LEVEL]`: shows, or with LEVEL sets, the level of a
/// subject or (without SUBJECT, or with `--global`) of the registry.
struct SchemaCompatibility: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compatibility", abstract: "Show or set the compatibility level of a subject or of the registry.")
    @Argument(help: "The subject (none: the registry's global level).") var subject: String?
    @Argument(help: "NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.") var level: String?
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        // One argument that names a level sets the global level (`schemas compatibility FULL`).
        var subject = self.subject
        var levelText = self.level
        if levelText == nil, let only = subject, CompatibilityLevel(rawValue: only.uppercased()) != nil {
            (subject, levelText) = (nil, only)
        }
        let newLevel: CompatibilityLevel?
        do { newLevel = try levelText.map { text throws(SchemaRegistryError) in try CompatibilityLevel(parsing: text) } } catch { throw CLIError(error.description) }
        try withRegistry(data, command: "schemas compatibility") { registry in
            let name = subject.map { "subject \($0)" } ?? "global"
            if let newLevel {
                try registry.setLevel(newLevel, subject: subject)
                print("\(name): \(newLevel.rawValue)")
            } else if let subject, registry.configuredLevel(subject: subject) == nil {
                print("\(name): \(registry.effectiveLevel(subject: subject).rawValue) (the global level)")
            } else {
                print("\(name): \(registry.effectiveLevel(subject: subject).rawValue)")
            }
        }
    }
}

/// `pipeline schemas delete SUBJECT [--version V] [--permanent]`: soft first, for good after.
struct DeleteSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a subject or one version: soft, or with --permanent for good (after a soft delete).")
    @Argument var subject: String
    @Option(help: "One version (a number or 'latest') instead of the whole subject.") var version: String?
    @Flag(help: "Delete for good what was soft-deleted.") var permanent = false
    @OptionGroup var data: DataDirectoryOptions

    func run() throws {
        let selector = try version.map { try versionSelector($0) }
        try withRegistry(data, command: "schemas delete") { registry in
            let how = permanent ? "permanently deleted" : "soft-deleted"
            if let selector {
                let deleted = try registry.deleteVersion(selector, of: subject, permanent: permanent)
                print("\(how) \(subject) version \(deleted)")
            } else {
                let deleted = try registry.deleteSubject(subject, permanent: permanent)
                print("\(how) \(subject) versions \(deleted.map(String.init).joined(separator: ","))")
            }
        }
    }
}
