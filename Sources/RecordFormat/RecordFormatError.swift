/// The operating error of the record format layer: bytes that are not a valid batch, a codec
/// this build cannot handle, or output that would exceed a stated bound.
///
/// Corrupt bytes from disk or the network always surface as this error, never as a crash.
package struct RecordFormatError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is; tests and callers switch on it.
    package enum Code: String, Sendable, Equatable {
        /// The buffer ends before the structure it should hold.
        case truncated
        /// The batch's magic byte is not 2.
        case badMagic
        /// The stored CRC-32C does not match the bytes.
        case checksumMismatch
        /// The codec is gzip or snappy (recognised, not supported) or an unknown number.
        case unsupportedCodec
        /// The records section is inconsistent with itself or with the header.
        case corruptRecords
        /// The compression library reported a failure while compressing.
        case compressionFailed
        /// Compressed bytes could not be decompressed.
        case decompressionFailed
        /// The output would exceed a size bound (a decompression bomb, or a batch over 2 GiB).
        case tooLarge
    }

    /// What kind of failure this is.
    package var code: Code
    /// A human-readable explanation with the numbers a reader needs.
    package var detail: String

    /// Creates an error with a code and a human-readable detail.
    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `"<code>: <detail>"`.
    package var description: String { "\(code.rawValue): \(detail)" }
}
