#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Simulation
import StreamCore
import Testing

/// The code of the `StorageError` that `body` throws, or `nil` when it does not throw.
func errorCode<Value>(_ body: () throws -> Value) -> StorageError.Code? {
    storageError(body)?.code
}

/// The error that `body` throws, or `nil`. (Untyped `throws`, because the compiler does not yet
/// infer a typed throw for every closure that calls a typed-throwing method.)
func storageError<Value>(_ body: () throws -> Value) -> StorageError? {
    do {
        _ = try body()
        return nil
    } catch let error as StorageError {
        return error
    } catch {
        Issue.record("not a StorageError: \(error)")
        return nil
    }
}

/// The UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A fresh, empty directory under /tmp.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/sluice-simulation-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
    precondition(result != nil, "mkdtemp failed: \(errno)")
    return String(cString: result!)
}

/// Every file below `directory` with its durable bytes: the state a crash test compares.
func durableSnapshot(_ disk: SimulatedDisk, under directory: String = "/") -> [String: [UInt8]] {
    var snapshot: [String: [UInt8]] = [:]
    for path in disk.fileNames(under: directory) { snapshot[path] = disk.durableContents(path: path) }
    return snapshot
}
