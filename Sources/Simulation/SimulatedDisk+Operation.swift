extension SimulatedDisk {
    /// One mutating operation on the simulated disk: what crash points count, what
    /// ``SimulatedDisk/crashWhen(_:)`` predicates see, and what ``SimulatedDisk/trace`` records.
    ///
    /// Paths are normalised (see ``SimulatedDisk``); a file operation names the path its handle was
    /// opened with, even if the file has since been renamed or removed.
    package enum Operation: Sendable, Hashable, CustomStringConvertible {
        /// `openFile` with `.create` or `.createNew` creating a missing file.
        case createFile(path: String)
        /// A `write` of `count` bytes at byte `position` (never an empty write).
        case write(path: String, position: Int64, count: Int)
        /// A `truncate` to `size` bytes.
        case truncate(path: String, size: Int64)
        /// A `sync` (counted even when nothing is pending).
        case sync(path: String)
        /// A `createDirectory` that creates at least one directory.
        case createDirectory(path: String)
        /// A `rename` (atomic).
        case rename(from: String, to: String)
        /// A `removeFile`.
        case removeFile(path: String)
        /// A `removeDirectory` (recursive, and like the POSIX one not atomic: see ``SimulatedDisk``).
        case removeDirectory(path: String)
        /// A `syncDirectory`; an operation only under ``SimulatedDisk/Faults/unsyncedEntryLoss``.
        case syncDirectory(path: String)

        /// The kind of an ``Operation``, without its arguments.
        package enum Kind: Sendable, Hashable, CaseIterable {
            case createFile, write, truncate, sync, createDirectory, rename, removeFile, removeDirectory, syncDirectory
        }

        /// The kind of the operation.
        package var kind: Kind {
            switch self {
            case .createFile: .createFile
            case .write: .write
            case .truncate: .truncate
            case .sync: .sync
            case .createDirectory: .createDirectory
            case .rename: .rename
            case .removeFile: .removeFile
            case .removeDirectory: .removeDirectory
            case .syncDirectory: .syncDirectory
            }
        }

        /// The path operated on; for a rename, its source.
        package var path: String {
            switch self {
            case .createFile(let path), .write(let path, _, _), .truncate(let path, _), .sync(let path),
                .createDirectory(let path), .removeFile(let path), .removeDirectory(let path), .syncDirectory(let path):
                path
            case .rename(let from, _):
                from
            }
        }

        /// A one-line rendering for failure messages, e.g. `write /d/0.log @4096+512`.
        package var description: String {
            switch self {
            case .createFile(let path): "createFile \(path)"
            case .write(let path, let position, let count): "write \(path) @\(position)+\(count)"
            case .truncate(let path, let size): "truncate \(path) to \(size)"
            case .sync(let path): "sync \(path)"
            case .createDirectory(let path): "createDirectory \(path)"
            case .rename(let from, let to): "rename \(from) -> \(to)"
            case .removeFile(let path): "removeFile \(path)"
            case .removeDirectory(let path): "removeDirectory \(path)"
            case .syncDirectory(let path): "syncDirectory \(path)"
            }
        }
    }
}

/// The last ``traceCountMax`` operations, oldest first, in a ring buffer.
struct OperationTrace {
    /// How many operations the trace keeps.
    static let traceCountMax = 1000

    private var storage: [SimulatedDisk.Operation] = []
    private var head = 0

    mutating func append(_ operation: SimulatedDisk.Operation) {
        if storage.count < OperationTrace.traceCountMax {
            storage.append(operation)
        } else {
            storage[head] = operation
            head = (head + 1) % OperationTrace.traceCountMax
        }
    }

    var operations: [SimulatedDisk.Operation] { Array(storage[head...] + storage[..<head]) }
}
