/// Big-endian (network order) fixed-width integers, as every fixed field of a record batch
/// is stored. Internal helpers; callers have already checked the bounds.

extension Array where Element == UInt8 {
    /// Appends `value` in big-endian order.
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Overwrites `MemoryLayout<T>.size` bytes at `index` with `value` in big-endian order.
    /// - Precondition: the bytes exist.
    @inline(__always)
    mutating func storeBigEndian<T: FixedWidthInteger>(_ value: T, at index: Int) {
        precondition(index >= 0 && index + MemoryLayout<T>.size <= count, "store past the end of the buffer")
        withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: index, as: T.self) }
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a big-endian `T` at `index`. - Precondition: the bytes exist.
    @inline(__always)
    func loadBigEndian<T: FixedWidthInteger>(at index: Int, as type: T.Type = T.self) -> T {
        precondition(index >= 0 && index + MemoryLayout<T>.size <= count, "load past the end of the buffer")
        return T(bigEndian: loadUnaligned(fromByteOffset: index, as: T.self))
    }
}
