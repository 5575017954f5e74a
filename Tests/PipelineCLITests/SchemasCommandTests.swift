import Foundation
import Testing

/// `pipeline schemas register|list|show|check|compatibility|delete` against the real binary, and
/// `serve --registry-listen` holding the registry.
@Suite("pipeline schemas")
struct SchemasCommandTests {
    /// The shipped schemas (Pipelines/schemas), copied into the scratch directory.
    private func shippedSchema(_ name: String, into scratch: Scratch) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Pipelines/schemas/\(name)")
        let target = scratch.root.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: target)
        return target.path
    }

    @Test("register, list and show: ids, versions and an existing schema answered as it is")
    func registerListShow() throws {
        let scratch = try Scratch()
        let v1 = try shippedSchema("order-created-v1.avsc", into: scratch)
        let v2 = try shippedSchema("order-created-v2.avsc", into: scratch)
        let first = try scratch.run(["schemas", "register", "orders-value", "--file", v1])
        expectSuccess(first)
        #expect(first.stdoutLines == ["registered orders-value version 1 (id 1)"])
        let again = try scratch.run(["schemas", "register", "orders-value", "--file", v1])
        #expect(again.stdoutLines == ["orders-value already has this schema: version 1 (id 1)"])
        #expect(try scratch.run(["schemas", "register", "archive-value", "--file", v1]).stdoutLines == ["registered archive-value version 1 (id 1)"])
        #expect(try scratch.run(["schemas", "register", "orders-value", "--file", v2]).stdoutLines == ["registered orders-value version 2 (id 2)"])

        let list = try scratch.run(["schemas", "list"])
        expectSuccess(list)
        #expect(list.stdoutLines == [
            "archive-value\tversions=1\tlatest=1\tid=1\tcompatibility=BACKWARD",
            "orders-value\tversions=1,2\tlatest=2\tid=2\tcompatibility=BACKWARD",
        ])
        let show = try scratch.run(["schemas", "show", "orders-value", "--version", "1"])
        expectSuccess(show)
        #expect(show.stdoutLines.prefix(3) == ["subject: orders-value", "version: 1", "id: 1"])
        #expect(show.stdoutLines.last?.hasPrefix("schema: {") == true && show.stdout.contains("OrderCreated"))
        #expect(try scratch.run(["schemas", "show", "orders-value"]).stdoutLines.contains("version: 2"))
        expectOneLineError(try scratch.run(["schemas", "show", "nope"]), containing: ["Subject 'nope' not found.", "40401"])
        expectOneLineError(try scratch.run(["schemas", "show", "orders-value", "--version", "9"]), containing: ["Version 9 not found."])
    }

    @Test("check exits 0 for a compatible schema and 1 with the reasons for an incompatible one; register refuses it")
    func check() throws {
        let scratch = try Scratch()
        let v1 = try shippedSchema("order-created-v1.avsc", into: scratch)
        let v2 = try shippedSchema("order-created-v2.avsc", into: scratch)
        let bad = try shippedSchema("order-created-incompatible.avsc", into: scratch)
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", v1]))
        let compatible = try scratch.run(["schemas", "check", "orders-value", "--file", v2])
        expectSuccess(compatible)
        #expect(compatible.stdoutLines == ["compatible with orders-value (BACKWARD)"])
        let incompatible = try scratch.run(["schemas", "check", "orders-value", "--file", bad])
        #expect(incompatible.exitCode == 1, "\(incompatible)")
        #expect(incompatible.stdoutLines.first == "incompatible with orders-value (BACKWARD):")
        #expect(incompatible.stdout.contains("READER_FIELD_MISSING_DEFAULT_VALUE") && incompatible.stdout.contains("currency"), "\(incompatible)")
        #expect(incompatible.stdout.contains("TYPE_MISMATCH"), "\(incompatible)")
        expectOneLineError(try scratch.run(["schemas", "register", "orders-value", "--file", bad]), containing: ["incompatible", "409"])
        #expect(try scratch.run(["schemas", "list"]).stdoutLines.first?.contains("versions=1\t") == true)
    }

    @Test("compatibility shows and sets the global and a subject's level; an unknown level is refused")
    func compatibility() throws {
        let scratch = try Scratch()
        let v1 = try shippedSchema("order-created-v1.avsc", into: scratch)
        let bad = try shippedSchema("order-created-incompatible.avsc", into: scratch)
        #expect(try scratch.run(["schemas", "compatibility"]).stdoutLines == ["global: BACKWARD"])
        #expect(try scratch.run(["schemas", "compatibility", "FULL"]).stdoutLines == ["global: FULL"])
        #expect(try scratch.run(["schemas", "compatibility", "orders-value"]).stdoutLines == ["subject orders-value: FULL (the global level)"])
        #expect(try scratch.run(["schemas", "compatibility", "orders-value", "none"]).stdoutLines == ["subject orders-value: NONE"])
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", v1]))
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", bad]))
        expectOneLineError(try scratch.run(["schemas", "compatibility", "orders-value", "SIDEWAYS"]), containing: ["Invalid compatibility level", "42203"])
    }

    @Test("delete: soft, then --permanent; --permanent first is refused")
    func delete() throws {
        let scratch = try Scratch()
        let v1 = try shippedSchema("order-created-v1.avsc", into: scratch)
        let v2 = try shippedSchema("order-created-v2.avsc", into: scratch)
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", v1]))
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", v2]))
        expectOneLineError(try scratch.run(["schemas", "delete", "orders-value", "--permanent"]), containing: ["not deleted first", "40405"])
        #expect(try scratch.run(["schemas", "delete", "orders-value", "--version", "1"]).stdoutLines == ["soft-deleted orders-value version 1"])
        #expect(try scratch.run(["schemas", "list", "--deleted"]).stdoutLines.first?.contains("versions=1(deleted),2") == true)
        #expect(try scratch.run(["schemas", "delete", "orders-value"]).stdoutLines == ["soft-deleted orders-value versions 2"])
        #expect(try scratch.run(["schemas", "list"]).stdoutLines.isEmpty)
        #expect(try scratch.run(["schemas", "delete", "orders-value", "--permanent"]).stdoutLines == ["permanently deleted orders-value versions 1,2"])
        #expect(try scratch.run(["schemas", "list", "--deleted"]).stdoutLines.isEmpty)
        // Ids are never reused: the same schema again gets a new one.
        #expect(try scratch.run(["schemas", "register", "orders-value", "--file", v1]).stdoutLines == ["registered orders-value version 1 (id 3)"])
    }

    @Test("serve --registry-listen holds the registry: the schemas commands are refused meanwhile and work again after it stops")
    func servedRegistry() throws {
        let scratch = try Scratch()
        let v1 = try shippedSchema("order-created-v1.avsc", into: scratch)
        expectSuccess(try scratch.run(["schemas", "register", "orders-value", "--file", v1]))
        let serve = try PipelineProcess(
            ["serve", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--data-dir", scratch.dataDir], in: scratch.root, timeout: 60)
        defer { serve.killAndWait() }
        let ready = PipelineProcess.waitUntil(timeout: 30) { serve.stdoutSoFar.contains("registry listening on 127.0.0.1:") }
        try #require(ready, "serve never printed its registry line: \(serve.stdoutSoFar) \(serve.stderrSoFar)")
        expectOneLineError(try scratch.run(["schemas", "list"]), containing: ["in use", "serve"])
        serve.kill(SIGTERM)
        let result = serve.wait()
        #expect(result.exitCode == 0, "\(result)")
        #expect(try scratch.run(["schemas", "list"]).stdoutLines.first?.hasPrefix("orders-value\t") == true)
    }
}
