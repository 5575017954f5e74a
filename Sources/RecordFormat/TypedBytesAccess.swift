/// `withUnsafeBytes` for closures with typed throws: the standard library's versions only
/// rethrow `any Error`, which typed-throws callers cannot propagate as `RecordFormatError`.

extension Array where Element == UInt8 {
    /// Calls `body` with the array's bytes, propagating its `RecordFormatError`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(RecordFormatError) -> R) throws(RecordFormatError) -> R {
        let result: Result<R, RecordFormatError> = withUnsafeBytes { buffer in
            Result { () throws(RecordFormatError) -> R in try body(buffer) }
        }
        return try result.get()
    }
}

extension ArraySlice where Element == UInt8 {
    /// Calls `body` with the slice's bytes, propagating its `RecordFormatError`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(RecordFormatError) -> R) throws(RecordFormatError) -> R {
        let result: Result<R, RecordFormatError> = withUnsafeBytes { buffer in
            Result { () throws(RecordFormatError) -> R in try body(buffer) }
        }
        return try result.get()
    }
}
