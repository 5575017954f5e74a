/// A normalised path on the simulated disk: the string split on `/`, with empty and `.`
/// components dropped and `..` resolved lexically, so `"/data/"`, `"/data"` and
/// `"/data/./x/.."` name the same directory. Absolute and relative paths are distinct keys.
///
/// Invariant: `components` holds no empty, `.` or `..` component.
struct SimulatedPath: Hashable, Sendable, CustomStringConvertible {
    let isAbsolute: Bool
    let components: [String]

    init(_ string: String) {
        var components: [String] = []
        for part in string.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !components.isEmpty { components.removeLast() }
                continue
            }
            components.append(String(part))
        }
        self.isAbsolute = string.hasPrefix("/")
        self.components = components
    }

    private init(isAbsolute: Bool, components: [String]) {
        self.isAbsolute = isAbsolute
        self.components = components
    }

    /// The root (`/`, or the current directory for relative paths), which always exists.
    var isRoot: Bool { components.isEmpty }

    /// The last component (empty for the root).
    var name: String { components.last ?? "" }

    /// The containing directory; `nil` for the root.
    var parent: SimulatedPath? {
        isRoot ? nil : SimulatedPath(isAbsolute: isAbsolute, components: Array(components.dropLast()))
    }

    /// The proper ancestors, from the first component below the root down to the parent.
    var ancestors: [SimulatedPath] {
        guard components.count > 1 else { return [] }
        return (1..<components.count).map { SimulatedPath(isAbsolute: isAbsolute, components: Array(components[..<$0])) }
    }

    /// This path and its ancestors below the root, top-down.
    var selfAndAncestors: [SimulatedPath] { ancestors + (isRoot ? [] : [self]) }

    /// The child named `name`.
    func appending(_ name: String) -> SimulatedPath {
        SimulatedPath(isAbsolute: isAbsolute, components: components + [name])
    }

    /// Whether `self` lies strictly below `other`.
    func isDescendant(of other: SimulatedPath) -> Bool {
        isAbsolute == other.isAbsolute && components.count > other.components.count
            && components.starts(with: other.components)
    }

    /// `self` with the leading `prefix` components replaced by `replacement`.
    ///
    /// - Precondition: `self == prefix` or `self.isDescendant(of: prefix)`.
    func replacingPrefix(_ prefix: SimulatedPath, with replacement: SimulatedPath) -> SimulatedPath {
        precondition(self == prefix || isDescendant(of: prefix), "\(self) is not below \(prefix)")
        return SimulatedPath(
            isAbsolute: replacement.isAbsolute,
            components: replacement.components + components[prefix.components.count...]
        )
    }

    /// The normalised string form.
    var description: String {
        let joined = components.joined(separator: "/")
        if isAbsolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
