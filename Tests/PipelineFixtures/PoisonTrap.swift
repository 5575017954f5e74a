import Sluice

/// `poison-trap`: counts the values of `in` per key (store `counts`, every update to `counts`)
/// and copies them upper-cased to `out`; a value starting with `trap` kills the process with a
/// trap, as a Swift runtime error in user code would (exit 132, SIGILL), which nothing in the
/// process can catch. It lets the process tests check the engine's crash quarantine.
struct PoisonTrap: PipelineDefinition {
    let name = "poison-trap"
    let summary = "test fixture: counts and copies `in`; a value starting with `trap` traps the process"

    var body: Topology {
        let input = Source("in", value: .string)
        input.groupByKey().count(store: "counts").mapValues { String($0) }.sink("counts", value: .string)
        input.mapValues { value in
            precondition(!value.hasPrefix("trap"), "poison-trap: the poisoned value \(value)")
            return value.uppercased()
        }
        .sink("out", value: .string)
    }
}
