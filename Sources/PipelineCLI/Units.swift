/// Parsing and printing of the durations and sizes the CLI takes (`100ms`, `7d`, `128MiB`).
enum Units {
    /// Milliseconds in a duration such as `250ms`, `30s`, `5m`, `12h`, `7d` or `2w`; a bare
    /// number is milliseconds. `-1`, `forever` and `infinite` give -1 (unbounded).
    static func milliseconds(_ text: String) -> Int64? {
        let lowered = text.lowercased()
        if ["-1", "forever", "infinite", "unbounded"].contains(lowered) { return -1 }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("min", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)]
        for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where lowered.hasSuffix(suffix) {
            guard let number = Double(lowered.dropLast(suffix.count)) else { return nil }
            return exactInteger(number * Double(factor))
        }
        guard let number = Int64(lowered), number > 0 else { return nil }
        return number
    }

    /// Bytes in a size such as `512`, `64KiB`, `128MiB`, `1GiB`, `10MB` or `1GB`; -1 for
    /// `unbounded`.
    static func bytes(_ text: String) -> Int64? {
        let lowered = text.lowercased()
        if ["-1", "unbounded", "infinite"].contains(lowered) { return -1 }
        let units: [(String, Int64)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
            ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
            ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
        ]
        for (suffix, factor) in units where lowered.hasSuffix(suffix) {
            guard let number = Double(lowered.dropLast(suffix.count)) else { return nil }
            return exactInteger(number * Double(factor))
        }
        guard let number = Int64(lowered), number > 0 else { return nil }
        return number
    }

    /// A positive, finite amount that fits an Int64, or nil.
    private static func exactInteger(_ value: Double) -> Int64? {
        guard value.isFinite, value >= 1, value < 9.0e18 else { return nil }
        return Int64(value)
    }

    /// Whether `text` looks like a size rather than a duration (`10GiB`, `500MB`).
    static func looksLikeSize(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return ["b", "kib", "mib", "gib", "tib", "kb", "mb", "gb", "tb"].contains { lowered.hasSuffix($0) }
    }

    static func describeMilliseconds(_ value: Int64) -> String {
        if value < 0 { return "forever" }
        for (suffix, factor) in [("w", Int64(604_800_000)), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where value >= factor && value % factor == 0 {
            return "\(value / factor)\(suffix)"
        }
        return "\(value)ms"
    }

    static func describeBytes(_ value: Int64) -> String {
        if value < 0 { return "unbounded" }
        for (suffix, factor) in [("GiB", Int64(1 << 30)), ("MiB", Int64(1 << 20)), ("KiB", Int64(1 << 10))] where value >= factor {
            let scaled = Double(value) / Double(factor)
            return scaled == scaled.rounded() ? "\(Int64(scaled)) \(suffix)" : String(format1(scaled)) + " \(suffix)"
        }
        return "\(value) B"
    }

    private static func format1(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
